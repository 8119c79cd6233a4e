"""What the recovery dashboard adds beside its headlines: the failure rate with what it is
out of, the previous period, recovery by decline code and the customers who owe the most."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.recovery import recovery_summary
from analytics.recovery_breakdowns import recovery_by_decline_code, top_failed_customers
from collections_desk.models import Case
from collections_desk.teams import team_create, team_member_add
from tests.analytics.mirror import days_ago, failed_invoice, paid_invoice
from tests.analytics.test_recovery_figures import filters
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_manager_reads_the_failure_rate_out_of_every_first_attempt_in_the_period():
    failed_invoice(1, failed_at=days_ago(10), retries_failed=2)  # retries are not attempts
    failed_invoice(2, failed_at=days_ago(12), paid_after=timedelta(days=1))
    for n in range(3, 9):
        paid_invoice(n, paid_at=days_ago(5))
    paid_invoice(9, paid_at=days_ago(50))  # before the period
    paid_invoice(10, paid_at=days_ago(5), currency="EUR")  # another currency

    summary = recovery_summary(filters=filters(period="30"))

    assert (summary["failed_first_attempts"], summary["first_attempts"]) == (2, 8)
    assert summary["failure_rate"] == 25.0


def test_the_previous_period_is_the_same_length_just_before():
    failed_invoice(1, failed_at=days_ago(10), amount=10_000, paid_after=timedelta(days=1))
    failed_invoice(2, failed_at=days_ago(40), amount=4_000)
    failed_invoice(3, failed_at=days_ago(50), amount=6_000, paid_after=timedelta(days=1))
    failed_invoice(4, failed_at=days_ago(70), amount=1_000)  # two periods back

    current = filters(period="30")
    previous = recovery_summary(filters=current.previous_period())

    assert current.previous_period().until == current.since
    assert current.previous_period().since == current.since - timedelta(days=30)
    assert (previous["failed"], previous["failed_amount"], previous["recovered_amount"]) == (
        2,
        100.0,
        60.0,
    )


def test_recovery_by_decline_code_is_labelled_and_adds_up_to_the_headlines():
    failed_invoice(
        1, failed_at=days_ago(5), amount=10_000, decline_code="51", paid_after=timedelta(days=2)
    )
    failed_invoice(2, failed_at=days_ago(6), amount=5_000, decline_code="51")
    failed_invoice(3, failed_at=days_ago(7), amount=3_000, decline_code="54")
    failed_invoice(4, failed_at=days_ago(8), amount=2_000)  # no code

    f = filters()
    table = recovery_by_decline_code(filters=f)
    summary = recovery_summary(filters=f)

    rows = {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    assert list(rows) == ["Insufficient funds (51)", "Expired card (54)", "No code"]
    assert rows["Insufficient funds (51)"] == {
        "decline code": "Insufficient funds (51)",
        "failed invoices": 2,
        "recovered invoices": 1,
        "rate %": 66.7,
        "failed revenue": 150.0,
        "recovered revenue": 100.0,
    }
    assert sum(table.column("failed invoices")) == summary["failed"]
    assert sum(table.column("recovered revenue")) == summary["recovered_amount"]


def owing_customer(n: int, *, amount: int, team=None):
    invoice = failed_invoice(n, failed_at=days_ago(5), amount=amount)
    return Case.objects.create(
        customer_id=invoice.customer_id,
        team=team,
        reason="owes",
        opened_at=days_ago(4),
        sla_due_at=days_ago(3),
    )


def test_manager_sees_the_customers_who_still_owe_most_first_with_their_case():
    big = owing_customer(1, amount=90_000)
    owing_customer(2, amount=20_000)
    failed_invoice(3, failed_at=days_ago(5), amount=50_000)  # no case yet
    failed_invoice(4, failed_at=days_ago(5), amount=99_000, paid_after=timedelta(days=1))
    manager = UserFactory(role="collections manager")

    top = top_failed_customers(user=manager, filters=filters())

    assert [row["customer_id"] for row in top] == ["cus_1", "cus_3", "cus_2"]  # paid: not due
    assert top[0]["amount_due"] == 90_000 and top[0]["case_id"] == big.pk
    assert top[1]["case_id"] is None


def test_agent_sees_only_customers_of_their_teams_and_the_shared_pool():
    ours = team_create(name="Ours")
    theirs = team_create(name="Theirs")
    agent = UserFactory(role="collections agent")
    team_member_add(team=ours, user=agent)
    owing_customer(1, amount=90_000, team=theirs)
    owing_customer(2, amount=20_000, team=ours)
    owing_customer(3, amount=10_000)  # the shared pool

    top = top_failed_customers(user=agent, filters=filters())

    assert [row["customer_id"] for row in top] == ["cus_2", "cus_3"]
