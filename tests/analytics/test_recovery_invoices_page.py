"""From a figure on the recovery dashboard to the invoices behind it, as a manager and as an
agent of one team."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from collections_desk.models import Case
from collections_desk.teams import team_create, team_member_add
from tests.analytics.mirror import days_ago, failed_invoice, paid_invoice
from tests.analytics.test_dashboard_pages import figures
from tests.pages.visible_text import visible_text

pytestmark = pytest.mark.django_db
RECOVERY = reverse("analytics:recovery")
INVOICES = reverse("analytics:recovery_invoices")


@pytest.fixture
def failures():
    failed_invoice(
        1, failed_at=days_ago(5), amount=10_000, decline_code="51", paid_after=timedelta(days=2)
    )
    failed_invoice(2, failed_at=days_ago(6), amount=5_000, decline_code="51")
    failed_invoice(3, failed_at=days_ago(7), amount=3_000, decline_code="54", gateway="adyen")
    for n in range(4, 10):
        paid_invoice(n, paid_at=days_ago(3))


def test_manager_reads_the_failure_rate_with_its_denominator_and_the_previous_period(
    client, manager, failures
):
    failed_invoice(20, failed_at=days_ago(100), amount=4_000)  # the previous 90 days
    client.force_login(manager)

    text = visible_text(client.get(RECOVERY).content.decode())

    assert "33.3% (3 of 9 first attempts)" in text
    assert "Before: USD 40.00 · +350.0%" in text  # failed revenue 180.00 against 40.00
    assert "Insufficient funds (51)" in text and "Expired card (54)" in text


def test_manager_sees_who_owes_most_with_a_link_to_their_case(client, manager, failures):
    case = Case.objects.create(
        customer_id="cus_2", reason="owes", opened_at=days_ago(4), sla_due_at=days_ago(3)
    )
    client.force_login(manager)

    body = client.get(RECOVERY).content.decode()

    owing = body[body.index('id="top-customers"') :]
    assert reverse("collections_desk:case_detail", args=[case.pk]) in owing
    assert re.search(r"cus_2.*USD 50\.00.*cus_3.*USD 30\.00", visible_text(owing))
    assert "cus_1" not in visible_text(owing).split("Unpaid amounts")[0]  # recovered: not due


def test_a_click_on_a_decline_code_bar_opens_the_invoices_behind_it(client, manager, failures):
    client.force_login(manager)
    figure = figures(client.get(RECOVERY).content.decode())["by_decline_code"]
    failed_bar, recovered_bar = figure["data"]
    link = failed_bar["customdata"][failed_bar["x"].index("Insufficient funds (51)")]

    response = client.get(link)

    text = visible_text(response.content.decode())
    assert response.status_code == 200
    assert "Decline code: Insufficient funds (51)" in text
    assert set(re.findall(r"inv_\d+", text)) == {"inv_1", "inv_2"}
    assert "Recovered" in text and "Not recovered" in text and "USD 50.00" in text
    recovered = recovered_bar["customdata"][recovered_bar["x"].index("Insufficient funds (51)")]
    assert set(re.findall(r"inv_\d+", visible_text(client.get(recovered).content.decode()))) == {
        "inv_1"
    }


def test_a_click_on_a_day_of_the_chart_over_time_opens_that_days_invoices(
    client, manager, failures
):
    client.force_login(manager)
    figure = figures(client.get(f"{RECOVERY}?period=30").content.decode())["over_time"]
    day_of_inv_3 = days_ago(7).date().isoformat()
    link = figure["data"][0]["customdata"][figure["data"][0]["x"].index(day_of_inv_3)]

    text = visible_text(client.get(link).content.decode())

    assert set(re.findall(r"inv_\d+", text)) == {"inv_3"}


def test_a_click_on_a_time_to_recovery_bar_opens_the_invoices_paid_in_that_band(
    client, manager, failures
):
    failed_invoice(10, failed_at=days_ago(20), paid_after=timedelta(days=3, hours=2))
    client.force_login(manager)
    bars = figures(client.get(RECOVERY).content.decode())["time_to_recovery"]["data"][0]

    two_days = client.get(bars["customdata"][bars["x"].index("2")]).content.decode()
    three_to_four = client.get(bars["customdata"][bars["x"].index("3-4")]).content.decode()

    assert set(re.findall(r"inv_\d+", visible_text(two_days))) == {"inv_1"}
    assert set(re.findall(r"inv_\d+", visible_text(three_to_four))) == {"inv_10"}
    assert "Days to recovery: 3-4" in visible_text(three_to_four)


def test_a_click_on_a_recovery_path_opens_the_invoices_recovered_that_way(
    client, manager, failures
):
    failed_invoice(10, failed_at=days_ago(20), paid_after=timedelta(days=1), new_card=True)
    client.force_login(manager)
    bars = figures(client.get(RECOVERY).content.decode())["by_path"]["data"][0]

    text = visible_text(
        client.get(
            bars["customdata"][bars["x"].index("Customer's own new payment method")]
        ).content.decode()
    )

    assert set(re.findall(r"inv_\d+", text)) == {"inv_10"}
    assert "Path: Customer's own new payment method" in text


def test_a_long_list_comes_in_pages(client, manager):
    for n in range(1, 56):
        failed_invoice(n, failed_at=days_ago(1 + n / 10))
    client.force_login(manager)

    first = visible_text(client.get(INVOICES).content.decode())
    second = visible_text(client.get(f"{INVOICES}?page=2").content.decode())

    assert "Page 1 of 2 · 55 failed invoices" in first
    assert len(re.findall(r"inv_\d+", first)) == 50
    assert set(re.findall(r"inv_\d+", second)) == {f"inv_{n}" for n in range(51, 56)}


def test_agent_sees_only_the_invoices_of_customers_their_teams_work(client, agent, failures):
    ours, theirs = team_create(name="Ours"), team_create(name="Theirs")
    team_member_add(team=ours, user=agent)
    for customer, team in (("cus_1", theirs), ("cus_2", ours)):
        Case.objects.create(
            customer_id=customer,
            team=team,
            reason="owes",
            opened_at=days_ago(4),
            sla_due_at=days_ago(3),
        )
    client.force_login(agent)

    text = visible_text(client.get(f"{INVOICES}?by=decline_code&value=51").content.decode())

    assert set(re.findall(r"inv_\d+", text)) == {"inv_2"}


def test_the_invoices_behind_a_figure_come_as_csv_with_labels(client, manager, failures):
    client.force_login(manager)

    response = client.get(f"{INVOICES}?by=gateway&value=adyen&format=csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["invoice"], r["decline code"], r["gateway"]) for r in rows] == [
        ("inv_3", "Expired card (54)", "Adyen")
    ]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("by=colour&value=red", "By: one of"),
        ("bucket=yesterday", "Bucket: a date"),
        ("outcome=maybe", "Outcome: recovered"),
        ("days=99", "Days: one of"),
        ("path=by+carrier+pigeon", "Path: one of"),
        ("value=51", "A value needs a by"),
        ("bucket=2026-13-01", "Bucket: a date"),
        ("format=xml", "format is html or csv"),
        ("colour=red", "Unknown filter: colour"),
    ],
)
def test_a_link_that_names_no_bucket_is_refused_with_the_reason(client, manager, query, reason):
    client.force_login(manager)

    response = client.get(f"{INVOICES}?{query}")

    assert response.status_code == 400 and reason in response.content.decode()
