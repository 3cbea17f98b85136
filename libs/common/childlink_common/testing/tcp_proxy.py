"""A TCP forwarder run as its own process: killing it is a network outage between a service and RabbitMQ.

`python -m childlink_common.testing.tcp_proxy LISTEN_PORT TARGET_HOST TARGET_PORT`
"""

import selectors
import socket
import subprocess
import sys
import time


def serve(listen_port, target_host, target_port):
    server = socket.create_server(("127.0.0.1", listen_port), reuse_port=False)
    server.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, None)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                client, _ = server.accept()
                upstream = socket.create_connection((target_host, target_port))
                for sock, peer in ((client, upstream), (upstream, client)):
                    sock.setblocking(False)
                    selector.register(sock, selectors.EVENT_READ, peer)
                continue
            sock, peer = key.fileobj, key.data
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if data:
                peer.setblocking(True)
                peer.sendall(data)
                peer.setblocking(False)
            else:
                for s in (sock, peer):
                    try:
                        selector.unregister(s)
                    except (KeyError, ValueError):
                        pass
                    s.close()


class ProxyProcess:
    def __init__(self, listen_port, target_host="127.0.0.1", target_port=5672):
        self.listen_port, self.target_host, self.target_port = listen_port, target_host, target_port
        self.process = None

    def start(self):
        self.process = subprocess.Popen([sys.executable, "-m", __name__, str(self.listen_port),
                                         self.target_host, str(self.target_port)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.listen_port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("proxy did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
