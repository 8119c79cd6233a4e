"""The Forecast page: who may open it, its figures, the live fragment, CSVs, bad filters."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tests.analytics.forecast_data import hard_decline_history, three_open_invoices
from tests.analytics.test_dashboard_pages import figures

pytestmark = pytest.mark.django_db
FORECAST = reverse("analytics:forecast")


@pytest.fixture
def open_invoices():
    hard_decline_history()
    three_open_invoices()


def test_manager_sees_the_expected_recovery_its_interval_and_every_chart(
    client, manager, open_invoices
):
    client.force_login(manager)

    response = client.get(FORECAST)

    body = response.content.decode()
    assert response.status_code == 200
    assert "USD 192.50" in body  # 0.8 * 100 + 0.5 * 200 + 0.25 * 50
    assert "51.71 \u2013 333.29" in body  # the 80% interval
    assert "USD 350.00" in body  # at stake
    assert "took their decline category" in body
    assert set(figures(body)) == {"forecast_by_segment", "forecast_by_category"}
    assert 'id="chart-forecast_vs_actual"' in body  # no past forecasts yet: nothing to draw
    assert "normal approximation" in body


def test_admin_sees_forecast_in_the_navigation(client, admin_user):
    client.force_login(admin_user)

    body = client.get(reverse("home")).content.decode()

    assert f'href="{FORECAST}"' in body
    assert client.get(FORECAST).status_code == 200


def test_agent_cannot_open_the_forecast_nor_its_csv(client, agent, open_invoices):
    client.force_login(agent)

    assert client.get(FORECAST).status_code == 403
    assert client.get(f"{FORECAST}?format=csv&chart=forecast_by_segment").status_code == 403
    assert f'href="{FORECAST}"' not in client.get(reverse("home")).content.decode()


def test_a_breakdown_csv_has_the_numbers_the_chart_draws(client, manager, open_invoices):
    client.force_login(manager)
    figure = figures(client.get(FORECAST).content.decode())["forecast_by_category"]

    response = client.get(f"{FORECAST}?format=csv&chart=forecast_by_category")

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["decline category", "open invoices", "at stake", "expected"]
    assert [r[0] for r in rows[1:]] == figure["data"][1]["x"] == ["Soft decline", "Hard decline"]
    assert [float(r[3]) for r in rows[1:]] == figure["data"][1]["y"] == [180.0, 12.5]
    assert rows[2][-1] == "1"  # the hard decline took the fallback rate


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("period=7", "Period: Select a valid choice"),
        ("currency=dollars", "Currency"),
        ("plan=pro-monthly", "Unknown filter: plan"),
        ("format=csv&chart=nope", "no chart named 'nope'"),
        ("format=pdf", "format is html or csv"),
    ],
)
def test_bad_filters_are_refused_with_the_reason(client, manager, query, reason):
    client.force_login(manager)

    response = client.get(f"{FORECAST}?{query}")

    assert response.status_code == 400
    assert reason in response.content.decode()


def test_the_live_fragment_refreshes_itself_and_varies_on_htmx(client, manager, open_invoices):
    client.force_login(manager)

    fragment = client.get(f"{FORECAST}?period=30", HTTP_HX_REQUEST="true")

    assert "HX-Request" in fragment["Vary"]
    body = fragment.content.decode()
    assert "<html" not in body
    assert 'hx-trigger="every 30s"' in body
    assert "figure-forecast_by_segment" in body


def test_every_currency_shows_in_its_own_units_and_one_total_at_the_saved_rates(
    client, manager, admin_user, open_invoices
):
    from dunning.governance.config_versions import config_update
    from dunning.governance.exchange_rates import EXCHANGE_RATES
    from tests.analytics.forecast_data import days_ago, decide
    from tests.analytics.mirror import failed_invoice

    yen = failed_invoice(
        9, failed_at=days_ago(1), amount=22_000, currency="JPY", category="soft_decline"
    )
    decide(yen, score=0.5)
    config_update(
        kind=EXCHANGE_RATES,
        data={"reporting_currency": "USD", "rates": {"JPY": "0.0065"}},
        user=admin_user,
        note="month end",
    )
    client.force_login(manager)

    body = client.get(FORECAST).content.decode()

    every = body[body.index("Every currency") :]
    assert ">22,000<" in every and ">11,000<" in every  # yen at stake and expected: no decimals
    # 192.50 USD + 11,000 JPY x 0.0065 = 192.50 + 71.50
    assert "USD 264.00</strong> expected" in every and "exchange rates v1" in every
