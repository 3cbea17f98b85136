"""A RabbitMQ node of the test's own, so a test may stop, start and break it without touching the
shared local broker (rabbit@localhost on 5672) that other people's tests are using.

    with PrivateBroker() as broker:      # rabbitmq-server in the foreground, as a child process
        broker.amqp_uri                  # pyamqp://guest:guest@127.0.0.1:<port>/
        broker.stop_app(); broker.start_app()
        broker.management("queues/%2F")  # the node's own management API

Everything the node writes (mnesia, logs, config, enabled plugins, HOME) lives in one temporary
folder. It runs as the current user with HOME in that folder; its Erlang cookie there is a copy of
the shared node's (/var/lib/rabbitmq/.erlang.cookie) when that can be read, so the system wrapper
`rabbitmqctl -n childlink-rel-...@localhost status` works too. The shared node's cookie, config and
files are only read, never written. `stop()` (also run at exit and on context exit) kills the node's
process group and removes the folder; and should the test
process die before it can (SIGKILL, a crash), a watchdog process notices its stdin close and kills
the node and removes the folder (`Watchdog`: tests can register their own child processes with it).

The node name is `childlink-rel-<pid>@localhost`: registered with the machine's epmd, it never
collides with `rabbit@localhost` or another run's private node.
"""

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

