"""The AI impact page: who may open it, the period filter, the live fragment, CSVs."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from tests.analytics.test_dashboard_pages import figures
from tests.analytics.test_shadow import shadow_decision

pytestmark = pytest.mark.django_db
URL = reverse("analytics:impact")


@pytest.fixture
def shadowed():
    shadow_decision(
        1,
        paid_after=timedelta(days=3),
        score=0.8,
        retry_in=timedelta(days=1),
        chargebee_retry_in=timedelta(days=1, hours=2),
    )
    shadow_decision(2, score=0.4, retry_in=timedelta(days=3), chargebee_retry_in=timedelta(days=2))


def test_manager_sees_the_shadow_comparison_and_every_chart(client, manager, shadowed):
    client.force_login(manager)

    response = client.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert set(figures(body)) == {"shadow", "slot_agreement", "retries", "calibration"}
    # No actions outside shadow mode, no resolved cases: those charts say so.
    assert 'id="chart-automation"' in body and "Nothing to show" in body
    assert "observational estimate" in body
    assert 'data-figure-name="shadow_observed">50.0%' in body
    assert "inv_1" in body and "<script>" not in body
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_agent_is_refused_the_impact_page(client, agent):
    client.force_login(agent)

    assert client.get(URL).status_code == 403


def test_admin_reaches_the_impact_page_from_the_analytics_menu(client, admin_user):
    client.force_login(admin_user)

    body = client.get(reverse("home")).content.decode()

    assert f'href="{URL}"' in body


@pytest.mark.parametrize("query", ["period=7", "from=2026-13-01", "plan=pro-monthly", "junk=1"])
def test_manager_gets_a_reason_for_a_filter_that_makes_no_sense(client, manager, query):
    client.force_login(manager)

    response = client.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_htmx_refresh_gets_only_the_fragment(client, manager, shadowed):
    client.force_login(manager)

    response = client.get(URL, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.startswith("{% load") is False and '<div id="dashboard"' in body[:200]
    assert "<html" not in body


def test_each_chart_has_a_csv_with_the_numbers_it_draws(client, manager, shadowed):
    client.force_login(manager)

    response = client.get(URL, {"format": "csv", "chart": "shadow"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response.status_code == 200
    assert rows[0][:3] == ["segment", "shadow decisions", "invoices"]
    assert rows[1][:3] == ["self-serve", "2", "2"]
    assert rows[-1][0] == "all segments"
    assert client.get(URL, {"format": "csv", "chart": "nope"}).status_code == 400
