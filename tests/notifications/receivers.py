"""A real local HTTP receiver for the webhook tests: it records every request and answers as
the test scripts it (a status code, a hang past the client's timeout, a closed connection)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str

    def verify(self, secret: str) -> dict:
        """The payload, if the Standard Webhooks signature checks out with `secret` (raises
        otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)  # what the next requests get
    hang_seconds: float = 3.0

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/jdpop"

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.append(Received(self.path, headers, body))
            action = receiver.script.pop(0) if receiver.script else 200
            if action == "hang":
                time.sleep(receiver.hang_seconds)
                self.close_connection = True
                return
            if action == "close":
                self.close_connection = True
                return
            self.send_response(int(action))
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
