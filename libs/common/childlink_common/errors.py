"""Failures a handler can raise, sorted by what the consumer should do with the message."""


class StoreUnavailable(RuntimeError):
    """The store could not be reached or was locked: keep the message and try again later."""


class PermanentFailure(RuntimeError):
    """The message can never succeed (it breaks its contract): dead-letter it now, without retries."""

    def __init__(self, reason, errors=None):
        self.reason = reason
        self.errors = errors or {}
        super().__init__(reason if not errors else f"{reason}: {errors}")
