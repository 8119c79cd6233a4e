"""Off-policy estimates: what a candidate retry model would recover, from the logged retries."""

from __future__ import annotations

import functools
import pickle
from datetime import timedelta

import numpy as np
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from dunning.actions.state_machine import action_transition
from dunning.decisions.learning.off_policy import (
    dr_terms,
    estimate_from_arrays,
    ips_terms,
    logged_retries,
    retry_models_estimated,
)
from dunning.decisions.learning.retry_model import retry_model_fit
from dunning.decisions.learning.slot_features import slot_rows
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import ActionKind, ActionState, ModelVersion
from dunning.pipeline.decide import decision_make
from tests.dunning.decided import FAILED_AT, declined_invoice
from tests.dunning.decisions.test_policy import context as policy_context
from tests.factories import ActionFactory

SLOTS, SHARE, AMOUNT = 12, 0.2, 5_000


def synthetic_world(seed: int, contexts: int = 1_500):
    """Contexts with a true chance per slot; a logging policy that is greedy on a noisy
    model with a share explored uniformly; a candidate that is greedy on another model."""
    rng = np.random.default_rng(seed)
    truth = rng.beta(2, 6, size=(contexts, SLOTS))  # P(a retry at slot a succeeds | x)
    logging_model = truth + rng.normal(0, 0.15, size=truth.shape)
    candidate_model = truth + rng.normal(0, 0.05, size=truth.shape)
    return truth, logging_model.argmax(axis=1), candidate_model.argmax(axis=1)


def logged_draw(rng, truth, greedy):
    """One log: each context's retry slot (greedy, or explored), propensity and reward."""
    n = len(greedy)
    explored = rng.random(n) < SHARE
    slot = np.where(explored, rng.integers(0, SLOTS, size=n), greedy)
    propensity = np.where(slot == greedy, 1 - SHARE + SHARE / SLOTS, SHARE / SLOTS)
    success = rng.random(n) < truth[np.arange(n), slot]
    return slot, propensity, success * AMOUNT


def test_ips_and_dr_recover_the_candidates_true_revenue_over_many_logs():
    truth, greedy, candidate = synthetic_world(seed=7)
    rows = np.arange(len(greedy))
    true_value = (truth[rows, candidate] * AMOUNT).mean()
    # The candidate's own chances are off (too flat): DR must not inherit that bias.
    predicted = (0.6 * truth + 0.1) * AMOUNT
    rng = np.random.default_rng(11)
    ips, dr = [], []
    for _ in range(300):
        slot, propensity, reward = logged_draw(rng, truth, greedy)
        matched = slot == candidate
        ips.append(ips_terms(rewards=reward, propensities=propensity, matched=matched).mean())
        dr.append(
            dr_terms(
                rewards=reward,
                propensities=propensity,
                matched=matched,
                predicted_logged=predicted[rows, slot],
                predicted_candidate=predicted[rows, candidate],
            ).mean()
        )

    assert np.mean(ips) == pytest.approx(true_value, rel=0.02)
    assert np.mean(dr) == pytest.approx(true_value, rel=0.02)
    assert np.std(dr) < np.std(ips)  # the direct-method term takes most of the noise away
    direct_only = predicted[rows, candidate].mean()
    assert abs(direct_only - true_value) > 0.05 * true_value  # the bias DR corrected


def test_one_log_gives_an_interval_that_holds_the_truth_and_counts_the_rows():
    truth, greedy, candidate = synthetic_world(seed=3)
    rows = np.arange(len(greedy))
    slot, propensity, reward = logged_draw(np.random.default_rng(5), truth, greedy)
    predicted = truth * AMOUNT

    estimate = estimate_from_arrays(
        rewards=reward,
        propensities=propensity,
        matched=slot == candidate,
        predicted_logged=predicted[rows, slot],
        predicted_candidate=predicted[rows, candidate],
    )

    true_value = (truth[rows, candidate] * AMOUNT).mean()
    assert estimate.logged == len(rows) and estimate.enough
    assert estimate.matched == int((slot == candidate).sum())
    for low, high in (estimate.ips_interval, estimate.dr_interval):
        assert low < true_value < high
    assert estimate.total(estimate.dr) == pytest.approx(estimate.dr * len(rows))


