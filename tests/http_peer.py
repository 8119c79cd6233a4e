"""A local JSON service standing in for one outside the machine (the HTTP boundary).

Tests set ``status``, ``answer`` (a JSON-able value, or raw bytes) and ``delay``, and read
``requests``: (body for a POST or query for a GET, Authorization header) per request.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class JsonPeer:
    def __init__(self, *, path: str, answer: object):
        self.status = 200
        self.answer = answer
        self.delay = 0.0
        self.requests: list[tuple[dict, str]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                peer._reply(self, parse_qs(urlsplit(self.path).query))

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer._reply(self, json.loads(raw))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _reply(self, handler: BaseHTTPRequestHandler, received: dict) -> None:
        self.requests.append((received, handler.headers.get("Authorization", "")))
        time.sleep(self.delay)
        body = self.answer if isinstance(self.answer, bytes) else json.dumps(self.answer).encode()
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
