"""Log levels: LOG_LEVEL quietens the service's chatter, never its audit records."""

import json

from childlink_common.logs import configure, get_logger


def test_audit_records_are_written_whatever_the_level(capsys):
    configure("test", "WARNING")
    try:
        log = get_logger("t")
        log.info("timeline.appended", event_id="e1")
        log.info("audit.fhir_export", outcome="ok")
        log.warning("identity.conflict", event_id="e2")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        assert [line["event"] for line in lines] == ["audit.fhir_export", "identity.conflict"]
    finally:
        configure("test", "INFO")


def test_a_line_is_one_json_object_keys_sorted_personal_data_redacted(capsys):
    configure("test", "INFO")
    log = get_logger("t")
    log.info("referral.transition", referral_id="r-1", national_id="1101700230708", child={"x": 1},
             counts={2: "two"}, marker=object(), ids=("e1", "e2"))
    line = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")][-1]
    record = json.loads(line)
    assert list(record) == sorted(record)
    assert record["national_id"] == "[redacted]" and record["child"] == "[redacted]"
    assert "1101700230708" not in line
    assert record["counts"] == {"2": "two"} and record["ids"] == ["e1", "e2"]
    assert record["marker"].startswith("<object object at")
    assert record["service"] == "test" and record["level"] == "info"
