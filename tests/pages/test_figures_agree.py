"""One data set, four pages: where Overview, Recovery, AI impact and Rollout describe the same
thing, they give the same figure."""

from __future__ import annotations

import re

import pytest
from django.http import QueryDict
from django.utils import timezone

from analytics.filters import filters_parse
from analytics.impact import impact_summary
from analytics.queries import dunning_totals_by_currency
from analytics.recovery import recovery_summary
from analytics.recovery_breakdowns import recovery_by_decline_code, recovery_by_path
from analytics.rollout import rollout_rows
from analytics.tables import major_units
from dunning.models import Action
from tests.pages.desk_data import working_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db):
    return working_desk()


def test_overview_and_recovery_count_the_same_invoices_in_dunning(desk):
    filters = filters_parse(params=QueryDict("period=90&currency=EUR"))
    recovery = recovery_summary(filters=filters)
    overview = {row["currency_code"]: row for row in dunning_totals_by_currency()}["EUR"]

    assert recovery["in_dunning"] == overview["invoices"] > 0
    assert recovery["in_dunning_amount"] == major_units(overview["amount_due"], "EUR")


def test_ai_impact_and_rollout_give_one_automation_rate_that_counts_waiting_actions(desk):
    now = timezone.now()
    filters = filters_parse(params=QueryDict("period=90"), now=now)
    impact = impact_summary(filters=filters)["actions"]
    _, rows, _, _ = rollout_rows(days=90, now=now)
    by_segment = [row.automation for row in rows if row.automation]
    waiting_in_the_inbox = Action.objects.filter(state="proposed", needs_approval=True).count()

    assert impact.waiting == waiting_in_the_inbox > 0
    assert impact.counted == sum(a.counted for a in by_segment)
    assert impact.automatic == sum(a.automatic for a in by_segment)
    assert impact.automation_rate == 0.0  # everything waits for a person: nothing ran alone


def test_recovery_headlines_agree_with_the_recovery_by_decline_code_table(desk):
    filters = filters_parse(params=QueryDict("period=90&currency=USD"))
    summary = recovery_summary(filters=filters)
    by_code = recovery_by_decline_code(filters=filters)

    assert len(by_code.rows) > 1
    assert sum(by_code.column("failed invoices")) == summary["failed"] > 0
    assert sum(by_code.column("recovered invoices")) == summary["recovered"]
    assert round(sum(by_code.column("recovered revenue")), 2) == summary["recovered_amount"] > 0


def test_what_recoveries_are_credited_to_adds_up_to_the_recovered_headline(desk, client):
    filters = filters_parse(params=QueryDict("period=90&currency=USD"))
    summary = recovery_summary(filters=filters)
    credited = recovery_by_path(filters=filters)

    assert sum(credited.column("recovered invoices")) == summary["recovered"] > 0
    assert round(sum(credited.column("recovered revenue")), 2) == summary["recovered_amount"]
    by_label = {row[0]: row[1] for row in credited.rows}
    assert by_label["SMS"] > 0 and by_label["Email, link clicked"] + by_label["Email, opened"] > 0

    client.force_login(desk.manager)
    page = client.get("/analytics/recovery/?period=90&currency=USD").content.decode()
    cells = re.findall(r'data-figure-name="credited_\d+">([\d,]+)<', page)
    assert len(cells) == len(credited.rows)
    assert sum(int(cell.replace(",", "")) for cell in cells) == summary["recovered"]
    assert "credited to the last thing that happened to the invoice before the payment" in page
