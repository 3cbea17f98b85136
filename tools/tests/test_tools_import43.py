"""The 43-file importer: reading (encodings, header), mapping to contract events, ids and corrections,
the refusal report, and sending through an ingest API that checks the real contracts."""

import datetime as dt
import shutil
import uuid
from pathlib import Path

import pytest
from childlink_tools.import43 import cli
from childlink_tools.import43.codes import VACCINE_CODES
from childlink_tools.import43.mapping import NAMESPACE, Importer, Settings
from childlink_tools.import43.reading import decode, read_table

FIXTURE = Path(__file__).parent / "data" / "f43-hc41234"
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def mapped(directory=FIXTURE, encoding=None, ledger=None):
    tables = cli.read_all(directory, encoding)
    return Importer(tables, Settings(district="1001", now=NOW), ledger).run()


def refusals(result):
    return {(p.file, p.line): (p.column, p.why) for p in result.refused}


def events_of(result, type_):
    return [p.event for p in result.events if p.event["type"] == type_]


def test_a_tis620_file_is_detected_and_thai_names_come_through():
    person = read_table("PERSON", FIXTURE / "PERSON.txt")
    assert person.encoding == "cp874"
    assert [r.values["NAME"] for r in person.rows][:2] == ["สมหญิง", "มะลิ"]
    with pytest.raises(UnicodeDecodeError):
        (FIXTURE / "PERSON.txt").read_bytes().decode("utf-8")


def test_the_same_file_in_utf8_reads_the_same(tmp_path):
    for path in FIXTURE.iterdir():
        shutil.copy(path, tmp_path / path.name)
    text, _ = decode((FIXTURE / "PERSON.txt").read_bytes())
    (tmp_path / "PERSON.txt").write_text(text, encoding="utf-8")
    assert read_table("PERSON", tmp_path / "PERSON.txt").encoding == "utf-8"
    assert [p.event for p in mapped(tmp_path).events] == [p.event for p in mapped().events]


def test_a_given_encoding_is_used_as_given():
    assert read_table("PERSON", FIXTURE / "PERSON.txt", "tis-620").rows[1].values["LNAME"] == "ใจดี"


def test_rows_map_to_contract_events():
    result = mapped()
    doses = sorted((e["payload"]["vaccine"], e["payload"]["dose"]) for e in events_of(result, "child.immunised")
                   if e["subject"]["child"]["local_id"] == "000002" and not e.get("supersedes"))
    assert doses == sorted([("BCG", 1), ("HBV", 1), ("DTwP-HB-Hib", 1), ("OPV", 1), ("ROTA", 1), ("DTwP-HB-Hib", 2),
                            ("OPV", 2), ("IPV", 1), ("ROTA", 2), ("DTwP-HB-Hib", 3), ("OPV", 3), ("MMR", 1),
                            ("JE", 1)])
    growth = [e for e in events_of(result, "child.growth_measured") if e["subject"]["child"]["local_id"] == "000003"]
    assert [g["payload"] for g in growth] == [{"weight_kg": 8.6, "height_cm": 72.0}]  # HEADCIRCUM 0: not measured
    first = events_of(result, "child.growth_measured")[0]
    assert first["payload"] == {"weight_kg": 3.1, "height_cm": 49.0, "head_circumference_cm": 34.0}
    assert first["occurred_at"] == "2024-01-15T12:00:00+07:00"  # no time in the files: noon, Bangkok
    assert first["recorded_at"] == "2024-01-15T12:00:00+07:00"  # D_UPDATE 11:00, but never before occurred_at
    assert first["source"] == {"department": "health", "system": "his-43file",
                               "facility": {"code": "41234", "district_code": "1001"}}
    child = first["subject"]["child"]
    assert child["national_id"] == "1100200456781" and child["given_name"] == "มะลิวัลย์"  # the newest PERSON row
    assert child["guardian"] == {"relation": "mother", "national_id": "3199900123453", "given_name": "สมหญิง",
                                 "family_name": "ใจดี", "phone": "0812345678"}


def test_an_adults_row_is_skipped_whatever_it_holds(tmp_path):
    for path in FIXTURE.iterdir():
        shutil.copy(path, tmp_path / path.name)
    text, _ = decode((FIXTURE / "PERSON.txt").read_bytes())
    adult = text.splitlines()[1].split("|")
    adult[2], adult[8] = "000099", "9"  # another PID, SEX 9: a grandmother keyed carelessly
    (tmp_path / "PERSON.txt").write_bytes((text + "|".join(adult) + "\r\n").encode("tis-620"))
    result = mapped(tmp_path)
    assert not [p for p in result.refused if p.file == "PERSON.txt" and p.line == 11]
    assert result.skipped["PERSON rows of people 7 or older (childlink holds children 0-6)"] == 3


def test_referral_files_are_counted_for_children_not_imported():
    skipped = mapped().skipped
    assert skipped["REFER_HISTORY rows of children 0-6 read but not imported: childlink raises its own referrals "
                   "(docs/import-43.md)"] == 1


