"""Replaying Chargebee's event history through Event.list into the normal processing path."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from dunning.models import AuditEntry, ChargebeeEvent, EventState, Invoice
from dunning.models.events import ReceivedVia
from tests.conftest import failed_renewal

pytestmark = pytest.mark.django_db


def build_history(sandbox, customers: int = 3) -> list[str]:
    return [failed_renewal(sandbox, name=f"C{n}")["id"] for n in range(customers)]


def test_backfill_stores_and_processes_every_event_since_the_date(sandbox):
    invoice_ids = build_history(sandbox, customers=30)  # 150 events: two pages

    call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)

    assert ChargebeeEvent.objects.filter(received_via=ReceivedVia.BACKFILL).count() == len(
        sandbox.events
    )
    assert set(ChargebeeEvent.objects.values_list("state", flat=True)) == {EventState.PROCESSED}
    in_dunning = Invoice.objects.filter(cb_id__in=invoice_ids, dunning_status="in_progress")
    assert in_dunning.count() == 30
    audit = AuditEntry.objects.get(action="chargebee.backfill")
    assert audit.data["stored"] == len(sandbox.events) and audit.data["since"].startswith(
        "2000-01-01"
    )


def test_backfill_skips_events_already_received_by_webhook(sandbox):
    build_history(sandbox, customers=1)
    call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)
    processed_at = dict(ChargebeeEvent.objects.values_list("event_id", "processed_at"))

    call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)

    assert ChargebeeEvent.objects.count() == len(sandbox.events)
    assert dict(ChargebeeEvent.objects.values_list("event_id", "processed_at")) == processed_at


def test_backfill_waits_out_chargebee_rate_limits(sandbox):
    build_history(sandbox, customers=1)
    sandbox.inject_failures(status=429, count=2, retry_after=0)

    call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)

    assert ChargebeeEvent.objects.count() == len(sandbox.events)


def test_backfill_only_takes_events_after_the_date(sandbox):
    sandbox.clock = lambda: 1_600_000_000  # 2020-09-13
    build_history(sandbox, customers=1)
    old = len(sandbox.events)
    sandbox.clock = lambda: 1_700_000_000  # 2023-11-14
    build_history(sandbox, customers=1)

    call_command("chargebee_backfill", since="2023-01-01", inline=True, verbosity=0)

    assert ChargebeeEvent.objects.count() == len(sandbox.events) - old


def test_backfill_rejects_a_bad_date():
    with pytest.raises(CommandError, match="--since must be a date"):
        call_command("chargebee_backfill", since="last tuesday", verbosity=0)


def test_backfill_stops_with_chargebees_error_when_refused(sandbox, settings):
    from chargebee import APIError

    build_history(sandbox, customers=1)
    settings.CHARGEBEE_API_KEY = "revoked-key"

    with pytest.raises(APIError) as refused:
        call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)

    assert refused.value.http_status_code == 401
    assert not ChargebeeEvent.objects.exists()
