"""The recovery and cohort pages: who may open them, filters, the live fragment, CSVs."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.analytics.mirror import days_ago, failed_invoice

pytestmark = pytest.mark.django_db
RECOVERY = reverse("analytics:recovery")
COHORTS = reverse("analytics:cohorts")


@pytest.fixture
def failures():
    failed_invoice(1, failed_at=days_ago(20), amount=12_345, paid_after=timedelta(days=2))
    failed_invoice(2, failed_at=days_ago(15), amount=5_000, gateway="adyen")
    failed_invoice(
        3, failed_at=days_ago(50), amount=7_000, currency="EUR", paid_after=timedelta(hours=2)
    )


def figures(body: str) -> dict[str, dict]:
    blocks = re.findall(
        r'<script id="figure-([\w_]+)" type="application/json">(.*?)</script>', body
    )
    return {name: json.loads(data) for name, data in blocks}


def test_manager_sees_the_recovery_figures_and_every_chart(client, manager, failures):
    client.force_login(manager)

    response = client.get(RECOVERY)

    body = response.content.decode()
    assert response.status_code == 200
    assert "USD 173.45" in body  # failed revenue: 123.45 + 50.00, in USD only
    assert "USD 123.45" in body  # recovered
    assert "71.2% of failed revenue" in body
    assert set(figures(body)) == {
        "over_time",
        "by_decline_category",
        "by_decline_code",
        "by_gateway",
        "by_path",
        "by_plan",
        "by_country",
        "time_to_recovery",
    }
    assert 'id="chart-churn"' in body  # no cancellations: the chart says there is nothing
    assert "js/vendor/plotly-scatter-bar-heatmap.min.js" in body
    assert "<script>" not in body  # no inline script
    assert "A failed invoice" not in body or "first</em> failure" in body


def _offered(body: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', body, re.S)
    assert select, f"no {name} filter"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def test_the_segment_filters_offer_each_value_in_use_once_in_order(client, manager):
    for n, (plan, country, gateway) in enumerate(
        [
            ("pro-monthly", "DE", "stripe"),
            ("basic-yearly", "US", "adyen"),
            ("pro-monthly", "DE", "stripe"),
            ("team-monthly", "AT", "braintree"),
            ("basic-yearly", "US", "stripe"),
        ]
    ):
        failed_invoice(n, failed_at=days_ago(5), plan=plan, country=country, gateway=gateway)
    failed_invoice(9, failed_at=days_ago(5), plan="", country="", gateway="")
    client.force_login(manager)

    body = client.get(RECOVERY).content.decode()

    assert _offered(body, "plan") == ["", "basic-yearly", "pro-monthly", "team-monthly"]
    assert _offered(body, "country") == ["", "AT", "DE", "US"]
    assert _offered(body, "gateway") == ["", "adyen", "braintree", "stripe"]


def test_admin_sees_the_dashboards_and_they_are_in_the_navigation(client, admin_user):
    client.force_login(admin_user)

    body = client.get(reverse("home")).content.decode()

    assert f'href="{RECOVERY}"' in body and f'href="{COHORTS}"' in body
    assert client.get(RECOVERY).status_code == 200
    assert client.get(COHORTS).status_code == 200


def test_agent_cannot_open_the_dashboards_and_is_not_shown_them(client, agent):
    client.force_login(agent)

    assert client.get(RECOVERY).status_code == 403
    assert client.get(COHORTS).status_code == 403
    assert client.get(f"{RECOVERY}?format=csv&chart=by_gateway").status_code == 403
    assert f'href="{RECOVERY}"' not in client.get(reverse("home")).content.decode()


def test_dashboards_need_a_login(client):
    assert client.get(RECOVERY).status_code == 302


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("period=7", "Period: Select a valid choice"),
        ("period=custom&from=2026-13-01", "From: Enter a valid date"),
        ("period=custom&from=2026-05-01&to=2026-04-01", "on or before the To date"),
        ("period=custom", "needs a From date"),
        ("currency=dollars", "Currency"),
        ("colour=blue", "Unknown filter: colour"),
        ("format=csv&chart=nope", "no chart named 'nope'"),
        ("format=pdf", "format is html or csv"),
    ],
)
def test_bad_filters_are_refused_with_the_reason(client, manager, query, reason):
    client.force_login(manager)

    response = client.get(f"{RECOVERY}?{query}")

    assert response.status_code == 400
    assert reason in response.content.decode()


def test_bad_cohort_grouping_is_refused(client, manager):
    client.force_login(manager)

    response = client.get(f"{COHORTS}?by=planet")

    assert response.status_code == 400
    assert "failure month or by signup month" in response.content.decode()


def test_the_live_fragment_refreshes_itself_and_varies_on_htmx(client, manager, failures):
    client.force_login(manager)

    page = client.get(f"{RECOVERY}?period=30")
    fragment = client.get(f"{RECOVERY}?period=30", HTTP_HX_REQUEST="true")

    assert "HX-Request" in page["Vary"] and "HX-Request" in fragment["Vary"]
    body = fragment.content.decode()
    assert "<html" not in body
    assert 'hx-trigger="every 30s"' in body
    assert 'hx-get="/analytics/recovery/?period=30"' in body
    assert "figure-by_gateway" in body


def test_a_charts_csv_has_the_numbers_the_chart_draws(client, manager, failures):
    client.force_login(manager)
    figure = figures(client.get(RECOVERY).content.decode())["by_gateway"]

    response = client.get(f"{RECOVERY}?format=csv&chart=by_gateway")

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "gateway",
        "failed invoices",
        "failed revenue",
        "recovered revenue",
        "rate %",
    ]
    assert [r[0] for r in rows[1:]] == figure["data"][0]["x"] == ["Stripe", "Adyen"]
    assert [float(r[2]) for r in rows[1:]] == figure["data"][0]["y"] == [123.45, 50.0]
    assert [float(r[3]) for r in rows[1:]] == figure["data"][1]["y"] == [123.45, 0]


def test_the_csv_link_keeps_the_currency_shown(client, manager, failures):
    client.force_login(manager)

    body = client.get(f"{RECOVERY}?currency=EUR").content.decode()
    response = client.get(f"{RECOVERY}?period=90&currency=EUR&format=csv&chart=by_gateway")

    assert "format=csv&amp;chart=by_gateway" in body and "currency=EUR" in body
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1] == ["Stripe", "1", "70.0", "70.0", "100.0"]


def test_cohort_page_shows_the_heatmap_curves_and_a_csv(client, manager, failures):
    client.force_login(manager)

    body = client.get(f"{COHORTS}?by=failure").content.decode()
    response = client.get(f"{COHORTS}?by=failure&format=csv&chart=cohorts_by_failure")

    charts = figures(body)
    assert charts["cohorts_by_failure"]["data"][0]["type"] == "heatmap"
    assert charts["cohorts_by_failure_curves"]["data"][0]["type"] == "scatter"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["failure month", "failed invoices", "day 0"]
    assert sum(int(r[1]) for r in rows[1:]) == 3  # every currency: rates, not money


def test_only_chart_pages_load_plotly_and_only_the_bundle_of_its_three_trace_types(client, manager):
    client.force_login(manager)

    recovery = client.get(reverse("analytics:recovery")).content.decode()
    queue = client.get("/collections/").content.decode()

    assert "js/vendor/plotly-scatter-bar-heatmap.min.js" in recovery
    assert "plotly.min.js" not in recovery
    assert "plotly" not in queue.lower()


def test_collected_static_files_are_hashed_compressed_and_cached_for_a_year(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", interactive=False, verbosity=0)
    url = staticfiles_storage.url("js/vendor/plotly-scatter-bar-heatmap.min.js")
    assert re.search(r"plotly-scatter-bar-heatmap\.min\.[0-9a-f]{12}\.js$", url)

    for encoding in ("br", "gzip"):
        response = Client().get(url, HTTP_ACCEPT_ENCODING=encoding)
        body = b"".join(response.streaming_content)
        assert response.status_code == 200 and response["Content-Encoding"] == encoding
        assert len(body) < 450_000  # of 1.2 MB
        assert "max-age=315360000" in response["Cache-Control"]
        assert "immutable" in response["Cache-Control"]
