"""Stopping ``manage.py demo`` stops everything it started, whichever signal stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_the_demo_stops_the_chargebee_sandbox_it_started(tmp_path, stop_with):
    sandbox_port = free_port()
    env = {**os.environ, "DUNWELL_VAR_DIR": str(tmp_path)}  # its own throwaway database
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    demo = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--customers",
            "30",
            "--months",
            "2",
            "--port",
            str(free_port()),
            "--sandbox-port",
            str(sandbox_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: listening(sandbox_port), 120), "the sandbox never started"

        demo.send_signal(stop_with)

        assert demo.wait(60) != 0
        assert wait_for(lambda: not listening(sandbox_port), 15), "the sandbox is still up"
    finally:
        if demo.poll() is None:
            demo.kill()
