"""`make bench-insights`: the city's figures at Bangkok's size, on the embedded store.

    .venv/bin/python bench/insights.py                  # 300,000 children, ~1,000,000 events
    .venv/bin/python bench/insights.py --children 2000  # a quick trial (make test runs a tiny one)

1. take: synthetic health events (a screening at every key age reached, growth measurements, and for
   some children a suspected delay and its re-screen) fed through the insights aggregator in batches of
   500 (one transaction each), as the service takes them off its queues; events/s and CPU per event;
2. pages: the city overview (a month's indicator, and the running overdue count) and a district page
   rendered by the gateway's city pages over the insights answers in-process (everything but the RPC
   hop and the network), p50/p99 of 200 of each;
3. real path: the same pages through the real services - the gateway's HTTP page -> nameko RPC -> the
   insights service process reading that store - on a throwaway vhost, signed in as the executive; and
   the insights RPC answers alone (a standalone RPC proxy), p50/p99;
4. rebuild: every cell derived again from the stored subjects.
Every figure carries the load average beside it: the machine is shared. `bench/run.py` (`make bench`)
runs the same phases through `run()` and reports them.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, also when run as a script

DOMAINS = ("gross_motor", "fine_motor", "receptive_language", "expressive_language", "personal_social")
AGES = (9, 18, 30, 42, 60)
TODAY = dt.date(2026, 11, 30)


def load():
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28))


def events_of(n, rng):
    """One child's events: registration-free (the screenings and measurements carry the child)."""
    district = str(1001 + n % 50)
    birth = TODAY - dt.timedelta(days=rng.randrange(6 * 365))
    subject = {"child": {"local_id": f"B{n}", "birth_date": birth.isoformat(), "sex": rng.choice(("male", "female")),
                         "district_code": district}}
    source = {"department": "health", "system": "bench",
              "facility": {"code": f"HC-{district}-01", "district_code": district}}
    out = []

    def add(type_, day, payload):
        stamp = f"{day.isoformat()}T03:00:00Z"
        out.append({"event_id": f"{n:08d}-{len(out):04d}", "type": type_, "version": 1, "occurred_at": stamp,
                    "recorded_at": stamp, "source": source, "subject": subject, "payload": payload})

    for age in AGES:
        reached = add_months(birth, age)
        if reached > TODAY - dt.timedelta(days=20):
            break
        day = reached + dt.timedelta(days=rng.randrange(40))
        suspected = rng.random() < 0.15
        add("child.screened", day, {"age_band_months": age, "rescreen": False, "domains": {
            d: ("suspected_delay" if suspected and d == "fine_motor" else "normal") for d in DOMAINS}})
        if suspected:
            add("child.screened", day + dt.timedelta(days=28), {"age_band_months": age, "rescreen": True,
                                                               "domains": {d: "normal" for d in DOMAINS}})
    months = (TODAY - birth).days // 30
    if months >= 1:
        day = birth + dt.timedelta(days=30 * rng.randrange(months) + 15)
        add("child.growth_measured", day, {"weight_kg": round(rng.uniform(4, 20), 1),
                                           "height_cm": round(rng.uniform(55, 115), 1)})
    return out


PAGES = (("overview", "/city?indicator=dspm_on_track_18&month=2025-06"),
         ("overview_overdue", "/city?indicator=epi_overdue&month=2025-06"),
         ("district", "/city/districts/1001?month=2025-06"))
RPC_CALLS = (("overview", "overview", ("dspm_on_track_18", "2025-06")),
             ("overview_overdue", "overview", ("epi_overdue", "2025-06")),
             ("district", "scope_page", ("district", "1001", "2025-06")))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=300_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args.children, args.pages)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


def run(children, page_count):
    """Every phase; the figures as a dict (bench/run.py puts them in the report)."""
    from childlink_gateway.city.pages import CityConsole
    from childlink_insights.aggregate import Aggregator
    from childlink_insights.store.sqlite_store import SqliteInsightsStore
    from childlink_insights.testing import InProcessInsights
    from childlink_referral.growth import zscores

    rng = random.Random(2026)
    figures = {"children": children, "load_start": load()}
    with tempfile.TemporaryDirectory() as work:
        # where the insights service process finds it in the real-path phase (CHILDLINK_DATA_DIR)
        (Path(work) / "data").mkdir()
        store = SqliteInsightsStore(Path(work) / "data" / "insights.sqlite3")
        aggregator = Aggregator(store, zscores)
        events, started, cpu = 0, time.perf_counter(), time.process_time()
        batch = []
        for n in range(children):
            batch.extend(events_of(n, rng))
            if len(batch) >= 500 or n == children - 1:
                with store.batch():
                    for event in batch:
                        aggregator.take(event)
                    aggregator.flush()
                events += len(batch)
                batch = []
        took, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        figures.update(events=events, take_s=round(took, 1), take_events_per_s=round(events / took),
                       take_cpu_ms_per_event=round(1000 * cpu_s / events, 3), load_take=load())
        print(f"take: {events:,} events for {children:,} children in {took:.1f} s "
              f"({events / took:,.0f} events/s, {1000 * cpu_s / events:.3f} ms CPU an event; load {load()})")

        figures.update(pages(store, page_count, CityConsole, InProcessInsights))
        figures.update(real_path(Path(work), page_count))
        started = time.perf_counter()
        with store.batch():
            subjects = aggregator.rebuild()
        rebuild_s = time.perf_counter() - started
        figures.update(rebuild_s=round(rebuild_s, 1), rebuild_subjects=subjects, load_rebuild=load())
        print(f"rebuild: {subjects:,} subjects ({events:,} events) in {rebuild_s:.1f} s; load {load()}")
        store.close()
    return figures


