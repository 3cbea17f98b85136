"""The benchmarks still run: each at a tiny size, so a change that breaks `make bench`,
`make bench-identity` or `make bench-monitor` fails `make test` instead of rotting until the next
full run. Sizes prove the harness works end to end; the figures themselves are not judged (the
machine is shared), only that they were measured and printed.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def run(args, timeout):
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.timeout(240)
def test_make_bench_runs_every_phase_at_a_tiny_size(tmp_path):
    figures = tmp_path / "figures.json"
    done = run(["bench/run.py", "--smoke", "--json", str(figures)], timeout=230)
    r = json.loads(figures.read_text())
    for mode in ("store", "validate", "handler"):
        assert r[f"floor_{mode}"]["events"] > 0 and r[f"floor_{mode}"]["rate"] > 0, mode
    assert r["e2e"]["rate"] > 0 and r["e2e"]["drain_s"] is not None, r["e2e"]
    assert r["latency"]["missing"] == 0 and r["latency"]["store"]["n"] > 0, r["latency"]
    assert r["latency"]["api"] and not r["latency"]["errors"], r["latency"]
    assert r["timeline_read"]["entries"] == 500
    assert r["inbox"]["available"] and r["inbox"]["open"] >= 200, r["inbox"]
    for children, grown in r["growth"].items():
        assert grown["events"] > 3 * int(children) and all(c["n"] > 0 for c in grown["costs"].values())
    assert r["insights"]["events"] > 150 and r["insights"]["http_overview_p99_ms"] > 0, r["insights"]
    bulk = r["first_load_bulk"]
    assert bulk["events"] == 300 and bulk["rate"] > 0 and bulk["dedup"]["ok"], bulk
    report = done.stdout
    assert "# childlink benchmark report" in report and "## Figures and targets" in report
    assert "## The city's figures (insights)" in report
    assert re.search(r"\*\*[\d,]+ events/s\*\*", report), report[:2000]
    assert "load avg" in report
    assert "first load, **measured**: the bulk entry" in report


@pytest.mark.timeout(120)
def test_make_bench_identity_runs_at_a_tiny_size(tmp_path):
    figures = tmp_path / "identity.json"
    done = run(["-m", "childlink_referral.matching.bench", "--quality-children", "300", "--children", "2000",
                "--probes", "50", "--json", str(figures)], timeout=110)
    assert "match() over 50 incoming records" in done.stdout
    assert json.loads(figures.read_text())


@pytest.mark.timeout(180)
def test_make_bench_monitor_runs_at_a_tiny_size():
    done = run(["bench/monitor_overhead.py", "--events", "100", "--phases", "baseline,monitor"], timeout=170)
    assert re.search(r"baseline\s+[\d.]+ events/s end to end", done.stdout), done.stdout
    assert "monitor saw {'seen_24h'" in done.stdout, done.stdout


@pytest.mark.timeout(180)
def test_make_bench_first_load_runs_at_a_tiny_size(tmp_path):
    figures = tmp_path / "first-load.json"
    done = run(["bench/first_load.py", "--events", "400", "--children", "120", "--json", str(figures)], timeout=170)
    r = json.loads(figures.read_text())
    assert r["events"] == 400 and r["rate"] > 0 and r["cpu_ms_per_event"]["referral"] > 0, r
    assert r["dedup"]["ok"], r["dedup"]
    assert "extrapolated to 1,000,000 events" in done.stdout


@pytest.mark.timeout(180)
def test_make_bench_first_load_runs_its_bulk_mode_at_a_tiny_size(tmp_path):
    figures = tmp_path / "first-load-bulk.json"
    done = run(["bench/first_load.py", "--bulk", "--events", "400", "--children", "120", "--json", str(figures)],
               timeout=170)
    r = json.loads(figures.read_text())
    assert r["mode"] == "bulk" and r["events"] == 400 and r["rate"] > 0, r
    assert r["cpu_ms_per_event"]["referral"] > 0 and r["cpu_ms_per_event"]["insights"] > 0, r
    assert r["dedup"]["ok"], r["dedup"]
    assert "first load (bulk)" in done.stdout and "extrapolated to 1,000,000 events" in done.stdout


@pytest.mark.timeout(240)
def test_the_referral_profile_runs_with_and_without_matching_and_its_floor_at_a_tiny_size():
    done = run(["bench/profile_referral.py", "--children", "60", "--matching", "both", "--floor",
                "--log-level", "WARNING"], timeout=230)
    for matching in ("off", "on"):
        # every event taken (with matching on, none fails on a merge that cannot be)
        assert re.search(rf"matching {matching}: [\d.]+ ms CPU an event, \d+ events/s, 0 failed \(load ",
                         done.stderr), done.stderr[-3000:]
    assert re.search(r"floor \(store writes only\): [\d.]+ ms CPU an event; the handler with matching off at "
                     r"\d+% of it, matching on at \d+% of it", done.stderr), done.stderr[-3000:]
    assert "Profile at" in done.stderr  # pyinstrument's report of the last run


@pytest.mark.timeout(300)
def test_make_bench_replicas_runs_at_a_tiny_size(tmp_path):
    figures = tmp_path / "replicas.json"
    done = run(["bench/replicas.py", "--events", "120", "--floor-seconds", "2", "--json", str(figures)], timeout=290)
    r = json.loads(figures.read_text())
    assert r["floor"]["rate"] > 0 and r["replicas_1"]["rate"] > 0 and r["replicas_2"]["rate"] > 0, r
    assert sum(r["replicas_2"]["applied_per_replica"]) >= 120 and all(r["replicas_2"]["applied_per_replica"]), r
    assert re.search(r"2 replicas\s+[\d.]+ events/s end to end", done.stdout), done.stdout
    assert "load" in done.stdout


@pytest.mark.timeout(120)
def test_the_contract_check_cost_runs_at_a_tiny_size():
    done = run(["bench/contract_cost.py", "--children", "30", "--rounds", "1"], timeout=110)
    output = done.stdout + done.stderr
    assert re.search(r"best this: [\d.]+ ms CPU an event \(validate_event \+ content_hash\)", output), output[-2000:]
