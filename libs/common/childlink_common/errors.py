"""Failures a handler can raise, sorted by what the consumer should do with the message."""


class StoreUnavailable(RuntimeError):
    """The store could not be reached or was locked: keep the message and try again later."""


class PermanentFailure(RuntimeError):
    """The message can never succeed (it breaks its contract): dead-letter it now, without retries."""

    def __init__(self, reason, errors=None):
        self.reason = reason
        self.errors = errors or {}
        super().__init__(reason if not errors else f"{reason}: {errors}")


class EventConflict(PermanentFailure):
    """An event_id seen again from the same department with other content (childlink_contracts.content):
    never applied and never dropped silently; dead-lettered with reason `conflict`."""

    dead_letter_reason = "conflict"

    def __init__(self, department, event_id):
        self.department, self.event_id = department, event_id
        message = (f"{department} event {event_id} was taken in already with other content; a change is a "
                   "new event (a new event_id) naming it in `supersedes`")
        super().__init__("conflict", {"event_id": [message]})
