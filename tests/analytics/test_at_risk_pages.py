"""The at-risk page and the campaign page: who may see them, filters, launching."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.at_risk.campaigns import campaign_launch
from analytics.models import CampaignMember, PreDunningCampaign
from dunning.decisions.policy_settings.guardrails import guardrails_update
from tests.analytics.at_risk_data import month_before, renewing

pytestmark = pytest.mark.django_db
URL = "/analytics/at-risk/"
NEW = "/analytics/at-risk/campaigns/new/"


@pytest.fixture
def customers():
    now = timezone.now()
    renewing("expiring", expiry=month_before(now + timedelta(days=10)), now=now, first_name="Eve")
    renewing("failing", failures=2, now=now, first_name="Fay")
    renewing("calm", now=now, first_name="Cal")


def test_agent_cannot_see_the_at_risk_page_or_launch_a_campaign(client, agent, manager, customers):
    client.force_login(agent)

    assert client.get(URL).status_code == 403
    assert client.post(NEW, {"name": "x", "customer": ["cus_rexpiring"]}).status_code == 403
    campaign = PreDunningCampaign.objects.create(
        name="c", salt="s", renewing_within_days=30, score_source="rules", created_by=manager
    )
    assert client.get(f"/analytics/at-risk/campaigns/{campaign.pk}/").status_code == 403
    assert CampaignMember.objects.count() == 0


def test_manager_sees_who_is_at_risk_and_why(client, manager, customers):
    client.force_login(manager)

    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200 and response["Vary"].count("HX-Request") == 1
    assert page.index("Eve") < page.index("Fay") < page.index("Cal")
    assert "expires" in page and "before the renewal on" in page
    assert "2 failed payments in the last year" in page
    assert "Launch campaign" in page


def test_filters_narrow_the_list_and_nonsense_gets_a_400_with_the_reason(
    client, manager, customers
):
    client.force_login(manager)

    narrowed = client.get(URL, {"min_score": "50"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Eve" in narrowed and "Fay" not in narrowed and "<html" not in narrowed

    response = client.get(URL, {"within": "13"})
    assert response.status_code == 400
    assert "renewing within: one of 7, 14, 30, 60 days" in response.content.decode()


def test_manager_launches_for_everyone_above_a_score_and_sees_the_campaign(
    client, manager, admin_user, customers
):
    guardrails_update(changes={"default_mode": "shadow"}, user=admin_user)
    client.force_login(manager)

    response = client.post(
        NEW, {"name": "Before renewal", "choose": "all", "within": "30", "min_score": "20"}
    )

    campaign = PreDunningCampaign.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/campaigns/{campaign.pk}/")
    members = set(campaign.members.values_list("customer_cb_id", flat=True))
    assert members == {"cus_rexpiring", "cus_rfailing"}
    page = client.get(response.url).content.decode()
    assert "Before renewal" in page and "Failed charges avoided" in page
    assert "2 still to come" in page


def test_launching_with_nobody_picked_is_refused_with_the_reason(client, manager, customers):
    client.force_login(manager)

    response = client.post(NEW, {"name": "Nobody", "choose": "picked", "within": "30"})

    assert response.status_code == 400
    assert "no customer was picked" in response.content.decode()
    assert not PreDunningCampaign.objects.exists()


def test_in_approve_mode_the_requests_wait_in_the_approval_inbox(
    client, manager, admin_user, customers
):
    guardrails_update(changes={"default_mode": "approve", "segment_modes": {}}, user=admin_user)
    campaign_launch(
        user=manager, name="Approve me", within_days=30, min_score=0.2, holdout_share=0.0
    )
    client.force_login(manager)

    inbox = client.get("/collections/approvals/")

    assert inbox.status_code == 200
    assert inbox.content.decode().count("Campaign \u201cApprove me\u201d") == 2
    states = CampaignMember.objects.values_list("action__state", flat=True)
    assert sorted(states) == ["proposed", "proposed"]


def test_the_list_pages_by_25_riskiest_first(client, manager):
    for n in range(27):
        renewing(n, failures=n % 3, first_name=f"P{n:02d}")
    client.force_login(manager)

    second = client.get(URL, {"page": "2"}).content.decode()

    assert "Page 2 of 2 · 27 customers" in second
    assert second.count('name="customer"') == 2  # the two least risky
    rows = second.split("<tbody>")[1].split("</tbody>")[0]
    assert "failed payment" not in rows  # riskier customers were on page 1
