"""Bulk FHIR R4 NDJSON of one district's children, straight from the referral store (docs/fhir.md).

    python -m childlink_referral.fhir.bulk --district 1001 --out var/fhir-1001 --user u-district-1001

Writes one file per resource type (Patient.ndjson, Immunization.ndjson, Observation.ndjson,
ServiceRequest.ndjson, Task.ndjson), one resource per line, as the FHIR Bulk Data format has it, and
prints the counts. It runs as a district officer of that district: the children living there or with a
record from a facility there, without those whose parents refused sharing. Audited like `$everything`.
"""

import argparse
import json
import sys
from pathlib import Path

from ..store import open_store
from ..times import utc_now
from .export import district_resources

DISTRICTS = [str(code) for code in range(1001, 1051)]


def write_ndjson(resources, out):
    """Write resources, as they come, to one `<type>.ndjson` per resource type in `out`; {type: count}.
    Each file appears whole or not at all (written as .partial, then renamed)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    handles, written = {}, {}
    try:
        for resource in resources:
            kind = resource["resourceType"]
            if kind not in handles:
                handles[kind] = (out / f"{kind}.ndjson.partial").open("w", encoding="utf-8")
                written[kind] = 0
            handles[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
            written[kind] += 1
    finally:
        for handle in handles.values():
            handle.close()
    for kind in handles:
        (out / f"{kind}.ndjson.partial").replace(out / f"{kind}.ndjson")
    return dict(sorted(written.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="childlink-fhir-bulk", description=__doc__.split("\n\n")[0])
    parser.add_argument("--district", required=True, choices=DISTRICTS)
    parser.add_argument("--out", required=True, help="folder for the NDJSON files")
    parser.add_argument("--user", default="fhir-bulk-export", help="who runs the export (for the audit log)")
    args = parser.parse_args(argv)
    viewer = {"user_id": args.user, "role": "district_officer", "district": args.district}
    store, counts = open_store(), {}
    try:  # streamed, child by child: a district's export never sits in memory whole
        written = write_ndjson(district_resources(store, viewer, utc_now(), counts), args.out)
    finally:
        store.close()
    print(json.dumps({"district": args.district, **counts, "files": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
