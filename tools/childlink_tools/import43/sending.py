"""Sending the prepared events through the department's ingest API, keeping every refusal by row.

`childlink_tools.sending.Sender` does the batching, retries and the tally; it keeps only the first few
problems, while an import must name every refused row, so this subclass records each event the service
named in a 422 (and each batch that was never answered) against the row it came from.
"""

from ..client import IngestClient, IngestError, InvalidEvents
from ..sending import Sender

CONFLICT = 409


class ConflictsAsRefusals(IngestClient):
    """A 409 (an event_id the service already took with other content) names its events by index as a
    422 does, and stores nothing: refused rows to report, and the rest of the batch to send again."""

    def send(self, events):
        try:
            return super().send(events)
        except IngestError as exc:
            if exc.status == CONFLICT and exc.errors:
                raise InvalidEvents(exc.status, str(exc), errors=exc.errors, body=exc.body) from None
            raise


class RecordingSender(Sender):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = {}  # where -> why (the service named it in a 422, or refused the batch around it)
        self.unanswered = set()  # where: batches never answered (wrong key, service down)

    def _count_rejection(self, batch, tally, exc, retrying):
        named = exc.errors_by_index()
        for index, item in enumerate(batch.items):
            if index in named:
                self.refused[item.where] = _fields_text(named[index])
            elif retrying or not named:
                self.refused.setdefault(item.where, f"the service refused its batch: {exc}")
        super()._count_rejection(batch, tally, exc, retrying)

    def _send_batch(self, batch, tally, retrying=False):
        failed = tally.failed
        super()._send_batch(batch, tally, retrying)
        if tally.failed > failed:  # concurrency is 1 for imports, so the difference is this batch's
            self.unanswered.update(item.where for item in batch.items)


def _fields_text(fields):
    if not isinstance(fields, dict):
        return str(fields)
    return "; ".join(f"{path}: {' '.join(map(str, messages))}" for path, messages in sorted(fields.items()))
