"""`make bench-insights`: the city's figures at Bangkok's size, on the embedded store.

    .venv/bin/python bench/insights.py                  # 300,000 children, ~1,000,000 events
    .venv/bin/python bench/insights.py --children 2000  # a quick trial (make test runs a tiny one)

1. take: synthetic health events (a screening at every key age reached, growth measurements, and for
   some children a suspected delay and its re-screen) fed through the insights aggregator in batches of
   500 (one transaction each), as the service takes them off its queues; events/s and CPU per event;
2. pages: the city overview and a district page rendered by the gateway's city pages over the insights
   answers in-process (everything but the RPC hop and the network), p50/p99 of 200 of each;
3. rebuild: every cell derived again from the stored subjects.
Every figure carries the load average beside it: the machine is shared.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=300_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    from childlink_gateway.city.pages import CityConsole
    from childlink_insights.aggregate import Aggregator
    from childlink_insights.store.sqlite_store import SqliteInsightsStore
    from childlink_insights.testing import InProcessInsights
    from childlink_referral.growth import zscores

    rng = random.Random(2026)
    figures = {"children": args.children, "load_start": load()}
    with tempfile.TemporaryDirectory() as work:
        store = SqliteInsightsStore(Path(work) / "insights.sqlite3")
        aggregator = Aggregator(store, zscores)
        events, started, cpu = 0, time.perf_counter(), time.process_time()
        batch = []
        for n in range(args.children):
            batch.extend(events_of(n, rng))
            if len(batch) >= 500 or n == args.children - 1:
                with store.batch():
                    for event in batch:
                        aggregator.take(event)
                    aggregator.flush()
                events += len(batch)
                batch = []
        took, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        figures.update(events=events, take_s=round(took, 1), take_events_per_s=round(events / took),
                       take_cpu_ms_per_event=round(1000 * cpu_s / events, 3), load_take=load())
        print(f"take: {events:,} events for {args.children:,} children in {took:.1f} s "
              f"({events / took:,.0f} events/s, {1000 * cpu_s / events:.3f} ms CPU an event; load {load()})")

        figures.update(pages(store, args.pages, CityConsole, InProcessInsights))
        started = time.perf_counter()
        with store.batch():
            subjects = aggregator.rebuild()
        rebuild_s = time.perf_counter() - started
        figures.update(rebuild_s=round(rebuild_s, 1), rebuild_subjects=subjects, load_rebuild=load())
        print(f"rebuild: {subjects:,} subjects ({events:,} events) in {rebuild_s:.1f} s; load {load()}")
        store.close()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


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
        for name, path in (("overview", "/city?indicator=dspm_on_track_18&month=2025-06"),
                           ("district", "/city/districts/1001?month=2025-06")):
            times = []
            for _ in range(count):
                started = time.perf_counter()
                response = browser.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            times.sort()
            p50, p99 = statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]
            out[f"{name}_p50_ms"], out[f"{name}_p99_ms"] = round(p50, 1), round(p99, 1)
            print(f"page {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {count} (target p99 < 200 ms); load {load()}")
        gateway_store.close()
        return out


if __name__ == "__main__":
    sys.exit(main())
