"""Who is at risk of a failed renewal, why, and how the score is made."""

from __future__ import annotations

import pickle
import random
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from analytics.at_risk.campaigns import holdout_of
from analytics.at_risk.factors import MODEL_FEATURES, reasons_in_words
from analytics.at_risk.listing import AtRiskFilters, at_risk_counts, at_risk_subscriptions
from analytics.at_risk.risk_model import (
    Scorer,
    renewal_risk_train,
    renewal_scorer,
)
from dunning.decisions.learning.model_training import ColdStart
from dunning.models import (
    Customer,
    Invoice,
    InvoiceFailure,
    ModelVersion,
    Subscription,
    UsageMonth,
)
from tests.analytics.at_risk_data import month_before, renewing

pytestmark = pytest.mark.django_db
RULES = Scorer(source="rules")


def listed(**filters):
    rows = at_risk_subscriptions(filters=AtRiskFilters(**filters), scorer=RULES)
    return {row.customer_id: row for row in rows}


def test_expiring_card_failures_and_usage_drop_are_found_and_scored_by_the_rules():
    now = timezone.now()
    renewal = now + timedelta(days=10)
    renewing("expiring", expiry=month_before(renewal), now=now)
    renewing("failing", failures=2, sessions={1: 30, 2: 30, 3: 100, 4: 100, 5: 100}, now=now)
    renewing("calm", sessions={1: 100, 2: 100, 3: 100, 4: 100}, now=now)
    renewing("nocard", expiry=None, now=now)

    rows = listed()

    assert rows["cus_rexpiring"].expiring == 1
    assert rows["cus_rexpiring"].score == pytest.approx(1 - 0.95 * 0.4)
    assert rows["cus_rfailing"].past_failures == 2
    assert rows["cus_rfailing"].usage_drop == pytest.approx(0.7)
    assert rows["cus_rfailing"].score == pytest.approx(0.05 + 0.2 + 0.1)
    assert rows["cus_rcalm"].score == pytest.approx(0.05)
    assert rows["cus_rnocard"].expiring == 1
    order = [
        row.customer_id for row in at_risk_subscriptions(filters=AtRiskFilters(), scorer=RULES)
    ]
    assert order.index("cus_rexpiring") < order.index("cus_rfailing") < order.index("cus_rcalm")


def test_each_customer_shows_the_reasons_in_plain_words():
    now = timezone.now()
    renewal = now + timedelta(days=10)
    month, year = month_before(renewal)
    renewing("expiring", expiry=(month, year), now=now)
    renewing("failing", failures=2, sessions={1: 30, 2: 30, 3: 100, 4: 100}, now=now)
    renewing("nocard", expiry=None, now=now)
    rows = listed()

    assert reasons_in_words(rows["cus_rexpiring"]) == [
        f"card ending 4242 expires {month:02d}/{year} before the renewal on {renewal:%d %b %Y}"
    ]
    assert reasons_in_words(rows["cus_rfailing"]) == [
        "2 failed payments in the last year",
        "product use down 70% over the last two months",
    ]
    assert reasons_in_words(rows["cus_rnocard"]) == ["no card on file"]


def test_the_list_keeps_only_active_subscriptions_renewing_in_the_window():
    renewing("soon", in_days=5)
    renewing("later", in_days=45)
    cancelled = renewing("cancelled", in_days=5)
    Subscription.objects.filter(pk=cancelled.pk).update(status="cancelled")

    assert set(listed(within_days=30)) == {"cus_rsoon"}
    assert set(listed(within_days=60)) == {"cus_rsoon", "cus_rlater"}


def test_filters_by_minimum_score_and_reason_and_counts_in_one_aggregate():
    now = timezone.now()
    renewing("expiring", expiry=month_before(now + timedelta(days=10)), now=now)
    renewing("failing", failures=1, now=now)
    renewing("calm", now=now)

    assert set(listed(min_score=0.5)) == {"cus_rexpiring"}
    assert set(listed(reason="failures")) == {"cus_rfailing"}
    assert set(listed(reason="expiring")) == {"cus_rexpiring"}
    counts = at_risk_counts(at_risk_subscriptions(filters=AtRiskFilters(), scorer=RULES))
    assert counts["listed"] == 3 and counts["expiring_cards"] == 1
    assert counts["with_failures"] == 1
    assert counts["expected_failures"] == pytest.approx(0.62 + 0.15 + 0.05)


