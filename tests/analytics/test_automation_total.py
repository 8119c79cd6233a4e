"""The automation total adds up the segments' counts: the same figures as the separate
total query it replaced, on a seeded history of actions in several segments and modes."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from analytics import automation
from analytics.automation import AutomationFigures, automation_by_segment, dunwell_actions
from tests.analytics.mirror import days_ago, failed_invoice
from tests.factories import ActionFactory, DecisionFactory, UserFactory

pytestmark = pytest.mark.django_db

STATES = ("executed", "scheduled", "rejected", "proposed", "cancelled", "failed")


def _seeded_actions() -> None:
    rng = random.Random(43)
    person = UserFactory()
    for n in range(1, 31):
        decision = DecisionFactory(
            invoice=failed_invoice(n, failed_at=days_ago(rng.uniform(1, 40))),
            as_of=days_ago(rng.uniform(1, 40)),
            mode=rng.choice(("auto", "approve", "shadow")),
            segment=rng.choice(("self_serve", "growth", "enterprise")),
            trigger=rng.choice(("payment_failed", "payment_failed", "manual")),
        )
        for _ in range(rng.randrange(1, 4)):
            ActionFactory(
                decision=decision,
                state=rng.choice(STATES),
                needs_approval=rng.random() < 0.5,
                decided_by=person if rng.random() < 0.5 else None,
                edited_by=person if rng.random() < 0.3 else None,
                kind=rng.choice(("retry", "message", "escalate")),
            )


@pytest.mark.parametrize("mode", [None, "auto", "approve"])
def test_the_automation_total_is_that_of_the_total_query(mode):
    _seeded_actions()
    since, until = days_ago(30), timezone.now() + timedelta(hours=1)

    total = automation_by_segment(since=since, until=until, mode=mode)[""]

    actions = dunwell_actions(since=since, until=until, mode=mode)
    counted = actions.aggregate(
        automatic=Count("pk", filter=automation.AUTOMATIC),
        approved=Count("pk", filter=automation.APPROVED_UNCHANGED),
        edited=Count("pk", filter=automation.EDITED),
        rejected=Count("pk", filter=automation.REJECTED),
        waiting=Count("pk", filter=automation.WAITING),
    )
    assert total.counted > 0
    assert dataclasses.asdict(total) == dataclasses.asdict(AutomationFigures(segment="", **counted))
