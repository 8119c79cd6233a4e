"""Cases opened by decisions, routed to a team, gathered per customer, resolved when paid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from collections_desk.cases import (
    CaseConflict,
    case_assign,
    case_claim,
    case_note_add,
    cases_refresh,
)
from collections_desk.models import Case, CaseState
from collections_desk.priority import priority_expression
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import AuditEntry, Invoice
from tests.collections_desk.conftest import case_for
from tests.dunning.decided import decided_invoice

pytestmark = pytest.mark.django_db


def test_a_decision_waiting_for_approval_opens_a_case_in_the_routed_team(general_case, teams):
    assert general_case.team == teams["general"]
    assert general_case.state == CaseState.OPEN
    assert "wait for approval" in general_case.reason
    assert list(general_case.invoices.values_list("cb_id", flat=True)) == ["inv_1"]
    assert general_case.amount_due == 4900
    assert general_case.priority > 0
    assert AuditEntry.objects.filter(action="case.opened", object_id=str(general_case.pk)).exists()


def test_an_enterprise_customer_goes_to_the_enterprise_team(enterprise_case, teams):
    assert (enterprise_case.segment, enterprise_case.team) == ("enterprise", teams["enterprise"])


def test_shadow_mode_decisions_open_no_case(teams):
    decided_invoice(1, decline_code="04")  # a new installation is in shadow mode

    assert not Case.objects.exists()


def test_an_escalation_opens_a_case_even_without_approvals(teams):
    guardrails_update(changes={"default_mode": "auto", "contacts_per_week": 0}, user=None)

    decided_invoice(1, decline_code="04")  # no contact allowed: a person follows up

    case = Case.objects.get()
    assert case.reason.startswith("Escalated to collections: weekly contact limit")


def test_the_customers_other_unpaid_invoices_join_their_one_open_case(general_case):
    Invoice.objects.create(
        cb_id="inv_1b",
        customer_id="cus_1",
        status="not_paid",
        amount_due=1000,
        currency_code="EUR",
        resource_version=1,
    )
    Invoice.objects.create(cb_id="inv_1c", customer_id="cus_1", status="paid", resource_version=1)

    from dunning.pipeline.decide import decision_make

    decision_make(invoice_id="inv_1", trigger="manual", at=timezone.now())

    case = Case.objects.get()  # still one case for the customer
    assert sorted(case.invoices.values_list("cb_id", flat=True)) == ["inv_1", "inv_1b"]
    assert case.amount_due == 5900


def test_a_case_is_resolved_once_all_its_invoices_are_paid(general_case):
    Invoice.objects.filter(cb_id="inv_1").update(status="paid", amount_due=0)

    assert cases_refresh() == {"resolved": 1, "ranked": 0}

    general_case.refresh_from_db()
    assert general_case.state == CaseState.RESOLVED
    assert "paid" in general_case.resolution


def test_agent_claims_an_unassigned_case_and_a_colleague_cannot_take_it(general_case, agent, teams):
    from collections_desk.teams import team_member_add
    from tests.factories import UserFactory

    colleague = UserFactory(username="carl.colleague", role="collections agent")
    team_member_add(team=teams["general"], user=colleague)

    case_claim(case=general_case, user=agent)

    with pytest.raises(CaseConflict, match=r"already claimed by alice\.agent"):
        case_claim(case=Case.objects.get(pk=general_case.pk), user=colleague)
    general_case.refresh_from_db()
    assert (general_case.assignee, general_case.state) == (agent, CaseState.IN_PROGRESS)


def test_agent_of_another_team_cannot_claim_or_annotate(general_case, other_agent):
    with pytest.raises(PermissionDenied):
        case_claim(case=general_case, user=other_agent)
    with pytest.raises(PermissionDenied):
        case_note_add(case=general_case, user=other_agent, text="hello")


def test_agent_cannot_assign_a_case_to_someone_else(general_case, agent):
    with pytest.raises(PermissionDenied, match="only managers"):
        case_assign(case=general_case, user=agent, assignee=agent)


def test_manager_reassigns_only_to_someone_who_works_that_team(
    general_case, manager, agent, other_agent
):
    with pytest.raises(ValueError, match="does not work the cases of Self-serve & growth"):
        case_assign(case=general_case, user=manager, assignee=other_agent)

    case_assign(case=general_case, user=manager, assignee=agent)

    assert Case.objects.get(pk=general_case.pk).assignee == agent


def test_an_empty_note_is_refused(general_case, agent):
    with pytest.raises(ValueError, match="write something"):
        case_note_add(case=general_case, user=agent, text="   ")

    note = case_note_add(case=general_case, user=agent, text=" Called, will pay Friday ")

    assert note.text == "Called, will pay Friday"


def test_priority_puts_breached_sla_and_older_money_first(approve_mode, teams):
    fresh, old = case_for(1), case_for(2)
    now = timezone.now()
    Case.objects.filter(pk=old.pk).update(
        opened_at=now - timedelta(days=10), sla_due_at=now - timedelta(hours=1)
    )
    cases_refresh(now=now)

    ranked = list(Case.objects.order_by("-priority").values_list("pk", flat=True))

    assert ranked == [old.pk, fresh.pk]
    old_priority = Case.objects.annotate(p=priority_expression(now=now)).get(pk=old.pk).p
    # 10 days open (+0.25) and SLA breached (+1) on the same money: 2.25x the fresh case.
    assert old_priority == pytest.approx(Case.objects.get(pk=fresh.pk).priority * 2.25)
