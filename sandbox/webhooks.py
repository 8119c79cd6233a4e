"""Deliver sandbox events to a webhook endpoint, as Chargebee does: POST, Basic auth, retry."""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import httpx

logger = logging.getLogger("sandbox.webhooks")

# Chargebee retries a failed delivery 7 times over ~3 days; the sandbox compresses that.
RETRY_DELAYS = (0.2, 0.5, 1, 2, 5, 10, 20)


@dataclass
class WebhookDelivery:
    url: str
    username: str
    password: str
    timeout: float = 10.0
    delivered: list[tuple[str, int]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._client = httpx.Client(timeout=self.timeout)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    def post(self, event: dict) -> int:
        """One delivery attempt; returns the HTTP status (0 if unreachable)."""
        try:
            response = self._client.post(
                self.url, content=json.dumps(event), headers=self.headers()
            )
        except httpx.HTTPError as error:
            logger.warning("webhook %s not delivered: %s", event["id"], error)
            return 0
        return response.status_code

    def deliver(self, event: dict, *, retries: bool = True) -> int:
        status = self.post(event)
        delays = iter(RETRY_DELAYS if retries else ())
        while not 200 <= status < 300:
            delay = next(delays, None)
            if delay is None or self._stop.is_set():
                self.failed.append(event["id"])
                return status
            time.sleep(delay)
            status = self.post(event)
        self.delivered.append((event["id"], status))
        return status

    # --- asynchronous delivery, in order, on a background thread ---------------------
    def enqueue(self, event: dict) -> None:
        self._queue.put(event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.deliver(event)
            self._queue.task_done()

    def wait_idle(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._queue.unfinished_tasks

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._client.close()