def _percentiles(times):
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def real_path(work, count):
    """p50/p99 through the real services on a throwaway vhost: the gateway's city pages over HTTP (page ->
    nameko RPC -> the insights process -> its SQLite store -> the page rendered), then the RPC answers
    alone from a standalone proxy."""
    import requests
    from childlink_common.testing.services import System
    from childlink_gateway.testing import CSRF_RE, PASSWORD
    from common import ThrowawayVhost
    from nameko.standalone.rpc import ClusterRpcProxy

    out = {}
    with ThrowawayVhost("insights") as vhost:
        system = System(vhost.amqp_uri, work, services=("insights", "gateway")).start()
        try:
            env = {k: v for k, v in os.environ.items() if k != "MONGO_URI"}
            env.update(CHILDLINK_DATA_DIR=str(work / "data"), GATEWAY_DEMO_PASSWORD=PASSWORD)
            subprocess.run([sys.executable, "-m", "childlink_gateway.seed"], env=env, capture_output=True,
                           text=True, timeout=120, check=True)
            base, session = system["gateway"].url, requests.Session()
            token = CSRF_RE.search(session.get(f"{base}/signin", timeout=30).text).group(1)
            signed = session.post(f"{base}/signin", data={"username": "exec.prapa", "password": PASSWORD,
                                                          "csrf_token": token}, timeout=30)
            assert signed.ok and "/signin" not in signed.url, ("sign-in", signed.status_code, signed.url)
            for name, path in PAGES:
                session.get(base + path, timeout=30)  # the first call opens the gateway's RPC connection
                times, inside, rpc_parts = [], [], []
                for _ in range(count):
                    started = time.perf_counter()
                    response = session.get(base + path, timeout=30)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                    timing = dict(part.strip().split(";dur=") for part in response.headers["Server-Timing"].split(","))
                    inside.append(float(timing["total"]))
                    rpc_parts.append(float(timing["rpc"]))
                p50, p99 = _percentiles(times)
                out[f"http_{name}_p50_ms"], out[f"http_{name}_p99_ms"] = round(p50, 1), round(p99, 1)
                # the gateway's own Server-Timing: its whole handling, and the RPC wait within it
                out[f"http_{name}_gateway_p99_ms"] = round(_percentiles(inside)[1], 1)
                out[f"http_{name}_rpc_p99_ms"] = round(_percentiles(rpc_parts)[1], 1)
                out[f"load_http_{name}"] = load()
                print(f"http page {name} (gateway -> RPC -> insights): p50 {p50:.1f} ms, p99 {p99:.1f} ms over "
                      f"{count} (target p99 < 200 ms; in the gateway p99 {_percentiles(inside)[1]:.1f} ms, of it "
                      f"RPC {_percentiles(rpc_parts)[1]:.1f} ms); load {load()}")
            with ClusterRpcProxy({"AMQP_URI": vhost.amqp_uri}) as rpc:
                for name, method, call_args in RPC_CALLS:
                    getattr(rpc.insights, method)(*call_args)
                    times = []
                    for _ in range(count):
                        started = time.perf_counter()
                        answer = getattr(rpc.insights, method)(*call_args)
                        times.append((time.perf_counter() - started) * 1000)
                        assert answer["ok"], answer
                    p50, p99 = _percentiles(times)
                    out[f"rpc_{name}_p50_ms"], out[f"rpc_{name}_p99_ms"] = round(p50, 1), round(p99, 1)
                    print(f"rpc {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {count}; load {load()}")
        finally:
            system.stop()
    return out


def pages(store, count, console_class, insights_class):
    """p50/p99 of the overview and a district page, rendered by the gateway's city pages."""
    from childlink_gateway.app import GatewayApp
    from childlink_gateway.security import Passwords, Sessions
    from childlink_gateway.seed import seed
    from childlink_gateway.store.sqlite_store import SqliteGatewayStore
    from childlink_gateway.testing import PASSWORD, Browser
    from werkzeug.test import Client
    from werkzeug.wrappers import Request

    with tempfile.TemporaryDirectory() as work:
        gateway_store = SqliteGatewayStore(Path(work) / "gateway.sqlite3")
        from argon2 import PasswordHasher
        cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))  # sign-in is not measured
        seed(gateway_store, cheap, password=PASSWORD)
        app = GatewayApp(gateway_store, Sessions("bench-secret"), cheap)
        console, insights = console_class(app), insights_class(store)
        browser = Browser(app, None)
        browser.client = Client(lambda environ, start: console.handle(Request(environ), insights)(environ, start)
                                if environ["PATH_INFO"].startswith("/city") else
                                app.handle(Request(environ), None)(environ, start))
        browser.sign_in("exec.prapa")
        out = {}
        for name, path in PAGES:
            times = []
            for _ in range(count):
                started = time.perf_counter()
                response = browser.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            p50, p99 = _percentiles(times)
            out[f"{name}_p50_ms"], out[f"{name}_p99_ms"] = round(p50, 1), round(p99, 1)
            print(f"page {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {count} (target p99 < 200 ms); load {load()}")
        gateway_store.close()
        return out


if __name__ == "__main__":
    sys.exit(main())
