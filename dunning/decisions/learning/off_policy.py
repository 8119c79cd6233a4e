"""What a candidate retry model would recover, estimated from Dunwell's own logged retries.

Each retry Dunwell ran is a logged choice: the decision's context, the slot taken, the
probability the policy had of taking it (its *propensity*, ``exploration.py``) and what it
recovered (the amount, if the charge succeeded). A candidate model's policy would have
picked its own slot in the same search (same earliest moment, window, budget, spacing).
Without running it, its recovered revenue is estimated two ways:

- **inverse-propensity scoring (IPS)**: the retries where the candidate would have picked
  the logged slot, each weighed by 1 / propensity; unbiased whenever every slot the
  candidate picks could have been logged (exploration makes that so), but noisy;
- **doubly robust (DR)**: the candidate's own predicted chance at its slot times the
  amount (the direct-method term), corrected by the same weighted residual where the
  slots agree; unbiased if either the propensities or the candidate's chances are right,
  and usually far less noisy.

A bootstrap over the logged retries gives each a 95% interval. Only Dunwell's own retries
count (never a shadow proposal: nothing ran, so nothing was observed), and only those
whose decision recorded its search. The estimates are per retry, and in total over the
retries used: what the candidate would have recovered had it decided them all.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import numpy as np
from django.utils.dateparse import parse_datetime

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.retry_model import RetryModelScorer
from dunning.decisions.learning.retry_prior import PRIOR_VERSION_LABEL, PriorRetryScorer
from dunning.decisions.rules.network_rules import Decline
from dunning.decisions.timing.retry_timing import RetryScorer, planned_slot
from dunning.models import Action, ActionKind, ActionState, AutomationMode, ModelVersion

MIN_LOGGED = 200  # below this many logged retries the page says "too few to say"
MAX_LOGGED = 2000  # the most recent ones: an estimate stays quick to compute
BOOTSTRAP_DRAWS = 500
INTERVAL = (2.5, 97.5)
CANDIDATES_SHOWN = 3


@dataclass(frozen=True)
class LoggedRetry:
    context: DecisionContext
    at: datetime  # the slot the retry was logged at
    propensity: float
    amount: int  # at stake (minor units)
    recovered: int  # what the charge brought in (0: declined)
    search: dict  # earliest, window_end, budget, spacing_hours, floor


@dataclass(frozen=True)
class Estimate:
    logged: int  # retries used
    matched: int  # where the candidate would have picked the logged slot
    ips: float  # recovered revenue per retry (minor units)
    dr: float
    ips_interval: tuple[float, float]
    dr_interval: tuple[float, float]

    @property
    def enough(self) -> bool:
        return self.logged >= MIN_LOGGED

    def total(self, per_retry: float) -> float:
        return per_retry * self.logged


# --- the estimators (pure) --------------------------------------------------------------
def ips_terms(*, rewards: np.ndarray, propensities: np.ndarray, matched: np.ndarray) -> np.ndarray:
    """Each logged row's contribution to the IPS estimate (their mean is the estimate)."""
    return np.where(matched, rewards / propensities, 0.0)


def dr_terms(
    *,
    rewards: np.ndarray,
    propensities: np.ndarray,
    matched: np.ndarray,
    predicted_logged: np.ndarray,
    predicted_candidate: np.ndarray,
) -> np.ndarray:
    """Direct method (the candidate's predicted reward at its own slot) plus the weighted
    residual where it agrees with the logged slot."""
    correction = np.where(matched, (rewards - predicted_logged) / propensities, 0.0)
    return predicted_candidate + correction


def bootstrap_interval(
    terms: np.ndarray, *, draws: int = BOOTSTRAP_DRAWS, seed: int = 0
) -> tuple[float, float]:
    """The 95% interval of the mean of ``terms``, resampling the rows (seeded: the page
    shows the same interval every time for the same log)."""
    if len(terms) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = terms[rng.integers(0, len(terms), size=(draws, len(terms)))].mean(axis=1)
    low, high = np.percentile(means, INTERVAL)
    return float(low), float(high)


