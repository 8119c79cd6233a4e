"""Automation rate, manual work saved and calibration, from known decisions and outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.automation import automation_by_segment, cases_by_segment
from analytics.calibration import active_model_metrics, calibration_buckets
from collections_desk.models import Case
from dunning.models import ModelVersion
from tests.analytics.mirror import days_ago, failed_invoice
from tests.analytics.test_shadow import shadow_decision
from tests.factories import ActionFactory, DecisionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_automation_rate_and_agreement_count_who_let_each_action_run():
    person = UserFactory()
    auto = DecisionFactory(invoice=failed_invoice(1, failed_at=days_ago(3)), mode="auto")
    approve = DecisionFactory(
        invoice=failed_invoice(2, failed_at=days_ago(3)), mode="approve", segment="growth"
    )
    # Self-serve in auto: two ran by themselves, one was approved by a person.
    ActionFactory(decision=auto, state="executed", needs_approval=False)
    ActionFactory(decision=auto, state="executed", needs_approval=False, kind="message")
    ActionFactory(decision=auto, state="executed", decided_by=person, kind="escalate")
    # Growth in approve: approved unchanged, edited then approved, rejected, waiting.
    ActionFactory(decision=approve, state="scheduled", decided_by=person)
    ActionFactory(
        decision=approve, state="executed", decided_by=person, edited_by=person, kind="message"
    )
    ActionFactory(decision=approve, state="rejected", decided_by=person, kind="message")
    ActionFactory(decision=approve, state="proposed", needs_approval=True, kind="message")
    # A person's own request and a shadow decision are not Dunwell's automation.
    manual = DecisionFactory(
        invoice_id="inv_2", customer_id="cus_2", mode="approve", trigger="manual", as_of=days_ago(1)
    )
    ActionFactory(decision=manual, state="executed", decided_by=person)
    shadow_decision(3, failed_days_ago=2, retry_in=timedelta(days=1))

    figures = automation_by_segment(since=days_ago(30), until=timezone.now())

    s, g, total = figures["self_serve"], figures["growth"], figures[""]
    assert (s.automatic, s.approved, s.automation_rate) == (2, 1, 66.7)
    assert (g.approved, g.edited, g.rejected, g.waiting) == (1, 1, 1, 1)
    assert (g.automation_rate, g.agreement_rate) == (0.0, 33.3)
    # The one waiting for a person did not run by itself: it counts against the rate.
    assert (total.settled, total.waiting, total.automatic, total.automation_rate) == (6, 1, 2, 28.6)
    only_approve = automation_by_segment(since=days_ago(30), until=timezone.now(), mode="approve")
    assert set(only_approve) == {"growth", ""}


def test_manual_work_saved_counts_cases_resolved_by_themselves():
    def resolved(n, how, segment="self_serve", days=2):
        invoice = failed_invoice(n, failed_at=days_ago(10))
        Case.objects.create(
            customer_id=invoice.customer_id,
            state="resolved",
            reason="declined",
            opened_at=days_ago(9),
            sla_due_at=days_ago(8),
            resolved_at=days_ago(days),
            resolution_type=how,
            segment=segment,
        )

    resolved(1, "automatic")
    resolved(2, "automatic")
    resolved(3, "agent")
    resolved(4, "escalated", segment="enterprise")
    resolved(5, "automatic", days=60)  # before the period

    figures = cases_by_segment(since=days_ago(30), until=timezone.now())

    assert (figures["self_serve"].resolved, figures["self_serve"].work_saved) == (3, 66.7)
    assert (figures[""].automatic, figures[""].escalated, figures[""].work_saved) == (2, 1, 50.0)


def test_calibration_groups_settled_invoices_by_score_tenth():
    day = timedelta(days=1)
    shadow_decision(1, score=0.12, paid_after=day)
    shadow_decision(2, score=0.18)
    shadow_decision(3, score=0.15)
    shadow_decision(4, score=0.85, paid_after=day, mode="auto")
    shadow_decision(5, score=1.0, paid_after=day)
    shadow_decision(6, score=0.5, failed_days_ago=3)  # not settled yet: left out

    buckets = calibration_buckets(since=days_ago(90), until=timezone.now())

    assert buckets == [
        {"bucket": 1, "label": "10-20%", "decisions": 3, "predicted": 15.0, "observed": 33.3},
        {"bucket": 8, "label": "80-90%", "decisions": 1, "predicted": 85.0, "observed": 100.0},
        {"bucket": 9, "label": "90-100%", "decisions": 1, "predicted": 100.0, "observed": 100.0},
    ]


def test_the_active_model_hold_out_figures_are_read_as_stored():
    now = timezone.now()
    ModelVersion.objects.create(
        kind="recovery",
        version=3,
        trained_at=now,
        examples=900,
        window_start=now,
        window_end=now,
        active=True,
        artifact=b"",
        metrics={
            "model": {
                "roc_auc": 0.71,
                "brier": 0.2,
                "calibration": [{"predicted": 0.2, "observed": 0.25, "n": 30}],
            },
            "baseline": {"name": "decline code rate", "roc_auc": 0.6, "brier": 0.23},
            "holdout": {"examples": 300, "from": "2026-08-01T00:00:00+00:00"},
        },
    )

    metrics = active_model_metrics()

    assert (metrics["version"], metrics["roc_auc"], metrics["baseline_roc_auc"]) == (3, 0.71, 0.6)
    assert metrics["holdout_from"] == "2026-08-01"
    assert metrics["calibration"] == [{"predicted": 20.0, "observed": 25.0, "n": 30}]