def test_dspm_codes_become_one_screening_per_day():
    screenings = {(e["subject"]["child"]["local_id"], e["occurred_at"][:10]): e["payload"]
                  for e in events_of(mapped(), "child.screened")}
    normal = dict.fromkeys(["gross_motor", "fine_motor", "receptive_language", "expressive_language",
                            "personal_social"], "normal")
    assert screenings[("000002", "2024-10-15")] == {"age_band_months": 9, "rescreen": False, "domains": normal}
    assert screenings[("000002", "2025-07-20")] == {
        "age_band_months": 18, "rescreen": False, "domains": {**normal, "expressive_language": "suspected_delay"}}
    assert screenings[("000002", "2025-08-20")] == {
        "age_band_months": 18, "rescreen": True, "domains": {**normal, "expressive_language": "delayed"}}
    assert screenings[("000003", "2024-03-11")] == {"age_band_months": 9, "rescreen": False, "domains": normal}
    assert screenings[("000003", "2025-12-15")]["age_band_months"] == 30
    assert len(screenings) == 5


def test_every_bad_row_is_refused_with_file_line_column_and_why():
    found = refusals(mapped())
    expected = {
        ("EPI.txt", 17): ("VACCINETYPE", "leading zeros"), ("EPI.txt", 18): ("VACCINETYPE", "not a childlink EPI"),
        ("EPI.txt", 19): ("PID", "PERSON.txt line 6"), ("EPI.txt", 20): ("PID", "no PERSON row"),
        ("EPI.txt", 21): ("DATE_SERV", "before the child's birth"), ("EPI.txt", 22): (None, "6 columns"),
        ("NUTRITION.txt", 7): ("WEIGHT", "not a number"), ("NUTRITION.txt", 8): ("HEIGHT", "empty"),
        ("NUTRITION.txt", 9): ("WEIGHT", "less than or equal to 60"),
        ("PERSON.txt", 6): ("BIRTH", "calendar date"), ("PERSON.txt", 7): ("SEX", "1 (male) or 2"),
        ("PERSON.txt", 10): ("BIRTH", "Buddhist-era"),
        ("SPECIALPP.txt", 13): ("PPSPECIAL", "which domain"), ("SPECIALPP.txt", 14): ("PPSPECIAL", "unspecified"),
    }
    assert set(found) == set(expected)
    for where, (column, why) in expected.items():
        assert found[where][0] == column and why in found[where][1], (where, found[where])


def test_ids_are_deterministic_and_a_newer_d_update_is_a_correction():
    first, again = mapped(), mapped()
    assert [p.event["event_id"] for p in first.events] == [p.event["event_id"] for p in again.events]
    by_key = {}
    for p in first.events:
        by_key.setdefault(p.key, []).append(p.event)
    mmr = by_key["41234|000002|1005|20241015|061"]
    assert mmr[0]["event_id"] == str(uuid.uuid5(NAMESPACE, "41234|000002|1005|20241015|061"))
    assert mmr[1]["supersedes"] == mmr[0]["event_id"] and mmr[1]["payload"] == mmr[0]["payload"]
    registered = by_key["41234|000002|||PERSON"]
    assert registered[1]["supersedes"] == registered[0]["event_id"]
    assert registered[1]["subject"]["child"]["given_name"] == "มะลิวัลย์"


def test_the_vaccine_table_agrees_with_the_fhir_export():
    from childlink_referral.fhir.codes import THAI_VACCINE_CODE_FOR

    for (vaccine, dose), code in THAI_VACCINE_CODE_FOR.items():
        assert VACCINE_CODES[code] == (vaccine, dose)


def _import(directory, fake_ingest, *extra):
    return cli.main([str(directory), "--department", "health", "--url", fake_ingest.url("health"),
                     "--api-key", "dev-health-key", "--district", "1001", "--no-progress", *extra])


