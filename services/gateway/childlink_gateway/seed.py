"""Create the demo staff users, one per role, in the gateway's store. Safe to run again and again.

    python -m childlink_gateway.seed                     # create the missing ones
    python -m childlink_gateway.seed --reset-passwords   # give every demo user a new password
    python -m childlink_gateway.seed --local             # `make run`/`make users`: every demo user gets
                                                         # the local demo password, printed

Passwords: GATEWAY_DEMO_PASSWORD when set (every demo user gets it); with --local (this machine's
`make run`, never a deployment) LOCAL_DEMO_PASSWORD unless GATEWAY_DEMO_PASSWORD says otherwise, so a
newcomer can sign in from the README; otherwise a random password per user, printed once, when the user
is created or reset. Existing users are never changed otherwise.
"""

import argparse
import os
import secrets
import sys

from .audit import utc_now
from .security import Passwords
from .sessions import change_password
from .store import open_store

LOCAL_DEMO_PASSWORD = "childlink-demo"  # documented in README; local `make run` only

DEMO_USERS = (
    {"username": "hc.somsri", "display_name": "สมศรี (ศบส. 1 พระนคร)", "role": "health_centre_staff",
     "department": "health", "facility": "HC-1001-01", "district": "1001"},
    {"username": "hosp.anan", "display_name": "อนันต์ (รพ.กลาง)", "role": "hospital_staff",
     "department": "medical", "facility": "HOSP-1008", "district": "1008"},
    {"username": "cdc.malee", "display_name": "มาลี (ศพด.)", "role": "centre_staff",
     "department": "social", "facility": "CDC-1001-001", "district": "1001"},
    {"username": "school.pim", "display_name": "พิมพ์ (โรงเรียน)", "role": "school_staff",
     "department": "education", "facility": "SCH-1001-01", "district": "1001"},
    {"username": "sw.kanya", "display_name": "กัญญา (สังคมสงเคราะห์)", "role": "social_worker",
     "department": "social", "facility": "DSW-1001", "district": "1001"},
    {"username": "district.wichai", "display_name": "วิชัย (สำนักงานเขตพระนคร)", "role": "district_officer",
     "department": None, "facility": None, "district": "1001"},
    {"username": "health.dept", "display_name": "สำนักอนามัย", "role": "department_staff",
     "department": "health", "facility": None, "district": None},
    {"username": "reg.suda", "display_name": "สุดา (นายทะเบียนเด็ก สำนักอนามัย)", "role": "registrar",
     "department": "health", "facility": None, "district": None},
    {"username": "exec.prapa", "display_name": "ประภา (ผู้บริหารกรุงเทพมหานคร)", "role": "executive",
     "department": None, "facility": None, "district": None},
    {"username": "head.wilai", "display_name": "วิไล (หัวหน้าศูนย์พัฒนาเด็ก)", "role": "centre_head",
     "department": "social", "facility": "CDC-1001-001", "district": "1001"},
    {"username": "ops.niran", "display_name": "นิรันดร์ (ผู้ดูแลระบบ)", "role": "operator",
     "department": None, "facility": None, "district": None},
    {"username": "audit.ratana", "display_name": "รัตนา (ผู้ตรวจสอบ)", "role": "auditor",
     "department": None, "facility": None, "district": None},
)


def user_record(spec, password_hash):
    return {"user_id": f"u-{spec['username']}", "display_name": spec.get("display_name") or spec["username"],
            "department": None, "facility": None, "district": None, **spec,
            "password_hash": password_hash, "active": True, "created_at": utc_now()}


def seed(store, passwords, users=DEMO_USERS, password=None, reset=False):
    """[(username, password or None)]: the password of each user created or reset, None for users
    left as they were. `password` None means a random one per user."""
    results = []
    for spec in users:
        chosen = password or secrets.token_urlsafe(9)
        if store.add_user(user_record(spec, passwords.hash(chosen))):
            results.append((spec["username"], chosen))
        elif reset:
            existing = store.user_by_username(spec["username"])
            change_password(store, passwords, existing["user_id"], chosen)  # ends the user's sessions too
            results.append((spec["username"], chosen))
        else:
            results.append((spec["username"], None))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reset-passwords", action="store_true", help="give every demo user a new password")
    parser.add_argument("--local", action="store_true",
                        help=f"this machine's demo: every demo user's password set to {LOCAL_DEMO_PASSWORD!r} "
                             "(or GATEWAY_DEMO_PASSWORD)")
    args = parser.parse_args(argv)
    from_env = os.environ.get("GATEWAY_DEMO_PASSWORD") or None
    if args.local:
        return _local(from_env or LOCAL_DEMO_PASSWORD)
    store = open_store()
    try:
        results = seed(store, Passwords(), password=from_env, reset=args.reset_passwords)
    finally:
        store.close()
    roles = {spec["username"]: spec["role"] for spec in DEMO_USERS}
    changed = [(name, pw) for name, pw in results if pw]
    if not changed:
        print(f"gateway demo users: all {len(results)} present already (new passwords: --reset-passwords)")
        return 0
    print("gateway demo users (sign in at /signin):")
    for name, pw in results:
        shown = "(from GATEWAY_DEMO_PASSWORD)" if from_env and pw else (pw or "(unchanged)")
        print(f"  {name:16} {roles[name]:20} {shown}")
    if not from_env:
        print("  these passwords are shown only now; set GATEWAY_DEMO_PASSWORD to choose one instead")
    return 0


def _local(password):
    store = open_store()
    try:
        seed(store, Passwords(), password=password, reset=True)
    finally:
        store.close()
    print(f"gateway demo users (sign in at /signin, password for each: {password}):")
    for spec in DEMO_USERS:
        print(f"  {spec['username']:16} {spec['role']:20} {spec['display_name']}")
    print("  reset them to this password any time with: make users")
    return 0


if __name__ == "__main__":
    sys.exit(main())
