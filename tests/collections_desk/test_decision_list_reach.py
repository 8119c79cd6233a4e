"""The decision list as an agent: exactly the decisions of their teams' customers and of
customers in the shared pool (no team) or with no case yet, counted as they are listed.

The customer's governing case decides (open, else the latest opened), so a customer whose
open case moved to another team leaves the agent's list even if an older case was theirs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from collections_desk.access import rows_in_reach
from collections_desk.models import Case
from dunning.models import Decision
from tests.collections_desk.conftest import case_for
from tests.dunning.decided import decided_invoice

pytestmark = pytest.mark.django_db

DECISIONS = reverse("dunning:decision_list")
PAGE_QUERIES_AT_MOST = 7


@pytest.fixture
def customers_by_reach(approve_mode, teams) -> dict[str, set[str]]:
    """Customers the ``agent`` (general team) reaches and those they do not."""
    case_for(1)  # general: the agent's team
    case_for(2, enterprise=True)  # the other team
    pooled = case_for(3)
    Case.objects.filter(pk=pooled.pk).update(team=None)
    decided_invoice(4)
    Case.objects.filter(customer_id="cus_4").delete()  # no case yet
    _reopened_elsewhere(5, teams=teams)
    _latest_resolved_case(6, older_team=teams["enterprise"], latest_team=teams["general"])
    _latest_resolved_case(7, older_team=teams["general"], latest_team=teams["enterprise"])
    return {
        "reached": {"cus_1", "cus_3", "cus_4", "cus_6"},
        "hidden": {"cus_2", "cus_5", "cus_7"},
    }


def _reopened_elsewhere(n: int, *, teams) -> None:
    """A resolved case in the agent's team, and the open one now with the other team."""
    open_case = case_for(n)
    Case.objects.filter(pk=open_case.pk).update(team=teams["enterprise"])
    Case.objects.create(
        **_case_fields(open_case),
        team=teams["general"],
        state="resolved",
        opened_at=open_case.opened_at + timedelta(days=1),
        resolved_at=timezone.now(),
    )


def _latest_resolved_case(n: int, *, older_team, latest_team) -> None:
    """Two resolved cases and none open: the later opened one governs."""
    case = case_for(n)
    opened = case.opened_at
    Case.objects.filter(pk=case.pk).update(
        team=older_team, state="resolved", resolved_at=timezone.now()
    )
    Case.objects.create(
        **_case_fields(case),
        team=latest_team,
        state="resolved",
        opened_at=opened + timedelta(days=1),
        resolved_at=timezone.now() - timedelta(days=1),
    )


def _case_fields(case: Case) -> dict:
    return {
        "customer_id": case.customer_id,
        "currency": case.currency,
        "amount_due": case.amount_due,
        "lifetime_value": case.lifetime_value,
        "sla_due_at": case.sla_due_at,
    }


def test_rows_in_reach_holds_the_agents_teams_customers_the_pool_and_those_without_a_case(
    agent, customers_by_reach
):
    reached = rows_in_reach(user=agent, rows=Decision.objects.all())

    assert set(reached.values_list("customer_id", flat=True)) == customers_by_reach["reached"]


def test_the_agents_decision_list_lists_and_counts_exactly_the_decisions_in_reach(
    client, agent, customers_by_reach, django_assert_max_num_queries
):
    client.force_login(agent)

    with django_assert_max_num_queries(PAGE_QUERIES_AT_MOST):
        response = client.get(DECISIONS)

    listed = {decision.customer_id for decision in response.context["page"].object_list}
    in_reach = Decision.objects.filter(customer_id__in=customers_by_reach["reached"])
    assert listed == customers_by_reach["reached"]
    assert response.context["page"].paginator.count == in_reach.count()
    assert sum(response.context["mode_counts"].values()) == in_reach.count()


def test_the_managers_decision_list_counts_every_decision(client, manager, customers_by_reach):
    client.force_login(manager)

    response = client.get(DECISIONS)

    assert response.context["page"].paginator.count == Decision.objects.count()
    assert sum(response.context["mode_counts"].values()) == Decision.objects.count()
