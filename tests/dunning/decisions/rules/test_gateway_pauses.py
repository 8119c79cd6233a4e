"""A burst of failures on one gateway pauses retries on it; recovery resumes and re-decides."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from dunning.decisions.rules.gateway_pauses import (
    gateway_pause_close,
    gateway_pause_open,
)
from dunning.decisions.rules.outages import MIN_FAILURES
from dunning.models import ActionKind, AuditEntry, Decision, GatewayPause
from dunning.pipeline.decide import decision_make, gateway_pauses_check
from tests.conftest import failed_renewal
from tests.dunning.decisions.delivery import deliver, events_of

pytestmark = pytest.mark.django_db
__all__ = ["deliver"]  # a fixture


class Clock:
    """The sandbox's clock, moved by the test (Chargebee's timestamps are whole seconds)."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=UTC)


@pytest.fixture
def clock(sandbox, monkeypatch):
    clock = Clock(time.time() - 600)  # the outage began ten minutes ago
    monkeypatch.setattr(sandbox, "clock", clock)
    return clock


@pytest.fixture
def outage(sandbox, clock, deliver):
    """Stripe times out on every renewal for a few minutes; each failure is decided live."""
    invoices = []
    for n in range(MIN_FAILURES):
        invoices.append(failed_renewal(sandbox, behaviour=["gateway_timeout"], name=f"Gw{n}"))
        clock.advance(20)
    for event in events_of(sandbox, "payment_failed"):
        deliver(event)
    return invoices


def latest_decision(invoice_id: str) -> Decision:
    return Decision.objects.filter(invoice_id=invoice_id).latest("as_of", "pk")


def holds_retries(decision: Decision) -> bool:
    return decision.actions.filter(kind=ActionKind.GATEWAY_PAUSE).exists()


def test_a_burst_of_gateway_failures_pauses_retries_and_recovery_resumes_them(
    sandbox, clock, outage, deliver
):
    pause = GatewayPause.objects.get(gateway="stripe", ended_at=None)
    held = latest_decision(outage[-1]["id"])
    paused = AuditEntry.objects.get(action="gateway.paused")
    assert holds_retries(held)
    assert not holds_retries(latest_decision(outage[0]["id"]))  # one timeout is no outage
    assert "stripe looks down" in held.rules_fired[-1]
    assert paused.data["gateway_failures"] == MIN_FAILURES
    assert paused.object_id == str(pause.pk)

    assert gateway_pauses_check() == []  # still failing: the pause stays

    clock.advance(60)
    recovered = failed_renewal(sandbox, behaviour=["succeed"], name="Okay")
    deliver(events_of(sandbox, "payment_succeeded")[-1])
    [(resumed, redecided)] = gateway_pauses_check()

    pause.refresh_from_db()
    assert resumed == pause and pause.ended_at is not None
    assert "succeeded" in pause.end_reason
    assert AuditEntry.objects.get(action="gateway.resumed").data["paused_minutes"] > 0
    assert redecided == 1
    again = latest_decision(outage[-1]["id"])
    assert again.trigger == Decision.Trigger.OPEN_INVOICE
    assert not holds_retries(again)
    assert recovered["status"] == "paid"


def test_an_open_pause_holds_retries_after_the_burst_and_a_quiet_gateway_ends_it(
    sandbox, clock, outage, deliver
):
    clock.advance(3600)  # an hour later the burst has left the health window
    late = failed_renewal(sandbox, behaviour=["insufficient_funds"], name="Late")
    deliver(events_of(sandbox, "payment_failed")[-1])
    assert holds_retries(latest_decision(late["id"]))
    assert "paused since" in latest_decision(late["id"]).rules_fired[-1]

    clock.advance(60)
    [(pause, redecided)] = gateway_pauses_check(at=clock.moment())

    assert pause.end_reason.startswith("no gateway-side failures")
    assert redecided == 2  # the last one of the burst, and the late one
    assert not holds_retries(latest_decision(late["id"]))


def test_replaying_a_decision_made_during_an_outage_holds_retries_again_without_a_new_pause(
    sandbox, clock, outage, deliver
):
    held = latest_decision(outage[-1]["id"])
    clock.advance(3600)
    assert gateway_pauses_check(at=clock.moment())

    replay = decision_make(invoice_id=held.invoice_id, trigger=held.trigger, at=held.as_of)

    assert holds_retries(replay)
    assert GatewayPause.objects.count() == 1
    assert AuditEntry.objects.filter(action="gateway.paused").count() == 1


def test_two_deciders_opening_the_same_pause_leave_one_pause_and_one_audit_entry(
    sandbox, clock, outage
):
    earlier = GatewayPause.objects.get()
    gateway_pause_close(pause=earlier, at=earlier.started_at + timedelta(seconds=1), why="test")
    at = earlier.started_at + timedelta(seconds=2)  # the burst is still in the window

    first = gateway_pause_open(gateway="stripe", at=at)
    second = gateway_pause_open(gateway="stripe", at=at + timedelta(seconds=1))

    assert first == second != earlier
    assert GatewayPause.objects.filter(ended_at=None).count() == 1
    assert AuditEntry.objects.filter(action="gateway.paused").count() == 2  # earlier's, first's


def test_a_gateway_that_was_never_down_gets_no_pause(db):
    assert gateway_pause_open(gateway="stripe", at=datetime(2026, 11, 2, tzinfo=UTC)) is None
    assert gateway_pauses_check() == []


def test_admin_sees_the_open_pause_and_then_the_ended_one_on_the_status_page(
    client, admin_user, clock, outage
):
    client.force_login(admin_user)
    during = client.get(reverse("dunning:system_status")).content.decode()
    clock.advance(3600)
    gateway_pauses_check(at=clock.moment())
    after = client.get(reverse("dunning:system_status")).content.decode()

    assert "paused</span> Stripe since" in during and "stripe looks down" in during
    assert "No gateway is paused" in after
    assert "no gateway-side failures on stripe" in after
