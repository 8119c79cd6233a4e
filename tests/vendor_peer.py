"""A local HTTP peer answering in a vendor's documented shapes (the HTTP boundary).

Tests queue answers per (method, path): ``peer.answer("POST", "/api/v2/tickets.json",
201, {...})``; the last answer queued for a route repeats. ``peer.received`` holds each
request: method, path, query, JSON body, headers, and a form-encoded body's fields.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict
    json: object
    headers: dict
    form: dict = field(default_factory=dict)


class VendorPeer:
    def __init__(self):
        self.routes: dict[tuple[str, str], list[tuple[int, object, dict]]] = {}
        self.received: list[Received] = []
        self.delay = 0.0  # seconds before each answer
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                is_form = "form-urlencoded" in self.headers.get("Content-Type", "")
                peer.received.append(
                    Received(
                        self.command,
                        parts.path,
                        {k: v[0] for k, v in parse_qs(parts.query).items()},
                        json.loads(raw) if raw and not is_form else None,
                        dict(self.headers),
                        {k: v[0] for k, v in parse_qs(raw.decode()).items()} if is_form else {},
                    )
                )
                answers = peer.routes.get((self.command, parts.path)) or [
                    (404, {"error": "no route in the test peer"}, {})
                ]
                time.sleep(peer.delay)
                status, body, headers = answers.pop(0) if len(answers) > 1 else answers[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, status: int, body: object, **headers) -> None:
        self.routes.setdefault((method, path), []).append(
            (status, body, {k.replace("_", "-"): str(v) for k, v in headers.items()})
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