def estimate_from_arrays(
    *, rewards, propensities, matched, predicted_logged, predicted_candidate
) -> Estimate:
    rewards, propensities = np.asarray(rewards, float), np.asarray(propensities, float)
    matched = np.asarray(matched, bool)
    ips = ips_terms(rewards=rewards, propensities=propensities, matched=matched)
    dr = dr_terms(
        rewards=rewards,
        propensities=propensities,
        matched=matched,
        predicted_logged=np.asarray(predicted_logged, float),
        predicted_candidate=np.asarray(predicted_candidate, float),
    )
    n = len(rewards)
    return Estimate(
        logged=n,
        matched=int(matched.sum()),
        ips=float(ips.mean()) if n else math.nan,
        dr=float(dr.mean()) if n else math.nan,
        ips_interval=bootstrap_interval(ips),
        dr_interval=bootstrap_interval(dr),
    )


# --- a candidate's choice on a logged retry -------------------------------------------
def candidate_choice(
    *, scorer: RetryScorer, logged: LoggedRetry
) -> tuple[datetime | None, float, float]:
    """(the candidate's slot, its chance there, its chance at the logged slot)."""
    s = logged.search
    search = planned_slot(
        context=logged.context,
        earliest=parse_datetime(s["earliest"]),
        window_end=parse_datetime(s["window_end"]),
        scorer=scorer,
        budget=int(s["budget"]),
        spacing=timedelta(hours=float(s["spacing_hours"])),
        floor=float(s["floor"]),
    )
    chances = dict(search.options)
    at_logged = chances.get(logged.at)
    if at_logged is None:
        [at_logged] = scorer.slot_probabilities(context=logged.context, slots=[logged.at])
    if search.slot is None:
        return None, 0.0, float(at_logged)
    return search.slot.at, search.slot.probability, float(at_logged)


def off_policy_estimate(*, scorer: RetryScorer, log: list[LoggedRetry]) -> Estimate:
    """IPS and DR estimates of the recovered revenue per retry under ``scorer``'s policy.

    A candidate that would not have retried at all recovers nothing on that row (its
    direct-method term is 0, and it matches no logged slot)."""
    rewards, propensities, matched, at_logged, at_own = [], [], [], [], []
    for row in log:
        slot, own_chance, logged_chance = candidate_choice(scorer=scorer, logged=row)
        rewards.append(row.recovered)
        propensities.append(row.propensity)
        matched.append(slot == row.at)
        at_logged.append(logged_chance * row.amount)
        at_own.append(own_chance * row.amount if slot is not None else 0.0)
    return estimate_from_arrays(
        rewards=rewards,
        propensities=propensities,
        matched=matched,
        predicted_logged=at_logged,
        predicted_candidate=at_own,
    )


# --- the site's log ---------------------------------------------------------------------
def _moment(value) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def context_from_snapshot(
    *, features: dict, at: datetime, invoice_id: str, customer_id: str
) -> DecisionContext:
    """The decision's context as far as a retry model reads it, from the inputs it stored."""
    decline = features.get("decline")
    known = {f.name for f in fields(Decline)}
    recovery = features.get("recovery_features") or {}
    return DecisionContext(
        invoice_id=invoice_id,
        customer_id=customer_id,
        at=at,
        trigger="replay",
        currency=features.get("currency", ""),
        amount_due=int(features.get("amount_due") or 0),
        invoice_open=True,
        auto_collection=True,
        decline=Decline(**{k: v for k, v in decline.items() if k in known}) if decline else None,
        first_failed_at=_moment(features.get("first_failed_at")),
        last_failed_at=_moment(features.get("last_failed_at")),
        invoice_failures=int(features.get("invoice_failures") or 0),
        card_attempts=(),
        gateway=features.get("gateway", ""),
        gateway_down=bool(features.get("gateway_down")),
        gateway_reason="",
        card_changed_since_failure=bool(features.get("card_changed_since_failure")),
        country=features.get("country") or recovery.get("country", ""),
        time_zone=features.get("time_zone") or "UTC",
        lifetime_value=int(features.get("lifetime_value") or 0),
        tenure_days=int(features.get("tenure_days") or 0),
        other_unpaid_invoices=int(features.get("other_unpaid_invoices") or 0),
        contacts_last_7d=int(features.get("contacts_last_7d") or 0),
        dunwell_retries=int(features.get("dunwell_retries") or 0),
        dunwell_in_charge=bool(features.get("dunwell_in_charge", True)),
        recovery_features=recovery,
        payday_shares=tuple(
            (name, float(share)) for name, share in features.get("payday_shares") or ()
        ),
    )