def test_importing_twice_changes_nothing_and_a_later_export_corrects(tmp_path, fake_ingest, capsys):
    work = tmp_path / "export"
    shutil.copytree(FIXTURE, work)
    assert _import(work, fake_ingest) == 1  # some rows refused
    stored = dict(fake_ingest.stored)
    assert len(stored) == 29
    report = (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert "EPI.txt:17 VACCINETYPE" in report and "29" in capsys.readouterr().out
    assert _import(work, fake_ingest) == 1
    assert fake_ingest.stored == stored  # nothing new
    again = (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert "27 rows already imported" in again and "2 rows older than" in again and "nothing to send" in again
    assert _import(work, fake_ingest, "--resend") == 1
    resent = (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert [line.split() for line in resent.splitlines() if line.startswith("health")] == [
        ["health", "27", "0", "0", "27", "0", "0"]]  # the same ids, answered duplicate; first versions stay
    assert fake_ingest.stored == stored
    # next month's export holds only the MMR row, updated again
    later = tmp_path / "later"
    later.mkdir()
    shutil.copy(work / "PERSON.txt", later / "PERSON.txt")
    (later / "EPI.txt").write_text((FIXTURE / "EPI.txt").read_text().splitlines()[0] + "\r\n"
                                   "41234|000002|1005|20241015|061|41234|P02|20241101090000|||\r\n")
    assert _import(later, fake_ingest, "--ledger", str(work / ".childlink-import-43.json")) == 1
    new = {k: v for k, v in fake_ingest.stored.items() if k not in stored}
    assert len(new) == 1
    (event,) = new.values()
    corrected = str(uuid.uuid5(NAMESPACE, "41234|000002|1005|20241015|061|20241020080000"))
    assert event["supersedes"] == corrected


def test_refusals_by_the_service_are_reported_by_row(tmp_path, fake_ingest):
    work = tmp_path / "export"
    shutil.copytree(FIXTURE, work)
    fake_ingest.answer_next(422, {"error": "invalid_events", "detail": "1 of 29 events are invalid",
                                  "errors": {"3": {"payload.weight_kg": ["implausible for the age"]}}})
    assert _import(work, fake_ingest, "--batch-size", "1000") == 1
    report = (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert "1 by the service" in report
    assert "(service): payload.weight_kg: implausible for the age" in report
    assert len(fake_ingest.stored) == 28  # the rest of the batch was sent again on its own and taken


def test_a_conflict_names_its_rows_and_the_rest_is_taken(tmp_path, fake_ingest):
    work = tmp_path / "export"
    shutil.copytree(FIXTURE, work)
    fake_ingest.answer_next(409, {"error": "conflict", "detail": "1 of 29 events reuse an event_id",
                                  "errors": {"0": {"event_id": ["already accepted with other content"]}}})
    assert _import(work, fake_ingest, "--batch-size", "1000") == 1
    report = (work / "import-43-report.txt").read_text(encoding="utf-8")
    assert "(service): event_id: already accepted with other content" in report
    assert len(fake_ingest.stored) == 28


def test_the_exports_zip_file_is_read_as_its_folder(tmp_path, fake_ingest):
    import zipfile

    archive = tmp_path / "F43_41234_20250901120000.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in FIXTURE.iterdir():
            zipped.write(path, f"F43_41234/{path.name.lower()}")
    assert _import(archive, fake_ingest) == 1
    assert len(fake_ingest.stored) == 29
    assert (tmp_path / "import-43-report.txt").exists() and (tmp_path / ".childlink-import-43.json").exists()


def test_no_person_file_is_an_error(tmp_path, fake_ingest, capsys):
    assert _import(tmp_path, fake_ingest) == 2
    assert "no PERSON file" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ("20240115103000", "2024-01-15T10:30:00+07:00"),
    ("20240115", "2024-01-15T00:00:00+07:00"),
])
def test_times_are_bangkok_clock_time(text, expected):
    from childlink_tools.import43.values import parse_instant

    assert parse_instant(text).isoformat() == expected


@pytest.mark.parametrize("text, why", [
    ("2024011510", "not a time YYYYMMDDHHMMSS"), ("20240115256000", "not a time of day"),
    ("25670115103000", "Buddhist-era"), ("2024-01-15", "not a time YYYYMMDDHHMMSS"), ("20240230", "calendar date"),
])
def test_bad_times_say_why(text, why):
    from childlink_tools.import43.values import BadValue, parse_instant

    with pytest.raises(BadValue, match=why):
        parse_instant(text)


def test_an_older_export_without_the_v2_4_columns_is_read(tmp_path):
    """JHCIS-era exporters write EPI with 8 or 9 columns (no HOSPCODE9, VACCINEPLACE9), with or without a header."""
    (tmp_path / "epi.txt").write_text("HOSPCODE|PID|SEQ|DATE_SERV|VACCINETYPE|VACCINEPLACE|PROVIDER|D_UPDATE\r\n"
                                      "41234|000002|1001|20240115|010|41234|P01|20240115103000\r\n")
    table = read_table("EPI", tmp_path / "epi.txt")
    assert table.problems == [] and table.rows[0].values["VACCINETYPE"] == "010"
    assert table.rows[0].values["HOSPCODE9"] == ""
    (tmp_path / "bare.txt").write_text("41234|000002|1001|20240115|010|41234|P01|20240115103000|\r\n"
                                       "41234|000002|1001|20240115\r\n")
    bare = read_table("EPI", tmp_path / "bare.txt")
    assert [r.values["VACCINETYPE"] for r in bare.rows] == ["010"]
    assert [p.line for p in bare.problems] == [2] and "at least 5" in bare.problems[0].why
    (tmp_path / "nocode.txt").write_text("HOSPCODE|PID|SEQ|DATE_SERV\r\n41234|000002|1001|20240115\r\n")
    refused = read_table("EPI", tmp_path / "nocode.txt")
    assert refused.rows == [] and refused.problems[0].column == "VACCINETYPE"
