"""Chargebee delivers an event over the webhook; Dunwell stores it, mirrors it and decides."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def wall_clock(sandbox, monkeypatch):
    """Chargebee's clock on the wall clock: events are live, so they are decided. (The
    session-wide sandbox keeps whatever clock an earlier simulation left it.)"""
    monkeypatch.setattr(sandbox, "clock", time.time)
    return sandbox


@pytest.fixture
def deliver(post_webhook, run_jobs, django_capture_on_commit_callbacks):
    def deliver(event: dict) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(event).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            run_jobs()  # processing; the decision job is enqueued on commit
        run_jobs()

    return deliver


def events_of(sandbox, event_type: str) -> list[dict]:
    return [event for event in sandbox.events if event["event_type"] == event_type]
