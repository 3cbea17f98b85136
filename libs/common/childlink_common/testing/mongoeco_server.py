"""A MongoDB-wire server for tests, backed by mongoeco's in-memory engine.

Run it as its own process (never inside the eventlet-patched pytest process: it is an asyncio server):

    python -m childlink_common.testing.mongoeco_server --host 127.0.0.1 --port 27999

It serves until SIGTERM or SIGINT. `start_mongoeco()` launches it as a subprocess on a free port,
waits until pymongo can ping it, and returns `(uri, stop)`.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

READY_TIMEOUT_S = 120  # importing mongoeco alone takes ~5 s idle and was seen past 30 s at load 16
STOP_TIMEOUT_S = 10.0


async def serve(host, port):
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host=host, port=port,
                                      pymongo_profile="auto-installed")
    address = await server.start()
    print(f"mongoeco serving {address.uri}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve an in-memory mongoeco over the MongoDB wire protocol")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _stderr_text(stderr_file):
    stderr_file.seek(0)
    return stderr_file.read().decode("utf-8", "replace").strip() or "(no stderr)"


def start_mongoeco(port=None, host="127.0.0.1", ready_timeout_s=READY_TIMEOUT_S):
    """Launch the server as a subprocess; return (uri, stop). Raises RuntimeError if it never answers a ping."""
    import pymongo
    from pymongo.errors import PyMongoError

    port = port or free_port(host)
    uri = f"mongodb://{host}:{port}/?directConnection=true"
    stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the subprocess
    proc = subprocess.Popen(
        [sys.executable, "-m", "childlink_common.testing.mongoeco_server", "--host", host, "--port", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr_file,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    def stop():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stderr_file.close()

    deadline = time.monotonic() + ready_timeout_s
    last_error = None
    while True:
        if proc.poll() is not None:
            message = (f"mongoeco server exited with code {proc.returncode} before answering a ping"
                       f" on {uri}; stderr:\n{_stderr_text(stderr_file)}")
            stop()
            raise RuntimeError(message)
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
        try:
            client.admin.command("ping")
            return uri, stop
        except PyMongoError as exc:
            last_error = exc
        finally:
            client.close()
        if time.monotonic() > deadline:
            message = (f"mongoeco server on {uri} did not answer a ping within {ready_timeout_s:.0f}s"
                       f" (last error: {last_error}); stderr:\n{_stderr_text(stderr_file)}")
            with contextlib.suppress(Exception):
                stop()
            raise RuntimeError(message)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
