"""Phased rollout: the evidence per segment, the recommendation, and the audited switch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from analytics.automation import AutomationFigures
from analytics.rollout import rollout_recommendation
from analytics.shadow import ShadowSegment
from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.models import AuditEntry, GuardrailPolicy
from tests.analytics.test_shadow import shadow_decision
from tests.dunning.decided import decided_invoice

URL = reverse("dunning:rollout")
CONFIRMED = {"reason": "the shadow comparison is good enough", "confirm": "yes"}


def shadow_figures(*, settled=250, predicted=46.0, observed=44.0) -> ShadowSegment:
    return ShadowSegment(
        segment="growth",
        decisions=settled,
        invoices=settled,
        settled=settled,
        awaiting=0,
        recovered=int(settled * observed / 100),
        observed_rate=observed,
        scored=settled,
        predicted_rate=predicted,
        observed_rate_scored=observed,
        compared=0,
        near=0,
        near_rate=None,
        far_rate=None,
        chargebee_attempts=0,
        dunwell_retries=0,
        would_escalate=0,
    )


def approvals(*, approved, edited=0, rejected=0) -> AutomationFigures:
    return AutomationFigures(
        segment="growth",
        automatic=0,
        approved=approved,
        edited=edited,
        rejected=rejected,
        waiting=0,
    )


# --- the recommendation (pure) ----------------------------------------------------------
def test_shadow_segment_with_enough_calibrated_decisions_is_ready_for_approve():
    advice = rollout_recommendation(mode="shadow", shadow=shadow_figures(), approvals=None)

    assert advice.ready and advice.to_mode == "approve"
    assert advice.text == (
        "ready for approve: 250 settled shadow decisions, predicted recovery 46% within 5 pts "
        "of observed 44%"
    )


@pytest.mark.parametrize(
    ("figures", "text"),
    [
        (None, "stay in shadow: 0 settled shadow decisions < 200"),
        (shadow_figures(settled=120), "stay in shadow: 120 settled shadow decisions < 200"),
        (
            shadow_figures(predicted=60.0),
            "stay in shadow: predicted recovery 60% vs observed 44%, 16 pts apart > 5",
        ),
    ],
)
def test_shadow_segment_stays_without_enough_or_good_enough_evidence(figures, text):
    advice = rollout_recommendation(mode="shadow", shadow=figures, approvals=None)

    assert not advice.ready and advice.text == text


def test_approve_segment_moves_to_auto_only_when_people_agree():
    agree = rollout_recommendation(
        mode="approve", shadow=None, approvals=approvals(approved=95, edited=3, rejected=2)
    )
    disagree = rollout_recommendation(
        mode="approve", shadow=None, approvals=approvals(approved=71, edited=19, rejected=10)
    )
    too_few = rollout_recommendation(mode="approve", shadow=None, approvals=approvals(approved=9))

    assert agree.ready and agree.to_mode == "auto"
    assert agree.text == "ready for auto: agreement 95% ≥ 90% over 100 reviewed"
    assert disagree.text == "stay in approve: agreement 71% < 90%" and not disagree.ready
    assert too_few.text == "stay in approve: 9 actions reviewed by a person < 100"


# --- the page -------------------------------------------------------------------------
@pytest.mark.django_db
def test_manager_reads_modes_and_evidence_but_gets_no_switch(client, manager):
    guardrails_update(changes={"segment_modes": {"growth": "approve"}}, user=None)
    shadow_decision(1, paid_after=timedelta(days=2), score=0.7)
    client.force_login(manager)

    response = client.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-segment="growth"' in body and 'data-mode="approve"' in body
    assert "1 settled of 1 invoice" in body  # self-serve's shadow evidence
    assert "stay in shadow: 1 settled shadow decisions &lt; 200" in body
    assert "rollout-switch" not in body and "only an admin can switch" in body


@pytest.mark.django_db
def test_agent_is_refused_the_rollout_page(client, agent):
    client.force_login(agent)

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"segment": "growth", "mode": "approve"}).status_code == 403


@pytest.mark.django_db
def test_manager_cannot_switch_a_mode(client, manager):
    before = guardrails_active()
    client.force_login(manager)

    response = client.post(
        URL, {"segment": "growth", "mode": "approve", "based_on": before.version}
    )

    assert response.status_code == 403
    assert guardrails_active().version == before.version


@pytest.mark.django_db
def test_admin_moves_a_segment_one_step_as_a_new_audited_version_and_the_next_decision_uses_it(
    client, admin_user
):
    before = guardrails_active()
    assert before.mode_for("self_serve") == "shadow"
    client.force_login(admin_user)

    response = client.post(
        URL, {"segment": "self_serve", "mode": "approve", "based_on": before.version, **CONFIRMED}
    )

    assert response.status_code == 302
    after = guardrails_active()
    assert after.version == before.version + 1 and after.created_by == admin_user
    assert after.mode_for("self_serve") == "approve"
    assert after.note.startswith("Rollout: self_serve from shadow to approve.")
    assert CONFIRMED["reason"] in after.note
    entry = AuditEntry.objects.get(action="guardrails.changed", object_id=str(after.pk))
    assert entry.actor == admin_user
    assert entry.data["diff"]["segment_modes"]["to"] == {"self_serve": "approve"}
    decision = decided_invoice(1)
    assert (decision.segment, decision.mode, decision.guardrail_version) == (
        "self_serve",
        "approve",
        after.version,
    )


@pytest.mark.django_db
def test_admin_switching_from_a_stale_page_gets_409_and_nothing_changes(client, admin_user):
    shown = guardrails_active()
    guardrails_update(changes={"review_threshold": 0.3}, user=None, note="someone else")
    client.force_login(admin_user)

    response = client.post(
        URL, {"segment": "growth", "mode": "approve", "based_on": shown.version, **CONFIRMED}
    )

    assert response.status_code == 409
    assert "the system saved guardrails version" in response.content.decode()
    assert guardrails_active().mode_for("growth") == "shadow"
    assert GuardrailPolicy.objects.count() == 2


@pytest.mark.django_db
def test_admin_switching_must_say_why_and_confirm(client, admin_user):
    version = guardrails_active().version
    client.force_login(admin_user)

    refused = client.post(URL, {"segment": "growth", "mode": "auto", "based_on": version})
    unconfirmed = client.post(
        URL,
        {
            "segment": "growth",
            "mode": "auto",
            "based_on": version,
            "reason": "pilot customers agreed",
        },
    )
    assert guardrails_active().version == version
    allowed = client.post(
        URL,
        {
            "segment": "growth",
            "mode": "auto",
            "based_on": version,
            "reason": "pilot customers agreed to automatic retries",
            "confirm": "yes",
        },
    )

    assert refused.status_code == 400 and "say why" in refused.content.decode()
    assert unconfirmed.status_code == 400 and "tick the box" in unconfirmed.content.decode()
    assert allowed.status_code == 302
    policy = guardrails_active()
    assert policy.mode_for("growth") == "auto"
    assert policy.note.endswith("pilot customers agreed to automatic retries")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "post",
    [
        {"segment": "vip", "mode": "approve"},
        {"segment": "growth", "mode": "turbo"},
        {"segment": "growth", "mode": "shadow"},  # already there
        {"segment": "growth"},
    ],
)
def test_admin_gets_a_reason_for_a_switch_that_makes_no_sense(client, admin_user, post):
    version = guardrails_active().version
    client.force_login(admin_user)

    response = client.post(URL, {**post, "based_on": version, **CONFIRMED})

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert guardrails_active().version == version


@pytest.mark.django_db
def test_bad_period_is_refused_with_a_reason(client, manager):
    client.force_login(manager)

    response = client.get(URL, {"period": "7"})

    assert response.status_code == 400 and "period" in response.content.decode()


# --- who may do what, asked directly ----------------------------------------------------
IMPACT = reverse("analytics:impact")
MATRIX = [
    # (request, agent, manager, admin, anonymous)
    (("get", URL, {}), 403, 200, 200, "login"),
    (("post", URL, {"segment": "growth", "mode": "approve", **CONFIRMED}), 403, 403, 302, "login"),
    (("get", IMPACT, {}), 403, 200, 200, "login"),
    (("get", IMPACT, {"format": "csv", "chart": "automation"}), 403, 200, 200, "login"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: f"{row[0][0]} {row[0][1]} {row[0][2]}")
@pytest.mark.parametrize("persona", ["agent", "manager", "admin_user", "anonymous"])
def test_permission_matrix_for_the_rollout_and_impact_pages(client, request, row, persona):
    (method, url, data), *expected = row
    expected = dict(zip(["agent", "manager", "admin_user", "anonymous"], expected, strict=True))
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    if method == "post":
        data = {**data, "based_on": guardrails_active().version}

    response = getattr(client, method)(url, data)

    outcome = response.status_code
    if outcome == 302 and response["Location"].startswith("/login/"):
        outcome = "login"
    assert outcome == expected[persona]


def test_admin_form_for_a_segment_already_in_auto_offers_one_step_back_not_shadow(
    client, admin_user
):
    guardrails_update(changes={"segment_modes": {"self_serve": "auto"}}, user=None)
    client.force_login(admin_user)

    body = client.get(URL).content.decode()

    select = body.split('aria-label="New mode for self_serve"')[1].split("</select>")[0]
    assert '<option value="approve" selected>' in select
    assert '<option value="shadow">' in select
