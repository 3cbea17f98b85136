"""`make bench-insights` at a tiny size, so a change that breaks the benchmark fails `make test`."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_insights_benchmark_runs_and_prints_its_figures(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "insights.py"), "--children", "150", "--pages", "3",
                           "--json", str(out)], check=False, capture_output=True, text=True, timeout=240, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    for line in ("take:", "page overview:", "page overview_overdue:", "page district:", "http page overview",
                 "http page district", "rpc district:", "rebuild:"):
        assert line in done.stdout, done.stdout
    figures = json.loads(out.read_text())
    assert figures["events"] > 150 and figures["take_events_per_s"] > 0
    assert figures["overview_p99_ms"] > 0 and figures["rebuild_subjects"] > 100
    assert figures["http_district_p99_ms"] > 0 and figures["rpc_overview_overdue_p99_ms"] > 0
