"""The two local servers of `bench/notifications_bench.py`, each run in a process of its own (so
they do not share the drain's GIL); no Django here.

    python bench/notification_servers.py smtp PORT
    python bench/notification_servers.py hooks PORT HANG_PORT SECRETS_JSON

- `smtp`: an aiosmtpd server that accepts every message and counts messages and recipients.
- `smtp-sink`: the same counts from a minimal SMTP server of a few lines (the default of the
  bench: aiosmtpd alone takes a core for 50,000 messages on a 2-core machine).
- `hooks`: a small asyncio HTTP/1.1 server (keep-alive) that answers every POST with 204, counts
  requests and repeated `webhook-id`s per endpoint (the path), and verifies the Standard
  Webhooks signature of one request in `VERIFY_EVERY` with the endpoint's secret (from the JSON
  file: path -> secret). On HANG_PORT it reads requests and never answers (a hanging receiver).

Each prints "ready" once listening, and its counts as one JSON line when sent SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter

VERIFY_EVERY = 50


def _serve(start, stats) -> None:
    """Run `start()` (a coroutine that starts listening), say "ready", and on SIGTERM print
    `stats()` as JSON and exit."""

    async def main() -> None:
        await start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
        print(json.dumps({**stats(), "cpu_s": round(time.process_time(), 1)}), flush=True)

    asyncio.run(main())


# --- SMTP -------------------------------------------------------------------------------------


def smtp(port: int) -> None:
    from aiosmtpd.smtp import SMTP

    counts = Counter(messages=0, recipients=0, sessions=0)

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            counts["sessions"] += 1
            session.host_name = hostname
            return responses

        async def handle_DATA(self, server, session, envelope) -> str:
            counts["messages"] += 1
            counts["recipients"] += len(envelope.rcpt_tos)
            return "250 OK"

    handler = Handler()

    async def start() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: SMTP(handler, loop=loop), "127.0.0.1", port)

    _serve(start, lambda: dict(counts))


def smtp_sink(port: int) -> None:
    """A minimal SMTP server (asyncio protocol): enough of RFC 5321 for smtplib (EHLO/HELO,
    MAIL, RCPT, DATA, RSET, NOOP, QUIT), answering 250 to everything and counting. Much lighter
    than aiosmtpd, so that on a 2-core machine the bench measures the drain, not the sink."""
    counts = Counter(messages=0, recipients=0, sessions=0)

    class Session(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            self.transport = transport
            self.buffer = b""
            self.data = False
            transport.write(b"220 sink ESMTP\r\n")

        def data_received(self, chunk: bytes) -> None:
            self.buffer += chunk
            out = []
            while True:
                if self.data:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    self.buffer = self.buffer[end + 5 :]
                    self.data = False
                    counts["messages"] += 1
                    out.append(b"250 OK\r\n")
                    continue
                line, sep, rest = self.buffer.partition(b"\r\n")
                if not sep:
                    break
                self.buffer = rest
                verb = line[:4].upper()
                if verb == b"EHLO":
                    counts["sessions"] += 1
                    out.append(b"250-sink\r\n250 8BITMIME\r\n")
                elif verb == b"RCPT":
                    counts["recipients"] += 1
                    out.append(b"250 OK\r\n")
                elif verb == b"DATA":
                    self.data = True
                    self.buffer = b"\r\n" + self.buffer  # the end marker may follow at once
                    out.append(b"354 go ahead\r\n")
                elif verb == b"QUIT":
                    out.append(b"221 bye\r\n")
                    self.transport.write(b"".join(out))
                    self.transport.close()
                    return
                else:  # HELO, MAIL, RSET, NOOP, ...
                    out.append(b"250 OK\r\n")
            if out:
                self.transport.write(b"".join(out))

    async def start() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(Session, "127.0.0.1", port, backlog=1024)

    _serve(start, lambda: dict(counts))


# --- webhooks ---------------------------------------------------------------------------------


async def _request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
    """One HTTP/1.1 request: (path, lower-cased headers, body); None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise
        return None
    line, _, head = head.partition(b"\r\n")
    parts = line.split()
    path = parts[1].decode() if len(parts) > 1 else "/"
    headers = {}
    for raw in head.split(b"\r\n"):
        name, sep, value = raw.partition(b":")
        if sep:
            headers[name.strip().lower().decode()] = value.strip().decode()
    length = int(headers.get("content-length", 0))
    body = await reader.readexactly(length) if length else b""
    return path, headers, body


def hooks(port: int, hang_port: int, secrets_file: str) -> None:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    with open(secrets_file) as f:
        verifiers = {path: Webhook(secret) for path, secret in json.load(f).items()}
    counts = Counter(
        requests=0,
        unique=0,
        duplicates=0,
        verified=0,
        bad_signatures=0,
        hang_connections=0,
        hang_requests=0,
    )
    seen: set[tuple[str, str]] = set()
    first_last: list[float] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while (request := await _request(reader)) is not None:
                path, headers, body = request
                counts["requests"] += 1
                now = loop.time()
                if not first_last:
                    first_last[:] = [now, now]
                first_last[1] = now
                key = (path, headers.get("webhook-id", ""))
                if key in seen:
                    counts["duplicates"] += 1
                else:
                    seen.add(key)
                    counts["unique"] += 1
                if counts["requests"] % VERIFY_EVERY == 1:
                    try:
                        verifiers[path].verify(body, headers, json_parse=False)
                        counts["verified"] += 1
                    except (KeyError, WebhookVerificationError):
                        counts["bad_signatures"] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\nserver: bench\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts["hang_connections"] += 1
        try:
            while await _request(reader) is not None:
                counts["hang_requests"] += 1  # and no answer, ever
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def start() -> None:
        await asyncio.start_server(answer, "127.0.0.1", port, backlog=1024)
        await asyncio.start_server(hang, "127.0.0.1", hang_port, backlog=1024)

    def stats() -> dict:
        span = first_last[1] - first_last[0] if first_last else 0.0
        return {**counts, "first_to_last_s": round(span, 2)}

    _serve(start, stats)


if __name__ == "__main__":
    role, *rest = sys.argv[1:]
    if role == "smtp":
        smtp(int(rest[0]))
    elif role == "smtp-sink":
        smtp_sink(int(rest[0]))
    elif role == "hooks":
        hooks(int(rest[0]), int(rest[1]), rest[2])
    else:
        sys.exit(__doc__)
