"""JSON logs through structlog that carry event and correlation ids and never a child's identity.

PDPA: names, national IDs, phones and birth dates must not reach a log line, whoever logs them.
The redaction below is the last line of defence; callers log ids, not subjects.
"""

import logging
import os
import sys

import orjson
import structlog

PERSONAL_KEYS = frozenset({
    "national_id", "given_name", "family_name", "name", "phone", "birth_date", "guardian", "subject",
    "child", "payload", "body", "address",
})


def drop_personal_data(_logger, _method, event_dict):
    for key in PERSONAL_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


def configure(service, level=None):
    def add_service(_logger, _method, event_dict):
        event_dict.setdefault("service", service)
        return event_dict

    level = getattr(logging, (level or os.environ.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    levels = {name.lower(): number for name, number in logging.getLevelNamesMapping().items()}

    def below_level_unless_audit(_logger, method, event_dict):
        # an audit record (`audit.*`: who saw or refused what) is written whatever LOG_LEVEL says
        if levels.get(method, logging.INFO) < level and not str(
                event_dict.get("event", "")).startswith("audit."):
            raise structlog.DropEvent
        return event_dict

    structlog.configure(
        processors=[
            below_level_unless_audit,
            structlog.contextvars.merge_contextvars,
            add_service,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_personal_data,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_json_line),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(min(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),
        cache_logger_on_first_use=False,
    )


def _json_line(event_dict, **_options):
    """A log line as JSON, keys sorted; orjson renders it at a fraction of json.dumps's cost (lines are
    written per batch and per transition on the busiest path). What it cannot encode is shown by repr,
    as structlog's own renderer does."""
    return orjson.dumps(event_dict, default=repr, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


class _CurrentStderr:
    """sys.stderr as it is when a line is written, not when logging was configured (a test runner swaps
    and closes its captured streams; a logger holding an old one would fail on a closed file)."""

    def write(self, text):
        return sys.stderr.write(text)

    def flush(self):
        sys.stderr.flush()


def get_logger(name=None):
    return structlog.get_logger(name)
