"""The guardrails page: admins edit (a new audited version each time), managers read."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.models import AuditEntry, GuardrailPolicy

pytestmark = pytest.mark.django_db

CONFIRMED = {"reason": "the old values worked better", "confirm": "yes"}

URL = reverse("dunning:guardrails")


def form_values(**overrides) -> dict:
    """What the page's form posts for the active version, with ``overrides``."""
    policy = guardrails_active()
    values = {
        "mode_self_serve": policy.segment_modes.get("self_serve", ""),
        "mode_growth": policy.segment_modes.get("growth", ""),
        "mode_enterprise": policy.segment_modes.get("enterprise", ""),
        "default_mode": policy.default_mode,
        "review_threshold": f"{policy.review_threshold * 100:g}",
        "review_amount": f"{policy.review_amount / 100:.2f}",
        "review_ltv": f"{policy.review_ltv / 100:.2f}",
        "contacts_per_week": policy.contacts_per_week,
        "confidence_floor": f"{policy.confidence_floor * 100:g}",
        "max_retries": policy.max_retries,
        "dunning_window_days": policy.dunning_window_days,
        "exploration_share": f"{policy.exploration_share * 100:g}",
        "note": "growth pilot goes to approve",
        "based_on": policy.version,
    }
    return {**values, **overrides}


def test_admin_changes_a_segment_mode_and_a_new_version_is_audited_with_the_diff(
    client, admin_user
):
    before = guardrails_active()
    client.force_login(admin_user)

    response = client.post(URL, form_values(mode_growth="approve", review_threshold="25"))

    assert response.status_code == 302
    after = guardrails_active()
    assert after.version == before.version + 1
    assert after.segment_modes == {"growth": "approve"}
    assert after.review_threshold == pytest.approx(0.25)
    assert (after.created_by, after.note) == (admin_user, "growth pilot goes to approve")
    before.refresh_from_db()
    assert not before.active and before.review_threshold == pytest.approx(0.20)
    entry = AuditEntry.objects.get(action="guardrails.changed", object_id=str(after.pk))
    assert entry.actor == admin_user
    assert entry.data["note"] == "growth pilot goes to approve"
    assert set(entry.data["diff"]) == {"segment_modes", "review_threshold"}
    assert entry.data["diff"]["segment_modes"]["to"] == {"growth": "approve"}


def test_admin_sets_the_exploration_share_and_the_history_says_so(client, admin_user):
    client.force_login(admin_user)

    response = client.post(URL, form_values(exploration_share="10", note="learn faster"))

    assert response.status_code == 302
    assert guardrails_active().exploration_share == pytest.approx(0.10)
    history = client.get(URL).content.decode()
    assert "Auto-mode retries explored at a random allowed slot" in history
    assert "<del>5%</del> → <ins>10%</ins>" in history


def test_history_shows_who_changed_what_and_why(client, admin_user):
    client.force_login(admin_user)
    client.post(URL, form_values(mode_growth="approve"))

    body = client.get(URL).content.decode()

    assert "growth pilot goes to approve" in body
    assert "ada.admin" in body
    assert "Mode for Growth" in body and "<ins>Approve</ins>" in body
    assert "Roll back to v1" in body


def test_admin_rolls_back_to_an_old_version_as_a_new_version(client, admin_user):
    client.force_login(admin_user)
    client.post(URL, form_values(mode_growth="auto", contacts_per_week=5))
    assert guardrails_active().contacts_per_week == 5

    response = client.post(reverse("dunning:guardrails_rollback", args=[1]), CONFIRMED, follow=True)

    current = guardrails_active()
    assert current.version == 3
    assert current.segment_modes == GuardrailPolicy.objects.get(version=1).segment_modes
    assert current.contacts_per_week == 3
    assert current.note == "rollback to v1: the old values worked better"
    assert "in force again as version 3" in response.content.decode()
    assert AuditEntry.objects.filter(action="guardrails.changed", data__note=current.note)


