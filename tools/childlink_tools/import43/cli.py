"""`childlink-import-43`: load a health centre's 43-file export into childlink through the health ingest API.

    childlink-import-43 DIR --department health --url http://127.0.0.1:8103 --api-key dev-health-key \\
        --district 1001

Reads PERSON, EPI, NUTRITION and SPECIALPP (REFER_HISTORY and REFER_RESULT are counted, not imported),
prints a report of every refused row (file, line, column, why) and of what the service did with the
rest, and writes it to --report. Exit status: 0 every row imported, 1 some rows refused, 2 nothing could
be sent (no files, wrong key, service unreachable).
"""

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

from tqdm import tqdm

from ..departments import default_api_key, default_url
from ..sending import MAX_BATCH, Outgoing, format_summary
from . import ledger as ledgers
from .mapping import Importer, Settings
from .reading import ENCODINGS, find_files, read_table
from .sending import ConflictsAsRefusals, RecordingSender

DISTRICTS = [str(code) for code in range(1001, 1051)]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="childlink-import-43", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="the folder (or the export's zip file) holding PERSON.txt, EPI.txt, "
                        "NUTRITION.txt, SPECIALPP.txt")
    parser.add_argument("--department", default="health", choices=["health"],
                        help="the 43 files are the health centres' records (default health)")
    parser.add_argument("--url", help="the health service (default $HEALTH_URL or http://127.0.0.1:8103)")
    parser.add_argument("--api-key", help="default $HEALTH_API_KEY or dev-health-key")
    parser.add_argument("--encoding", choices=ENCODINGS, help="the files' encoding (default: UTF-8 when the "
                        "bytes are valid UTF-8, else TIS-620/cp874)")
    parser.add_argument("--district", choices=DISTRICTS, help="the Bangkok district (1001-1050) of the "
                        "exporting facility (HOSPCODE)")
    parser.add_argument("--facility-district", action="append", default=[], metavar="HOSPCODE=DISTRICT",
                        help="the district of one HOSPCODE, when the export holds several facilities")
    parser.add_argument("--system", default="his-43file", help="source.system of the events (default his-43file)")
    parser.add_argument("--ledger", help=f"the import ledger (default DIR/{ledgers.LEDGER_NAME})")
    parser.add_argument("--resend", action="store_true",
                        help="send rows the ledger says were imported again, under the same ids")
    parser.add_argument("--report", help="write the report here too (default DIR/import-43-report.txt)")
    parser.add_argument("--batch-size", type=int, default=200, help=f"events per request (1-{MAX_BATCH}, default 200)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--dry-run", action="store_true", help="read, map and check; send nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not 1 <= args.batch_size <= MAX_BATCH:
        parser.error(f"--batch-size must be 1 to {MAX_BATCH}")
    districts = {}
    for item in args.facility_district:
        hospcode, _, district = item.partition("=")
        if not hospcode or district not in DISTRICTS:
            parser.error(f"--facility-district {item!r}: give HOSPCODE=DISTRICT with a district 1001-1050")
        districts[hospcode] = district
    args.facility_districts = districts
    return args


def read_all(directory, encoding=None):
    return {name: read_table(name, path, encoding) for name, path in find_files(directory).items()}


def import_files(args, out=None):
    """Read, map, send and report; return the exit status. DIR may also be the export's zip file
    (HOSxP and JHCIS send F43_<HOSPCODE>_<time>.zip): it is read as the folder it holds."""
    source = Path(args.directory)
    if source.is_file() and zipfile.is_zipfile(source):
        with tempfile.TemporaryDirectory() as unpacked:
            with zipfile.ZipFile(source) as archive:
                for member in archive.infolist():
                    name = Path(member.filename).name
                    if not member.is_dir() and name:  # flattened: the files are found by name
                        (Path(unpacked) / name).write_bytes(archive.read(member))
            return _import(args, Path(unpacked), source.parent, out or sys.stdout)
    if not source.is_dir():
        print(f"childlink-import-43: {source} is neither a folder nor a zip file", file=sys.stderr)
        return 2
    return _import(args, source, source, out or sys.stdout)


def _import(args, files, directory, out):
    """Import the files in `files`; the ledger and the report default to `directory`."""
    tables = read_all(files, args.encoding)
    if "PERSON" not in tables:
        print(f"childlink-import-43: no PERSON file in {args.directory} (found: {', '.join(tables) or 'none'})",
              file=sys.stderr)
        return 2
    ledger_path = Path(args.ledger) if args.ledger else directory / ledgers.LEDGER_NAME
    ledger = ledgers.load(ledger_path)
    importer = Importer(tables, Settings(system=args.system, district=args.district,
                                         facility_districts=args.facility_districts, resend=args.resend), ledger)
    total = sum(len(t.rows) for n, t in tables.items() if n != "PERSON")
    with tqdm(total=total, unit="row", desc="reading", disable=args.no_progress, dynamic_ncols=True) as bar:
        mapped = importer.run(bar)
    sender = None
    if mapped.events and not args.dry_run:
        sender = RecordingSender({"health": (args.url or default_url("health"),
                                             args.api_key or default_api_key("health"))},
                                 batch_size=args.batch_size, concurrency=1, timeout=args.timeout,
                                 progress=not args.no_progress, client_factory=ConflictsAsRefusals)
        tallies = sender.send([Outgoing("health", p.event, p.where) for p in mapped.events])
        for prepared in mapped.events:
            if prepared.where not in sender.refused and prepared.where not in sender.unanswered:
                ledgers.record(ledger, prepared)
        ledgers.save(ledger_path, ledger)
    else:
        tallies = None
    text = report(tables, mapped, sender, tallies, dry_run=args.dry_run)
    print(text, file=out)
    report_path = Path(args.report) if args.report else directory / "import-43-report.txt"
    report_path.write_text(text + "\n", encoding="utf-8")
    if sender is not None and sender.unanswered:
        return 2
    refused_by_service = len(sender.refused) if sender else 0
    return 1 if mapped.refused or refused_by_service else 0


def report(tables, mapped, sender, tallies, dry_run=False):
    lines = ["childlink-import-43 report", ""]
    lines.append("files: " + ", ".join(f"{t.path.name} ({len(t.rows)} rows, {t.encoding})"
                                       for t in tables.values()))
    kinds = {}
    for prepared in mapped.events:
        kinds[prepared.event["type"]] = kinds.get(prepared.event["type"], 0) + 1
    corrections = sum(1 for p in mapped.events if p.event.get("supersedes"))
    by_kind = ", ".join(f"{n} {t}" for t, n in sorted(kinds.items()))
    lines.append(f"events prepared: {len(mapped.events)}" + (f" ({by_kind}; {corrections} corrections)" if kinds else ""))
    for why, count in sorted(mapped.skipped.items()):
        lines.append(f"skipped, not refused: {count} {why}")
    lines.append("")
    service_refused = sorted((sender.refused if sender else {}).items())
    lines.append(f"refused rows: {len(mapped.refused)} here (never sent), {len(service_refused)} by the service")
    for problem in sorted(mapped.refused, key=lambda p: (p.file, p.line)):
        lines.append(f"  {problem.file}:{problem.line} {problem.column or '-'}: {problem.why}")
    for where, why in service_refused:
        lines.append(f"  {where.replace(' line ', ':')} (service): {why}")
    if mapped.notes:
        lines.append(f"imported with a note: {len(mapped.notes)}")
        for note in sorted(mapped.notes, key=lambda p: (p.file, p.line)):
            lines.append(f"  {note.file}:{note.line} {note.column}: {note.why}")
    lines.append("")
    if dry_run:
        lines.append("dry run: nothing was sent")
    elif tallies is None:
        lines.append("nothing to send")
    else:
        lines.append(format_summary(tallies))
        lines.append("")
        lines.append("What was imported: every event above not refused. The service takes a batch whole or "
                     "not at all, so the refused rows above were left out before sending (their other rows "
                     "went on); when the service refused events of a batch, the rest of that batch was sent "
                     "again on its own and taken. A child whose PERSON row was refused has none of its "
                     "rows imported. Fix the rows and import again: what was taken is answered 'duplicate'.")
        if sender.unanswered:
            lines.append(f"{len(sender.unanswered)} events were never answered (wrong key or service "
                         "unreachable): import again once it is back.")
    return "\n".join(lines)


def main(argv=None):
    return import_files(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
