"""Receiving ends for the outbox's fault tests: an SMTP server and an HTTP SMS gateway that
count what arrives by its Message-ID / idempotency key, and can answer late.

Both run in threads of the test process, so a worker in another process (killed at will)
delivers to them over real sockets."""
import email
import json
import threading
import time
from collections import Counter
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


class CountingMailbox:
    """An aiosmtpd handler: keeps every message, then answers after ``delay`` seconds
    (longer than the client's timeout: the reply is "lost", the message arrived)."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.lock = threading.Lock()
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((envelope.rcpt_tos, message))
        if self.delay:
            import asyncio
            await asyncio.sleep(self.delay)
        return "250 OK"

    def ids(self):
        with self.lock:
            return Counter(m["Message-ID"] for _, m in self.messages)

    def recipients(self):
        with self.lock:
            return Counter(r for rcpts, _ in self.messages for r in rcpts)


def start_smtp(port, delay=0.0):
    handler = CountingMailbox(delay)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


class SmsGateway:
    """An HTTP SMS gateway: records each request (by its idempotency key), then answers
    ``status`` after ``delay`` seconds."""

    def __init__(self, delay=0.0, status=202):
        self.delay, self.status = delay, status
        self.lock = threading.Lock()
        self.received = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with gateway.lock:
                    gateway.received.append((self.headers.get("Idempotency-Key"), body))
                if gateway.delay:
                    time.sleep(gateway.delay)
                try:
                    self.send_response(gateway.status)
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self):
        with self.lock:
            return Counter(key for key, _ in self.received)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