def test_the_same_log_gives_the_same_interval_every_time():
    truth, greedy, candidate = synthetic_world(seed=3, contexts=300)
    slot, propensity, reward = logged_draw(np.random.default_rng(5), truth, greedy)
    arrays = dict(
        rewards=reward,
        propensities=propensity,
        matched=slot == candidate,
        predicted_logged=reward * 0,
        predicted_candidate=reward * 0,
    )

    assert estimate_from_arrays(**arrays) == estimate_from_arrays(**arrays)


# --- on the site's own log, and on the AI impact page ------------------------------------
@pytest.fixture
def logged(db, admin_user):
    """Eight auto-mode retries Dunwell ran (every fourth paid), and a candidate retry model
    trained but not active."""
    cache.clear()  # the page keeps its estimates for a little while
    guardrails_update(
        changes={"default_mode": "auto", "exploration_share": 0.2}, user=admin_user, note="learn"
    )
    for n in range(1, 9):
        declined_invoice(n)
        decision = decision_make(invoice_id=f"inv_{n}", trigger="payment_failed", at=FAILED_AT)
        retry = decision.actions.get(kind=ActionKind.RETRY)
        paid = n % 4 == 0
        action_transition(
            action=retry,
            to=ActionState.EXECUTED,
            actor_label="executor",
            result={"charged": paid, "amount": 4900 if paid else None},
        )
    # A shadow proposal never ran: it is not part of the log.
    ActionFactory(
        decision=decision,
        kind=ActionKind.RETRY,
        mode="shadow",
        propensity=1.0,
        state=ActionState.PROPOSED,
        scheduled_for=FAILED_AT,
    )
    ModelVersion.objects.create(
        kind=ModelVersion.Kind.RETRY,
        version=2,
        trained_at=timezone.now(),
        examples=600,
        window_start=FAILED_AT,
        window_end=FAILED_AT,
        active=False,
        artifact=pickle.dumps(mornings_model()),
    )


@functools.cache
def mornings_model():
    """A real retry model, trained on retries that worked on weekday mornings only."""
    ctx = policy_context()
    slots = [ctx.at + timedelta(hours=h) for h in range(1, 24 * 25)]
    rows, moments = slot_rows(context=ctx, slots=slots)
    labels = ((moments["local_hour"] >= 8) & (moments["local_hour"] < 11)).astype(int)
    return retry_model_fit(rows, labels)


def test_the_log_is_dunwells_own_retries_that_ran_with_their_propensities(logged):
    log = logged_retries()

    assert len(log) == 8
    assert {row.recovered for row in log} == {0, 4900}
    assert all(0 < row.propensity <= 1 for row in log)
    assert all(row.context.time_zone == "Europe/Berlin" for row in log)


def test_the_active_policy_is_estimated_close_to_what_its_retries_recovered(logged):
    estimates, n = retry_models_estimated()

    [active, candidate] = estimates
    assert (active.active, candidate.active, candidate.label) == (True, False, "retry v2")
    assert n == 8 and active.estimate.logged == 8
    # The prior chose these slots itself: where it did not explore it agrees with the log.
    assert active.estimate.matched >= 5
    low, high = active.estimate.dr_interval
    assert low <= 4900 * 2 / 8 <= high


def test_a_manager_sees_too_few_to_say_under_the_threshold(client, manager, logged):
    client.force_login(manager)

    body = client.get(reverse("analytics:impact")).content.decode()

    assert "Retry models, judged on Dunwell's own retries" in body
    assert "retry v2" in body and "candidate, not active" in body
    assert "estimated from 8 of Dunwell&#x27;s own retries; too few to say" in body


def test_a_manager_sees_each_candidates_estimate_beside_the_active_model(
    client, manager, logged, monkeypatch
):
    monkeypatch.setattr("dunning.decisions.learning.off_policy.MIN_LOGGED", 5)
    client.force_login(manager)

    body = client.get(reverse("analytics:impact")).content.decode()

    section = body[body.index('id="off-policy"') : body.index("chart-grid")]
    assert section.count("would have recovered about") == 2
    assert "95% interval" in section and "inverse-propensity" in section
    assert "estimated from 8 of Dunwell&#x27;s own retries." in section
    assert "too few to say" not in section
