"""Past forecasts: taken once a day, computed from history, judged against what happened."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from analytics.forecast_history import (
    forecast_backfill,
    forecast_snapshot_take,
    forecast_snapshots_settle,
)
from analytics.jobs import forecast_snapshot_job
from analytics.models import ForecastSnapshot
from tests.analytics.forecast_data import hard_decline_history, three_open_invoices
from tests.analytics.mirror import days_ago, failed_invoice
from tests.analytics.test_dashboard_pages import figures

pytestmark = pytest.mark.django_db
FORECAST = reverse("analytics:forecast")


@pytest.fixture
def a_past_month():
    """38 days ago two soft declines were open (failed 40 days ago): USD 100 was recovered 3
    days later, USD 60 never was. The hard declines of 90 days ago give the rates then."""
    hard_decline_history(days=90)
    failed_invoice(1, failed_at=days_ago(40), amount=10_000, paid_after=timedelta(days=3))
    failed_invoice(2, failed_at=days_ago(40), amount=6_000, ended="not_paid")


def _snapshot_of(days: int) -> ForecastSnapshot:
    return ForecastSnapshot.objects.get(day=timezone.now().date() - timedelta(days=days))


def test_a_past_forecast_is_compared_with_what_its_invoices_recovered(a_past_month):
    failed_invoice(3, failed_at=days_ago(12), amount=5_000)  # still open
    forecast_backfill(days=40)  # a day whose horizon has passed is judged at once

    snapshot = _snapshot_of(38)
    assert snapshot.source == "backfill" and snapshot.invoices == 2
    assert sorted(snapshot.invoice_ids) == ["inv_1", "inv_2"]
    # Both about 1.5 days old then: no soft-decline history, so every category's rate at
    # that age: 1 of the 4 hard declines recovered -> 25%.
    assert snapshot.expected == pytest.approx(0.25 * 16_000)
    assert snapshot.fallback_invoices == 2
    assert snapshot.actual == 10_000 and snapshot.actual_invoices == 1
    assert snapshot.low <= snapshot.actual <= snapshot.high
    assert _snapshot_of(10).actual is None  # its 28-day horizon has not passed yet


def test_backfill_and_settling_twice_change_nothing(a_past_month):
    made = forecast_backfill(days=40)
    settled = forecast_snapshots_settle()
    before = list(ForecastSnapshot.objects.values_list("day", "expected", "actual"))

    assert forecast_backfill(days=40) == 0
    forecast_snapshots_settle()

    assert made > 0 and settled > 0
    assert list(ForecastSnapshot.objects.values_list("day", "expected", "actual")) == before


def test_the_daily_job_keeps_todays_live_forecast_once():
    hard_decline_history()
    three_open_invoices()

    first = forecast_snapshot_job()
    again = forecast_snapshot_job()

    assert first["taken"] == 1 and again["taken"] == 0
    today = ForecastSnapshot.objects.get()
    assert (today.source, today.currency, today.invoices) == ("live", "USD", 3)
    assert today.expected == pytest.approx(19_250)
    assert today.fallback_invoices == 1
    assert forecast_snapshot_take() == 0


def test_manager_sees_past_forecasts_beside_the_actuals_and_their_coverage(
    client, manager, a_past_month
):
    call_command("forecast_backfill", days=40, stdout=io.StringIO())
    client.force_login(manager)

    body = client.get(FORECAST).content.decode()
    response = client.get(f"{FORECAST}?format=csv&chart=forecast_vs_actual")

    band = figures(body)["forecast_vs_actual"]
    actual = next(t for t in band["data"] if t.get("name") == "actual, within the horizon")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["day", "source", "open invoices", "expected"]
    day38 = (timezone.now().date() - timedelta(days=38)).isoformat()
    row = next(r for r in rows if r[0] == day38)
    assert (row[3], row[8], row[9]) == ("40.0", "100.0", "yes")
    assert actual["y"][actual["x"].index(day38)] == 100.0
    settled = sum(1 for r in rows[1:] if r[8])
    assert settled == ForecastSnapshot.objects.filter(actual__isnull=False).count() > 0
    assert f"of {settled} settled forecasts had the actual inside the 80% interval" in body
