"""The referral inbox page with 10,000 open referrals.

10,000 open referrals to one hospital are written straight into the running referral service's store
(built by the referral domain's own `new_referral`), then the hospital's inbox page (open referrals,
page 1 of 50, ordered by due date) is asked for through `list_referrals` over nameko RPC, as the
gateway asks for it (docs/referral-interface.md). The store's own `find_referrals` is timed too, to
tell the query from the RPC round trip.
"""

import ast
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from childlink_referral.store.sqlite_store import SqliteTimelineStore
from common import loadavg, summary_ms

SERVICE = Path(__file__).resolve().parents[1] / "services" / "referral" / "childlink_referral" / "service.py"
OPEN_STATUSES = ["requested", "accepted", "scheduled", "in_progress"]
HOSPITAL = {"department": "medical", "facility": "HOSP-BENCH", "district": "1008",
            "service": "developmental_clinic"}
VIEWER = {"user_id": "bench", "role": "hospital_staff", "department": "medical", "facility": "HOSP-BENCH",
          "district": "1008"}


def available():
    try:
        tree = ast.parse(SERVICE.read_text())
    except (OSError, SyntaxError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == "list_referrals" for node in ast.walk(tree))


def seed(referral_db, count):
    from childlink_referral.lifecycle import new_referral

    now = dt.datetime.now(dt.UTC)
    store = SqliteTimelineStore(referral_db)
    try:
        with store.batch():
            for n in range(count):
                from_ = {"department": "health", "facility": f"HC-10{n % 50 + 1:02d}-01",
                         "district": str(1001 + n % 50)}
                store.insert_referral(new_referral(
                    referral_id=f"r-bench-{n:06d}", child_id=f"bench-child-{n}", rule="dspm_delayed",
                    reason="dspm_delayed", rule_key=f"dspm_delayed|bench-{n}", from_=from_, to=HOSPITAL,
                    district=from_["district"], note="delayed: expressive_language (bench)",
                    source_event_ids=[f"bench-event-{n}"], due_by=now + dt.timedelta(days=1 + n % 90, seconds=n),
                    now=now, by={"user_id": "system", "role": "rules"}))
        started = []
        groups = [[{"from_facility": "HOSP-BENCH"}, {"to_facility": "HOSP-BENCH"}], [{"status": OPEN_STATUSES}]]
        for _ in range(50):
            t = time.perf_counter()
            total, _items = store.find_referrals(groups, 0, 50)
            started.append(time.perf_counter() - t)
        plan = store.query_plan(groups) if hasattr(store, "query_plan") else []
        return total, summary_ms(started), plan
    finally:
        store.close()


def measure(system, amqp_uri, referral_db, work, reads, count=10_000):
    if not available():
        return {"available": False,
                "reason": "the referral service has no list_referrals yet (being built in services/referral)"}
    total, store_times, plan = seed(referral_db, count)
    load_before = loadavg()
    probe = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("rpc_probe.py")), "--amqp", amqp_uri, "--reads", str(reads),
         "--viewer", json.dumps(VIEWER), "--filters", json.dumps({"status": OPEN_STATUSES})],
        capture_output=True, text=True, timeout=600, check=False)
    if probe.returncode != 0:
        return {"available": False, "reason": f"RPC probe failed: {probe.stderr[-500:]}"}
    answer = json.loads(probe.stdout.strip().splitlines()[-1])
    return {"available": True, "open": answer["total"], "page_size": 50,
            "how": "`list_referrals` over nameko RPC (the gateway's call), open statuses, page 1",
            **summary_ms(answer["seconds"]), "store": store_times, "plan": plan, "seeded": total,
            "rpc_floor": summary_ms(answer["floor_seconds"]) if answer.get("floor_seconds") else None,
            "load": f"{load_before} -> {loadavg()}"}
