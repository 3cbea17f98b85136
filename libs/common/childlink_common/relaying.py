"""A service's outbox and the relay that drains it to `{name}.events` while the service runs, as one
nameko dependency provider: the department services and the referral service both hold one."""

import threading

from nameko.extensions import DependencyProvider

from . import settings
from .logs import configure
from .outbox import open_outbox
from .relay import OutboxRelay


class RelayingOutbox(DependencyProvider):
    """`outbox` (the store events are added to) and `relay` (publishing them with confirms). `wake()`
    after adding, so the relay publishes now instead of at its next poll. Subclasses set up what they keep
    beside it after calling `setup()`, and close it after calling `stop()`."""

    def __init__(self, name):
        self.name = name
        self._stopping = False
        self._work = threading.Event()
        self._relay_thread = None

    def setup(self):
        configure(self.name)
        self.outbox = open_outbox(self.name)
        self.relay = OutboxRelay(
            self.outbox, self.name, settings.amqp_uri(self.container.config),
            batch_size=settings.int_env("RELAY_BATCH_SIZE", 200),
            ssl=settings.amqp_ssl(self.container.config),
        )

    def wake(self):
        self._work.set()

    def backlog(self):
        """Events accepted and not yet confirmed by the broker."""
        return self.outbox.backlog()

    def start(self):
        if settings.flag_env("RELAY_ENABLED", True):
            self._relay_thread = self.container.spawn_managed_thread(self._run_relay)

    def _run_relay(self):
        self.relay.run(lambda: self._stopping, self._wait_for_work)

    def _wait_for_work(self, seconds):
        self._work.wait(seconds)
        self._work.clear()

    def stop(self):
        self._stopping = True
        self._work.set()
        if self._relay_thread is not None:
            self._relay_thread.wait()
        self.outbox.close()

    def kill(self):
        self._stopping = True
        if self._relay_thread is not None:
            self._relay_thread.kill()

    def get_dependency(self, worker_ctx):
        return self
