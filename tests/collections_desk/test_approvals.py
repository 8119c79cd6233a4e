"""The approval rules, in the services (so the executor enforces them) and in the inbox."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from collections_desk.bulk import actions_bulk_approve
from dunning.actions.state_machine import (
    ApprovalOutdated,
    action_approve,
    action_edit,
    action_fingerprint,
    action_may_approve,
)
from dunning.models import Action, ActionKind, ActionState, AuditEntry
from tests.collections_desk.conftest import case_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def link_of(case) -> Action:
    return (
        Action.objects.filter(customer_id=case.customer_id, kind=ActionKind.PAYMENT_METHOD_LINK)
        .order_by("scheduled_for")
        .first()
    )


def edit(action: Action, user, text="Hi Ana, please update your card: {pay_link}") -> Action:
    return action_edit(
        action=action,
        user=user,
        fingerprint=action_fingerprint(action),
        text=text,
        channel="sms",
        scheduled_for=action.scheduled_for,
    )


def test_agent_edits_a_draft_and_a_manager_approves_the_edited_version(
    general_case, agent, manager
):
    link = link_of(general_case)
    shown_before = action_fingerprint(link)

    edit(link, agent)

    link.refresh_from_db()
    assert (link.params["message_text"], link.channel, link.edited_by) == (
        "Hi Ana, please update your card: {pay_link}",
        "sms",
        agent,
    )
    with pytest.raises(PermissionDenied, match="you edited this action"):
        action_approve(action=link, user=agent, fingerprint=action_fingerprint(link))
    with pytest.raises(ApprovalOutdated):
        action_approve(action=link, user=manager, fingerprint=shown_before)
    action_approve(action=link, user=manager, fingerprint=action_fingerprint(link))
    assert link.state == ActionState.SCHEDULED
    assert AuditEntry.objects.filter(action="action.edited", object_id=str(link.pk)).exists()


def test_agent_of_another_team_may_not_approve_or_even_see_it(client, general_case, other_agent):
    link = link_of(general_case)

    allowed, why = action_may_approve(action=link, user=other_agent)
    client.force_login(other_agent)
    response = client.post(
        reverse("collections_desk:action_approve", args=[link.pk]),
        {"fingerprint": action_fingerprint(link)},
    )

    assert (allowed, why) == (False, "this case belongs to another team")
    assert response.status_code == 404
    assert f"action-{link.pk}" not in client.get(reverse("collections_desk:inbox")).content.decode()


def test_a_large_invoice_needs_two_different_approvers(approve_mode, teams, agent, settings):
    settings.TWO_APPROVERS_FROM_AMOUNT = 4900
    link = link_of(case_for(1))
    colleague = UserFactory(username="carl.colleague", role="collections agent")
    from collections_desk.teams import team_member_add

    team_member_add(team=teams["general"], user=colleague)
    shown = action_fingerprint(link)

    action_approve(action=link, user=agent, fingerprint=shown)
    assert link.state == ActionState.PROPOSED
    with pytest.raises(PermissionDenied, match="already approved"):
        action_approve(action=Action.objects.get(pk=link.pk), user=agent, fingerprint=shown)
    action_approve(action=Action.objects.get(pk=link.pk), user=colleague, fingerprint=shown)

    link.refresh_from_db()
    assert link.state == ActionState.SCHEDULED
    assert action_may_approve(action=link, user=colleague) == (True, "")


def test_an_edit_after_the_first_of_two_approvals_starts_the_count_again(
    approve_mode, teams, agent, manager, settings
):
    settings.TWO_APPROVERS_FROM_AMOUNT = 4900
    link = link_of(case_for(1))
    action_approve(action=link, user=agent, fingerprint=action_fingerprint(link))

    edit(link, manager)
    action_approve(action=link, user=agent, fingerprint=action_fingerprint(link))

    assert Action.objects.get(pk=link.pk).state == ActionState.PROPOSED  # one approval of this text


def test_the_executor_refuses_a_scheduled_action_changed_after_its_approval(general_case, manager):
    link = link_of(general_case)
    action_approve(action=link, user=manager, fingerprint=action_fingerprint(link))
    Action.objects.filter(pk=link.pk).update(channel="sms")  # changed behind the inbox's back
    link.refresh_from_db()

    allowed, why = action_may_approve(action=link, user=manager)

    assert not allowed and "changed after it was approved" in why


def test_bulk_approval_approves_low_risk_and_names_each_refusal(approve_mode, teams, agent):
    low, high, foreign = (
        link_of(case_for(1)),
        link_of(case_for(2)),
        link_of(case_for(3, enterprise=True)),
    )
    Action.objects.filter(pk=high.pk).update(risk="high")

    report = actions_bulk_approve(
        user=agent,
        shown={
            low.pk: action_fingerprint(low),
            high.pk: action_fingerprint(high),
            foreign.pk: action_fingerprint(foreign),
        },
    )

    assert report.done == [low.pk]
    assert dict(report.refused) == {
        high.pk: "only low-risk actions are approved in bulk",
        foreign.pk: "no such action in your inbox",
    }


def test_shadow_mode_actions_never_reach_the_inbox(client, teams, manager):
    from tests.dunning.decided import decided_invoice

    decided_invoice(1, decline_code="04")  # shadow mode
    client.force_login(manager)

    body = client.get(reverse("collections_desk:inbox")).content.decode()

    assert "Nothing is waiting for your approval" in body


def test_inbox_groups_high_risk_first_and_plain_form_approval_works(
    client, approve_mode, teams, manager
):
    low, high = link_of(case_for(1)), link_of(case_for(2))
    Action.objects.filter(pk=high.pk).update(risk="high")
    client.force_login(manager)

    body = client.get(reverse("collections_desk:inbox")).content.decode()
    cards = body[body.index('id="inbox-groups"') :]
    assert cards.index("High risk: a manager approves") < cards.index("Low risk")

    response = client.post(
        reverse("collections_desk:action_approve", args=[low.pk]),
        {"fingerprint": action_fingerprint(low)},
        follow=True,
    )
    assert f"#{low.pk} approved and scheduled" in response.content.decode()


def test_an_outdated_approval_through_htmx_is_a_409_with_the_reason(client, general_case, manager):
    link = link_of(general_case)
    client.force_login(manager)

    response = client.post(
        reverse("collections_desk:action_approve", args=[link.pk]),
        {"fingerprint": "0" * 64},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 409
    assert "changed since it was shown" in response.content.decode()
    assert response["Vary"].count("HX-Request") == 1


def test_an_edit_with_a_placeholder_dunwell_cannot_fill_is_refused_with_the_known_ones(
    general_case, agent
):
    from dunning.actions.state_machine import action_edit

    link = link_of(general_case)

    with pytest.raises(ValueError, match=r"unknown placeholder \{link\}: use \{first_name\}"):
        action_edit(
            action=link,
            user=agent,
            fingerprint=action_fingerprint(link),
            text="Update your card: {link}",
            channel="email",
            scheduled_for=None,
        )
