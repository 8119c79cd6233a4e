"""Two teams, an agent in each, and cases made by the real decision service."""

from __future__ import annotations

import pytest

from collections_desk.models import Case, Team
from collections_desk.teams import team_create, team_member_add
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import CrmAccount
from tests.dunning.decided import decided_invoice
from tests.factories import UserFactory


@pytest.fixture
def teams(db):
    return {
        "enterprise": team_create(name="Enterprise", segments=["enterprise"], routing_order=10),
        "general": team_create(name="Self-serve & growth"),
    }


@pytest.fixture
def agent(teams):
    user = UserFactory(username="alice.agent", role="collections agent")
    team_member_add(team=teams["general"], user=user)
    return user


@pytest.fixture
def other_agent(teams):
    user = UserFactory(username="otto.enterprise", role="collections agent")
    team_member_add(team=teams["enterprise"], user=user)
    return user


@pytest.fixture
def approve_mode(db):
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="a person approves")


def case_for(n: int, *, enterprise: bool = False, **kwargs) -> Case:
    """Invoice inv_<n> declined with Visa code 04: a payment-method link waits for approval."""
    if enterprise:
        CrmAccount.objects.create(customer_cb_id=f"cus_{n}", tier="enterprise")
    decided_invoice(n, decline_code="04", **kwargs)
    return Case.objects.get(customer_id=f"cus_{n}")


@pytest.fixture
def general_case(approve_mode, teams):
    return case_for(1)


@pytest.fixture
def enterprise_case(approve_mode, teams):
    return case_for(2, enterprise=True)


def team_of(case: Case) -> Team | None:
    case.refresh_from_db()
    return case.team
