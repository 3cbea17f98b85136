"""The suite's own RabbitMQ node: never the shared one, reachable with the machine's rabbitmqctl, and
gone when the test process is, however it ends."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from childlink_common.testing.private_broker import SHARED_COOKIE


def _shared_node_running():
    if shutil.which("rabbitmqctl") is None:
        return None
    result = subprocess.run(["rabbitmqctl", "-q", "-n", "rabbit@localhost", "status"], capture_output=True,
                            timeout=60, check=False)
    return result.returncode == 0


@pytest.mark.e2e
def test_the_private_node_is_not_the_shared_one_and_rabbitmqctl_reaches_it(private_broker):
    shared_before = _shared_node_running()
    assert private_broker.node != "rabbit@localhost"
    assert 5672 not in (private_broker.amqp_port, private_broker.dist_port, private_broker.management_port)
    assert private_broker.node.split("@")[0] in private_broker.rabbitmqctl("status")
    if shared_before is not None and os.access(SHARED_COOKIE, os.R_OK):
        # the machine's own rabbitmqctl (it runs as the rabbitmq user, with the shared node's cookie)
        result = subprocess.run(["rabbitmqctl", "-q", "-n", private_broker.node, "list_vhosts"],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
    assert _shared_node_running() == shared_before  # untouched


def test_the_watchdog_kills_what_a_killed_test_process_left_behind():
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import subprocess, sys, time
        from childlink_common.testing.private_broker import Watchdog
        child = subprocess.Popen(["sleep", "600"], start_new_session=True)
        Watchdog.get().watch(child.pid, "sleep 600")
        print(child.pid, flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    orphan = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)  # no atexit, no finally: only the watchdog can clean up
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(orphan, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(orphan, signal.SIGKILL)
    pytest.fail("the watchdog did not kill the orphan")
