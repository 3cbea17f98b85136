"""make stop / make status: stop every service at once, within the grace period; 'not running' is no error."""

import subprocess
import sys
import time

from childlink_common import launcher
from childlink_common.processes import free_port

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"


def isolated(monkeypatch, tmp_path, services):
    monkeypatch.setattr(launcher, "RUN_DIR", tmp_path)
    monkeypatch.setattr(launcher, "PORTS", {name: free_port() for name in services})


def test_status_with_nothing_running_says_so_and_is_no_failure(monkeypatch, tmp_path, capsys):
    isolated(monkeypatch, tmp_path, ("social", "gateway"))
    assert launcher.status() is True
    assert "not running" in capsys.readouterr().out


def test_stop_signals_every_service_at_once_and_kills_what_outlasts_the_grace(monkeypatch, tmp_path, capsys):
    services = ("social", "education", "health", "gateway")
    isolated(monkeypatch, tmp_path, services)
    processes = []
    for name in services:  # processes that ignore SIGTERM, as a draining nameko container seems to
        process = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
        process.stdout.readline()
        (tmp_path / f"{name}.pid").write_text(str(process.pid))
        processes.append(process)
    started = time.monotonic()
    launcher.down(grace=0.5)
    took = time.monotonic() - started
    for process in processes:
        assert process.wait(5) is not None
    assert took < 1.5, took  # one grace period for all, not one each
    assert not list(tmp_path.glob("*.pid"))
    out = capsys.readouterr().out
    assert all(name in out for name in services)
    launcher.down(grace=0.5)
    assert "not running" in capsys.readouterr().out