def _past_renewals(count: int, seed: int = 1) -> None:
    """Renewals over the last year: failing with past failures AND a usage drop, mostly."""
    rng = random.Random(seed)
    now = timezone.now()
    customers, subscriptions, invoices, failures, usage = [], [], [], [], []
    for i in range(count):
        at = now - timedelta(days=20 + 340 * i / count)
        failed_before, dropped = rng.random() < 0.4, rng.random() < 0.4
        chance = {(True, True): 0.9, (True, False): 0.45, (False, True): 0.45}.get(
            (failed_before, dropped), 0.05
        )
        customers.append(Customer(cb_id=f"cus_p{i}", resource_version=1))
        subscriptions.append(
            Subscription(
                cb_id=f"sub_p{i}",
                customer_id=f"cus_p{i}",
                status="active",
                billing_period_unit="month",
                resource_version=1,
            )
        )
        invoices.append(
            Invoice(
                cb_id=f"inv_p{i}",
                customer_id=f"cus_p{i}",
                subscription_id=f"sub_p{i}",
                date=at,
                total=4900,
                status="paid",
                resource_version=1,
            )
        )
        earlier = [(f"inv_p{i}_old{k}", at - timedelta(days=50 * (k + 1))) for k in range(2)]
        if rng.random() < chance:
            earlier.append((f"inv_p{i}", at))
        for invoice_id, when in earlier if failed_before else earlier[2:]:
            failures.append(
                InvoiceFailure(
                    invoice_cb_id=invoice_id,
                    customer_cb_id=f"cus_p{i}",
                    first_failure_cb_id="t",
                    first_failed_at=when,
                    refreshed_at=now,
                )
            )
        for months_ago in range(1, 7):
            sessions = 20 if dropped and months_ago <= 2 else 100
            usage.append(
                UsageMonth(
                    customer_cb_id=f"cus_p{i}",
                    sessions=sessions,
                    month_start=at - timedelta(days=30 * months_ago - 5),
                )
            )
    Customer.objects.bulk_create(customers)
    Subscription.objects.bulk_create(subscriptions)
    Invoice.objects.bulk_create(invoices)
    InvoiceFailure.objects.bulk_create(failures)
    UsageMonth.objects.bulk_create(usage)


def test_the_model_learns_from_past_renewals_and_scores_in_sql_as_the_pipeline_does():
    _past_renewals(400)

    result = renewal_risk_train()

    version = result.version
    assert result.activated, version.decision_note
    assert version.kind == ModelVersion.Kind.RENEWAL_RISK and version.features == MODEL_FEATURES
    assert version.metrics["model"]["roc_auc"] > version.metrics["baseline"]["roc_auc"]
    scorer = renewal_scorer()
    assert scorer.source == f"renewal_risk v{version.version}" and scorer.is_model
    # The SQL expression, numpy and the pickled pipeline give the same probability.
    renewing("failing", failures=2, sessions={1: 20, 2: 20, 3: 100, 4: 100, 5: 100})
    renewing("calm", sessions={1: 100, 2: 100, 3: 100, 4: 100})
    rows = {r.customer_id: r for r in at_risk_subscriptions(filters=AtRiskFilters(), scorer=scorer)}
    pipeline = pickle.loads(version.artifact)
    for row in rows.values():
        x = np.array([[row.past_failures, row.usage_drop, row.annual]], dtype=float)
        assert row.score == pytest.approx(pipeline.predict_proba(x)[0, 1], abs=1e-6)
        assert row.score == pytest.approx(scorer.predict(x)[0], abs=1e-6)
    assert rows["cus_rfailing"].score > 0.6 > 0.2 > rows["cus_rcalm"].score


def test_with_too_little_history_no_model_is_trained_and_the_rules_score():
    _past_renewals(50)

    with pytest.raises(ColdStart):
        renewal_risk_train()

    assert renewal_scorer().source == "rules"


def test_the_holdout_is_the_same_for_the_same_campaign_and_about_a_fifth():
    customers = [f"cus_{i}" for i in range(5000)]

    first = [holdout_of(salt="s1", customer_id=c) for c in customers]
    again = [holdout_of(salt="s1", customer_id=c) for c in customers]
    other = [holdout_of(salt="s2", customer_id=c) for c in customers]

    assert first == again
    assert first != other
    assert 0.18 < sum(first) / len(first) < 0.22
    assert holdout_of(salt="s1", customer_id="cus_1", share=0.0) is False
    assert holdout_of(salt="s1", customer_id="cus_1", share=1.0) is True
