"""Fixtures for the reliability suite: one private RabbitMQ node for the session (never the shared
one), and per scenario a fresh vhost and data folder with the real services on them."""

import signal
from pathlib import Path

import pytest
from childlink_common.testing.private_broker import PrivateBroker, available

from .harness import SAVED, SCALE, dataset, fresh_run
from .reference import reference_timelines


def pytest_terminal_summary(terminalreporter):
    if SAVED:
        terminalreporter.section(f"reliability figures ({SCALE})")
        for line in SAVED:
            terminalreporter.write_line(line)


def pytest_report_header(config):
    return f"reliability scale: {SCALE} (RELIABILITY_SCALE=short|full)"


@pytest.fixture(scope="session")
def _launched_broker():
    """The node is launched as soon as the first test of this folder runs, and boots (~10 s) while
    the in-process tests run; `private_broker` waits for it."""
    if not available():
        pytest.fail("the reliability suite starts a RabbitMQ node of its own: install rabbitmq-server")
    # SIGTERM (a CI timeout, `kill`): unwind like Ctrl-C, so every fixture tears down what it started
    previous = signal.signal(signal.SIGTERM, _interrupt)
    broker = PrivateBroker().launch()
    try:
        yield broker
    finally:
        broker.stop()
        signal.signal(signal.SIGTERM, previous)


_E2E_SELECTED = []


def pytest_collection_finish(session):
    here = str(Path(__file__).parent)
    _E2E_SELECTED[:] = [item.nodeid for item in session.items
                        if str(item.path).startswith(here) and item.get_closest_marker("e2e") is not None]


@pytest.fixture(autouse=True)
def _boot_broker_early(request):
    if _E2E_SELECTED:  # a scenario will need the node: start booting it now
        request.getfixturevalue("_launched_broker")


@pytest.fixture(scope="session")
def private_broker(_launched_broker):
    try:
        return _launched_broker.wait_until_ready()
    except BaseException:
        _launched_broker.stop()
        raise


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