def test_a_rollback_without_a_reason_and_confirmation_is_refused_and_nothing_changes(
    client, admin_user
):
    client.force_login(admin_user)
    client.post(URL, form_values(mode_growth="auto", contacts_per_week=5))

    no_reason = client.post(reverse("dunning:guardrails_rollback", args=[1]), {"confirm": "yes"})
    unconfirmed = client.post(reverse("dunning:guardrails_rollback", args=[1]), {"reason": "x"})

    assert no_reason.status_code == 400 and "say why" in no_reason.content.decode()
    assert unconfirmed.status_code == 400 and "tick the box" in unconfirmed.content.decode()
    assert guardrails_active().version == 2 and guardrails_active().contacts_per_week == 5


def test_the_settings_history_opens_the_guardrails_page_at_the_version(client, admin_user):
    client.force_login(admin_user)
    client.post(URL, form_values(mode_growth="auto", contacts_per_week=5))

    history = client.get(reverse("dunning:settings_history")).content.decode()
    page = client.get(reverse("dunning:guardrails"), {"versions": 1}).content.decode()

    assert 'href="/dunning/guardrails/?versions=1#version-2"' in history
    assert 'id="version-2"' in page and 'id="version-1"' in page


def test_rolling_back_to_the_values_in_force_is_refused_with_a_reason(client, admin_user):
    client.force_login(admin_user)

    response = client.post(reverse("dunning:guardrails_rollback", args=[1]), CONFIRMED, follow=True)

    assert "already in force" in response.content.decode()
    assert GuardrailPolicy.objects.count() == 1


def test_rolling_back_to_an_unknown_version_is_not_found(client, admin_user):
    client.force_login(admin_user)
    assert (
        client.post(reverse("dunning:guardrails_rollback", args=[99]), CONFIRMED).status_code == 404
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"review_threshold": "120"}, "less than or equal to 100"),
        ({"review_threshold": "lots"}, "Enter a number"),
        ({"mode_growth": "yolo"}, "Select a valid choice"),
        ({"contacts_per_week": "-1"}, "greater than or equal to 0"),
        ({"max_retries": "50"}, "less than or equal to 20"),
        ({"exploration_share": "25"}, "less than or equal to 20"),
        ({"exploration_share": "-1"}, "greater than or equal to 0"),
        ({"note": "  "}, "Say why you are changing the guardrails"),
        ({}, "Nothing changed"),
    ],
)
def test_admin_gets_the_reason_when_an_edit_is_refused(client, admin_user, overrides, reason):
    client.force_login(admin_user)

    response = client.post(URL, form_values(**overrides))

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert GuardrailPolicy.objects.count() == 1


def test_an_edit_of_a_version_someone_else_replaced_is_refused_and_shows_theirs(client, admin_user):
    stale = form_values(mode_enterprise="auto")
    guardrails_update(changes={"contacts_per_week": 2}, user=None, note="ops change")
    client.force_login(admin_user)

    response = client.post(URL, stale)

    assert response.status_code == 409
    body = response.content.decode()
    assert "while you were editing version 1" in body
    assert 'name="contacts_per_week" value="2"' in body
    assert guardrails_active().segment_modes == {}


def test_manager_reads_the_guardrails_but_the_form_is_read_only(client, manager):
    client.force_login(manager)

    response = client.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert "only an admin can change them" in body
    assert "disabled" in body and "Save as version" not in body and "Roll back" not in body


def test_the_fixed_approval_rule_is_shown_as_not_editable(client, manager):
    client.force_login(manager)

    body = client.get(URL).content.decode()

    assert "not editable" in body
    for label in (
        "Cancel the subscription",
        "Write off the invoice",
        "Void the invoice",
        "Refund",
        "Make an offer",
    ):
        assert label in body


def test_an_open_gateway_pause_is_shown(client, manager):
    from django.utils import timezone

    from dunning.models import GatewayPause

    GatewayPause.objects.create(
        gateway="adyen", started_at=timezone.now(), reason="12 of 13 attempts failed"
    )
    client.force_login(manager)

    body = client.get(URL).content.decode()

    assert "Adyen" in body and "paused now" in body and "12 of 13 attempts failed" in body


def test_history_pages_arrive_as_an_htmx_fragment(client, admin_user):
    for n in range(12):
        guardrails_update(changes={"contacts_per_week": n}, user=None, note=f"change {n}")
    client.force_login(admin_user)

    response = client.get(URL, {"versions": 2}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "<html" not in body and "Page 2 of 2" in body
    assert "change 1" in body and "change 11" not in body
    assert "HX-Request" in response["Vary"]
