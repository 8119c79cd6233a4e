"""`python -m sandbox`: the standalone sandbox the demo runs, driven over its control API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_standalone_sandbox_simulates_serves_chargebee_and_goes_live():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(port),
            "--customers",
            "30",
            "--months",
            "2",
            "--webhook-url",
            "http://127.0.0.1:9/unreachable/",
            "--events-per-minute",
            "600",
        ],
        stdout=subprocess.PIPE,
    )
    base, auth = f"http://127.0.0.1:{port}", ("test_sandbox_key", "")
    try:
        assert b'"ready": true' in process.stdout.readline()
        status = httpx.get(f"{base}/__sandbox/status", auth=auth).json()
        events = httpx.get(
            f"{base}/api/v2/events", params={"limit": 5, "sort_by[asc]": "occurred_at"}, auth=auth
        ).json()
        live = httpx.post(f"{base}/__sandbox/live", auth=auth).json()
        time.sleep(2.5)
        later = httpx.get(f"{base}/__sandbox/status", auth=auth).json()
        refused = httpx.get(f"{base}/__sandbox/status", auth=("wrong", ""))
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert status["state"] == "ready" and status["events"] > 100
    assert any("failure rate" in line for line in status["summary"])
    assert len(events["list"]) == 5 and events["next_offset"]
    assert live == {"state": "live"}
    assert later["events"] > status["events"]  # the business keeps moving
    assert refused.status_code == 401
