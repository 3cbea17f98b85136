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