def _recovered(action: Action) -> int:
    result = action.result or {}
    if not result.get("charged"):
        return 0
    return int(result.get("amount") or action.params.get("amount") or 0)


def logged_retries(*, limit: int = MAX_LOGGED) -> list[LoggedRetry]:
    """Dunwell's own retries that ran, with their propensity and the search they came from
    (the most recent ``limit``; shadow proposals never ran, so they are not here)."""
    actions = (
        Action.objects.filter(
            kind=ActionKind.RETRY,
            state=ActionState.EXECUTED,
            propensity__gt=0,
            decision__explanation__exploration__has_key="search",
        )
        .exclude(mode=AutomationMode.SHADOW)
        .select_related("decision")
        .order_by("-scheduled_for", "-pk")[:limit]
    )
    return [_logged(a) for a in actions]


def _logged(action: Action) -> LoggedRetry:
    decision = action.decision
    context = context_from_snapshot(
        features=decision.features,
        at=decision.as_of,
        invoice_id=action.invoice_id,
        customer_id=action.customer_id,
    )
    return LoggedRetry(
        context=context,
        at=action.scheduled_for,
        propensity=action.propensity,
        amount=int(action.params.get("amount") or decision.features.get("amount_due") or 0),
        recovered=_recovered(action),
        search=decision.explanation["exploration"]["search"],
    )


@dataclass(frozen=True)
class ModelEstimate:
    label: str  # "retry v3" or the prior's
    active: bool
    trained_at: datetime | None
    estimate: Estimate


def _scorer_of(version: ModelVersion) -> RetryScorer:
    model = pickle.loads(version.artifact)  # noqa: S301 - written only by our own training
    return RetryModelScorer(model=model, version=version.version)


def retry_models_estimated(
    *,
    log: list[LoggedRetry] | None = None,
    scorer_of: Callable[[ModelVersion], RetryScorer] = _scorer_of,
) -> tuple[list[ModelEstimate], int]:
    """The active retry policy (its model, or the prior) and the most recent trained but
    inactive retry models, each estimated on the same log; and how many retries it holds."""
    log = logged_retries() if log is None else log
    retry = ModelVersion.objects.filter(kind=ModelVersion.Kind.RETRY)
    active = retry.filter(active=True).first()
    rows = [(active, scorer_of(active)) if active else (None, PriorRetryScorer())]
    for version in retry.filter(active=False).order_by("-version")[:CANDIDATES_SHOWN]:
        try:
            rows.append((version, scorer_of(version)))
        except (pickle.UnpicklingError, AttributeError, ModuleNotFoundError, EOFError):
            continue  # trained on code that is gone: it cannot be asked
    estimates = []
    for version, scorer in rows:
        estimates.append(
            ModelEstimate(
                label=f"retry v{version.version}" if version else PRIOR_VERSION_LABEL,
                active=version is None or version.active,
                trained_at=version.trained_at if version else None,
                estimate=off_policy_estimate(scorer=scorer, log=log),
            )
        )
    return estimates, len(log)