RABBITMQ_BIN = Path(os.environ.get("RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
SHARED_COOKIE = Path("/var/lib/rabbitmq/.erlang.cookie")
START_TIMEOUT_S = 120
CTL_TIMEOUT_S = 60


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tool(name):
    found = RABBITMQ_BIN / name
    if found.exists():
        return str(found)
    fallback = shutil.which(name)
    if fallback is None:
        raise RuntimeError(f"{name} not found (install rabbitmq-server, or set RABBITMQ_BIN)")
    return fallback


def available():
    """True when a RabbitMQ server is installed here and can be started by this user."""
    try:
        _tool("rabbitmq-server")
        _tool("rabbitmqctl")
    except RuntimeError:
        return False
    return True


WATCHDOG = r"""
import os, shutil, signal, sys
watched, folders = {}, set()
for line in sys.stdin:  # EOF: whoever started us is gone, however it died (even SIGKILL)
    verb, _, what = line.rstrip("\n").partition(" ")
    if verb == "pid":
        pid, _, marker = what.partition(" ")
        watched[int(pid)] = marker
    elif verb == "unpid":
        watched.pop(int(what), None)
    elif verb == "dir":
        folders.add(what)
    elif verb == "undir":
        folders.discard(what)
for pid, marker in watched.items():
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:  # still ours, not a reused pid?
            if marker.encode() not in handle.read().replace(b"\0", b" "):
                continue
        os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass
for folder in folders:
    shutil.rmtree(folder, ignore_errors=True)
"""


class Watchdog:
    """A small process that outlives its parent by a moment: when the parent's end of its stdin closes
    (the test process exited, crashed or was SIGKILLed), it kills every process still registered
    (checking the command line first, so a reused pid is left alone) and removes the folders. Normal
    teardown unregisters as it stops things, so the watchdog then has nothing left to do."""

    _instance = None

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-c", WATCHDOG], stdin=subprocess.PIPE, text=True,
                                        start_new_session=True, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

    @classmethod
    def get(cls):
        if cls._instance is None or cls._instance.process.poll() is not None:
            cls._instance = cls()
        return cls._instance

    def _tell(self, line):
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()

    def watch(self, pid, marker):
        self._tell(f"pid {pid} {marker}")

    def forget(self, pid):
        self._tell(f"unpid {pid}")

    def watch_dir(self, path):
        self._tell(f"dir {path}")

    def forget_dir(self, path):
        self._tell(f"undir {path}")


class PrivateBroker:
    def __init__(self, name=None, base_dir=None):
        self.node = f"{name or f'childlink-rel-{os.getpid()}'}@localhost"
        self.amqp_port = free_port()
        self.dist_port = free_port()
        self.management_port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="childlink-broker-", dir=base_dir))
        self.process = None
        self._stopped = False

    # --- where things are -------------------------------------------------------------------------

    @property
    def amqp_uri(self):
        return f"pyamqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def management_url(self):
        return f"http://127.0.0.1:{self.management_port}/api"

    @property
    def log_dir(self):
        return self.dir / "log"

    def _env(self):
        home = self.dir / "home"
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")},
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.log_dir),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),  # not /etc/rabbitmq's
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_PID_FILE": str(self.dir / "node.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def _write_files(self):
        home = self.dir / "home"
        home.mkdir(parents=True)
        self.log_dir.mkdir()
        cookie = home / ".erlang.cookie"
        try:
            cookie.write_text(SHARED_COOKIE.read_text().strip())
        except OSError:  # not readable by this user: a cookie of our own serves our own rabbitmqctl
            cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        (self.dir / "rabbitmq-env.conf").write_text("# private test node: no settings from /etc/rabbitmq\n")
        (self.dir / "advanced.config").write_text("[].\n")
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.amqp_port}\n"
            f"management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {self.management_port}\n"
            "disk_free_limit.absolute = 50MB\n"
            "log.file.level = info\n"
            "log.console = false\n"
        )

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self, timeout=START_TIMEOUT_S):
        """Launch the node and wait until it serves AMQP and its management API."""
        self.launch()
        try:
            self.wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self):
        """Launch the node without waiting (call wait_until_ready before using it)."""
        if self.process is not None:
            return self
        self._write_files()
        stdout = open(self.log_dir / "server.stdout", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [_tool("rabbitmq-server")], env=self._env(), cwd=str(self.dir),
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True,
        )
        stdout.close()
        atexit.register(self.stop)
        self.watchdog = Watchdog.get()
        self.watchdog.watch(self.process.pid, "rabbitmq-server")  # its process group: the node with it
        self.watchdog.watch_dir(str(self.dir))
        return self

    def wait_until_ready(self, timeout=START_TIMEOUT_S):
        """Until the AMQP port takes connections and the management API answers."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"private RabbitMQ {self.node} exited with {self.process.returncode}:\n"
                                   f"{self.logs()[-4000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.amqp_port), timeout=1).close()
                response = requests.get(f"{self.management_url}/overview", auth=("guest", "guest"), timeout=2)
                if response.status_code == 200:
                    return self
                last = f"management answered {response.status_code}"
            except (OSError, requests.RequestException) as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise TimeoutError(f"private RabbitMQ {self.node} not ready after {timeout}s ({last}):\n"
                           f"{self.logs()[-4000:]}")

    def rabbitmqctl(self, *args, timeout=CTL_TIMEOUT_S, check=True):
        result = subprocess.run(
            [_tool("rabbitmqctl"), "-n", self.node, *args], env=self._env(), cwd=str(self.dir),
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed ({result.returncode}): "
                               f"{result.stdout}{result.stderr}")
        return result.stdout

    def stop_app(self):
        """The RabbitMQ application stops (every connection closed, listeners gone); the node stays up."""
        self.rabbitmqctl("stop_app")

    def start_app(self, timeout=START_TIMEOUT_S):
        self.rabbitmqctl("start_app", timeout=timeout)
        return self.wait_until_ready(timeout)

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        # A throwaway node: no orderly shutdown (`rabbitmqctl stop` takes 10 s and more here), its
        # whole process group is killed and its folder removed; epmd forgets it when it goes.
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)  # the node and any helper it left behind
            with contextlib.suppress(Exception):
                self.process.wait(10)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self.process is not None:
            self.watchdog.forget(self.process.pid)
        if os.environ.get("CHILDLINK_KEEP_BROKER_DIR"):
            self.watchdog.forget_dir(str(self.dir))
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        self.watchdog.forget_dir(str(self.dir))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # --- looking inside ---------------------------------------------------------------------------

    def management(self, path, method="GET", **kwargs):
        response = requests.request(method, f"{self.management_url}/{path}", auth=("guest", "guest"),
                                    timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def queue(self, name, vhost="/"):
        return self.management(f"queues/{requests.utils.quote(vhost, safe='')}/{name}")

    def logs(self):
        parts = []
        for path in sorted(self.log_dir.glob("*")) if self.log_dir.exists() else []:
            with contextlib.suppress(OSError):
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)
