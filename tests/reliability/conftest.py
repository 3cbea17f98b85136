"""Fixtures for the reliability suite: one private RabbitMQ node for the session (never the shared
one), and per scenario a fresh vhost and data folder with the real services on them."""

import signal

import pytest

from childlink_common.testing.private_broker import PrivateBroker, available

from .harness import SCALE, dataset, fresh_run
from .reference import reference_timelines


def pytest_report_header(config):
    return f"reliability scale: {SCALE} (RELIABILITY_SCALE=short|full)"


@pytest.fixture(scope="session")
def private_broker():
    if not available():
        pytest.fail("the reliability suite starts a RabbitMQ node of its own: install rabbitmq-server")
    # SIGTERM (a CI timeout, `kill`): unwind like Ctrl-C, so every fixture tears down what it started
    previous = signal.signal(signal.SIGTERM, _interrupt)
    broker = PrivateBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def reference():
    """What an undisturbed run of the dataset ends with (timelines, standing referrals), made once."""
    return reference_timelines(dataset().events)


@pytest.fixture
def make_run(private_broker, request):
    """make_run(name, services=..., env=...) -> a Run (not started); every run is stopped afterwards.
    Its data and service logs stay in var/reliability/runs/<scale>-<name> until the next run of it."""
    runs = []

    def make(name, **kwargs):
        run = fresh_run(private_broker, name, **kwargs)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for run in runs:
            print(run.logs_tail())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
