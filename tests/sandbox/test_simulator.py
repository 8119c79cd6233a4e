"""The simulated business: reproducible, calibrated to published figures, and ingestible."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from dunning.models import ChargebeeEvent, EventState, Invoice
from sandbox.simulator import parameters as p
from sandbox.simulator.delivery import DisorderlyDelivery
from sandbox.simulator.run import LiveRunner, simulate_history
from sandbox.store import Sandbox
from sandbox.webhooks import WebhookDelivery

END = 1_790_000_000  # 2026-09-21, fixed so runs compare


def history(customers=60, months=3, seed=1, dunning="custom"):
    sandbox = Sandbox()
    simulator = simulate_history(
        sandbox, customers=customers, months=months, seed=seed, end=END, dunning=dunning
    )
    return sandbox, simulator


def test_same_seed_gives_the_same_business_event_for_event():
    first, _ = history(seed=42)
    second, _ = history(seed=42)
    other, _ = history(seed=43)

    assert json.dumps(first.events) == json.dumps(second.events)
    assert json.dumps(first.tickets) == json.dumps(second.tickets)
    assert json.dumps(first.events) != json.dumps(other.events)


@pytest.fixture(scope="module")
def custom_year():
    return history(customers=1200, months=12, seed=7, dunning="custom")


@pytest.fixture(scope="module")
def smart_year():
    return history(customers=1200, months=12, seed=7, dunning="smart")


def test_first_attempt_failure_rate_is_near_the_published_figure(custom_year):
    _, simulator = custom_year
    assert 0.065 <= simulator.outcomes.failure_rate <= 0.105  # [R22] 8.3%


@pytest.mark.parametrize("year", ["custom_year", "smart_year"])
def test_recovery_rate_under_chargebee_dunning_is_within_its_claimed_range(year, request):
    _, simulator = request.getfixturevalue(year)
    low, high = p.TARGET_RECOVERY_RATE[simulator.dunning_mode]

    assert low <= simulator.outcomes.recovery_rate <= high
    assert (
        simulator.outcomes.share_recovered_within_10_days >= p.TARGET_SHARE_RECOVERED_WITHIN_10_DAYS
    )


def test_decline_mix_is_dominated_by_funds_generic_and_temporary(custom_year):
    declines = custom_year[1].outcomes.declines
    temporary = declines["issuer_unavailable"] + declines["processing_error"]
    top = declines["insufficient_funds"] + declines["do_not_honor"] + temporary
    assert top / sum(declines.values()) >= 0.70  # [R11]: > 90% of initial failures
    assert declines["insufficient_funds"] > declines["do_not_honor"] > declines["lost_or_stolen"]
    for reason in (
        "expired_card",
        "gateway_unavailable",
        "processing_error",
        "authentication_required",
    ):
        assert declines[reason] > 0, reason


def test_retries_after_a_payday_succeed_more_often_there_is_signal_to_learn(custom_year):
    retries = [r for r in custom_year[1].outcomes.retries if r[0] == "insufficient_funds"]
    after = [ok for _r, paid, _h, ok in retries if paid]
    before = [ok for _r, paid, _h, ok in retries if not paid]

    assert len(after) > 50 and len(before) > 50
    assert sum(after) / len(after) > 1.5 * sum(before) / len(before)


def test_declines_carry_network_codes_and_mastercard_advice_codes(custom_year):
    sandbox, _ = custom_year
    failed = [t for t in sandbox.transactions.values() if t["status"] == "failure"]
    assert all(t["error_detail"]["decline_code"] for t in failed)
    stolen = [t for t in failed if t["error_code"] == "43"]
    assert stolen and all(
        t["error_detail"].get("processor_advice_code") in (None, "03") for t in stolen
    )
    assert any(t["error_detail"].get("processor_advice_code") == "03" for t in failed)


def test_end_of_dunning_takes_every_configured_final_action(custom_year):
    sandbox, simulator = custom_year
    actions = simulator.outcomes.final_actions
    assert set(actions) == {"cancel+write_off", "cancel+not_paid", "keep+not_paid", "cancel+void"}
    statuses = {
        i["status"] for i in sandbox.invoices.values() if i.get("dunning_status") == "exhausted"
    }
    assert {"not_paid", "paid", "voided"} <= statuses  # written off invoices count as paid
    cancelled = [s for s in sandbox.subscriptions.values() if s.get("cancel_reason") == "not_paid"]
    assert cancelled


def test_business_has_outages_card_updates_usage_and_tickets(custom_year):
    sandbox, simulator = custom_year
    assert simulator.outcomes.outages
    assert (
        simulator.outcomes.card_updates["account_updater"]
        and simulator.outcomes.card_updates["customer"]
    )
    assert sandbox.usage and all(
        "sessions" in m for months in sandbox.usage.values() for m in months
    )
    assert {t["topic"] for t in sandbox.tickets} == {"payment_failed", "cancel", "product"}
    assert all(-1 <= t["sentiment"] <= 1 for t in sandbox.tickets)
    currencies = {s["currency_code"] for s in sandbox.subscriptions.values()}
    assert {"USD", "EUR", "GBP", "JPY"} <= currencies
    assert {s["billing_period_unit"] for s in sandbox.subscriptions.values()} == {"month", "year"}


def test_no_card_number_or_cvv_anywhere_in_what_it_emits(custom_year):
    from dunning.helpers.pci import luhn_valid

    text = json.dumps(custom_year[0].events)
    assert '"cvv"' not in text and '"number"' not in text
    import re

    candidates = re.findall(r'"(\d{13,19})"', text)
    assert not [c for c in candidates if luhn_valid(c)]


@pytest.mark.django_db(transaction=True)
def test_everything_it_emits_passes_through_the_webhook_endpoint(live_server, run_jobs, settings):
    sandbox = Sandbox()
    target = WebhookDelivery(
        url=f"{live_server.url}/webhooks/chargebee/",
        username=settings.CHARGEBEE_WEBHOOK_USERNAME,
        password=settings.CHARGEBEE_WEBHOOK_PASSWORD,
    )
    statuses: list[int] = []
    delivery = DisorderlyDelivery(
        lambda event: statuses.append(target.deliver(event, retries=False)),
        seed=3,
        duplicate_rate=0.05,
        late_rate=0.05,
    )
    sandbox.event_listeners.append(delivery)
    simulate_history(sandbox, customers=20, months=2, seed=3, end=END)
    delivery.flush()
    run_jobs()

    assert delivery.duplicates and delivery.late
    assert set(statuses) == {200}
    assert ChargebeeEvent.objects.count() == len(sandbox.events)
    assert set(ChargebeeEvent.objects.values_list("state", flat=True)) <= {
        EventState.PROCESSED,
        EventState.STALE,
    }
    # Duplicates and disorder did not leave the mirror behind Chargebee.
    mirrored = dict(Invoice.objects.values_list("cb_id", "status"))
    assert mirrored == {i["id"]: i["status"] for i in sandbox.invoices.values()}


@pytest.mark.django_db
def test_simulate_command_backfills_this_database(settings):
    call_command("simulate", customers=15, months=2, seed=5, deliver="backfill", verbosity=0)

    assert ChargebeeEvent.objects.filter(received_via="backfill").count() > 100
    assert not ChargebeeEvent.objects.exclude(state=EventState.PROCESSED).exists()
    assert Invoice.objects.filter(status="paid").exists()


def test_live_mode_keeps_the_business_moving_in_real_time():
    sandbox, simulator = history(customers=200, months=2, seed=9)
    before = len(sandbox.events)
    runner = LiveRunner(
        simulator,
        events_per_minute=600,
        history_events=before,
        history_seconds=END - simulator.start,
        tick_seconds=1,
    )
    sandbox.clock = __import__("time").time

    for _ in range(5):
        runner.tick()

    new = sandbox.events[before:]
    assert 10 <= len(new) <= 200  # about 50 expected for 5 s at 600 a minute
    assert all(e["occurred_at"] > END for e in new)  # stamped with the wall clock
