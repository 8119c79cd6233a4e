"""Decision benchmark: decisions per second for one worker, and training time at 1M attempts.

1. training   a synthetic history of --attempts retries after a decline (plus each invoice's
              first decline), with a payday and time-of-day signal: the time to turn it into
              examples (``attempt_examples``) and to fit the calibrated retry model.
2. deciding   ``plan_decide`` with that model for a fresh decline: the full slot search over
              the 28-day window (one slot every 3 hours, one predict call), the runners-up
              with their reasons, and the guardrails. One thread, as one worker.

Targets: under 20 ms per decision; training under 2 minutes for 1 million attempts. The
full ``decision_make`` path adds the context's queries against the database (see the
decisions tests); it is not timed here.

    .venv/bin/python bench/decide.py [--attempts 1000000] [--decisions 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from threadpoolctl import threadpool_limits  # noqa: E402

from dunning.decisions.context import DecisionContext  # noqa: E402
from dunning.decisions.network_rules import Decline  # noqa: E402
from dunning.decisions.policy import GuardrailSnapshot, Scorers, plan_decide  # noqa: E402
from dunning.decisions.retry_data import AttemptHistory, attempt_examples  # noqa: E402
from dunning.decisions.retry_model import (  # noqa: E402
    RetryModelScorer,
    RetryRows,
    retry_model_fit,
)

DAY = 86_400
CODES = np.array(["51", "05", "91", "96", "59"], dtype=object)
COUNTRIES = np.array(["US", "GB", "DE", "FR", "AU", "JP"], dtype=object)


def synthetic_history(attempts: int, seed: int = 0) -> AttemptHistory:
    """Invoices with a first decline and 1-8 retries; success is likelier after the 1st."""
    rng = np.random.default_rng(seed)
    per_invoice = rng.integers(1, 9, size=attempts // 4)
    per_invoice = per_invoice[: np.searchsorted(np.cumsum(per_invoice), attempts) + 1]
    invoices = len(per_invoice)
    rows = per_invoice + 1  # the first decline, then the retries
    invoice = np.repeat(np.arange(invoices), rows)
    first_at = rng.integers(1_700_000_000, 1_760_000_000, size=invoices)
    offset = np.concatenate(
        [np.r_[0, np.sort(rng.integers(3_600, 26 * DAY, size=n))] for n in per_invoice]
    )
    at = np.repeat(first_at, rows) + offset
    code = np.repeat(rng.choice(CODES, size=invoices), rows)
    day_of_month = (at // DAY) % 30
    hour = (at // 3600) % 24
    chance = 0.08 + 0.25 * (day_of_month < 3) + 0.05 * ((hour >= 6) & (hour < 11))
    chance += 0.4 * np.isin(code, ["91", "96"])
    succeeded = rng.random(len(at)) < chance
    succeeded[np.r_[0, np.cumsum(rows)[:-1]]] = False  # each invoice starts with its decline
    n = len(at)
    text = lambda values: np.asarray(values, dtype=object)  # noqa: E731
    return AttemptHistory(
        invoice=text(np.char.add("inv_", invoice.astype(str))),
        customer=text(np.char.add("cus_", (invoice // 2).astype(str))),
        at=at.astype(np.int64),
        succeeded=succeeded,
        decline_code=text(code),
        error_category=text(np.full(n, "soft_decline")),
        advice_code=text(np.where(rng.random(n) < 0.1, "02", "")),
        gateway=text(rng.choice(["stripe", "adyen", "braintree"], size=n)),
        card_last4=text(np.full(n, "4242")),
        amount=rng.integers(1_000, 50_000, size=n),
        brand=text(rng.choice(["visa", "mastercard"], size=n)),
        funding=text(rng.choice(["credit", "debit"], size=n)),
        country=text(np.repeat(rng.choice(COUNTRIES, size=invoices), rows)),
        customer_since=(at - 400 * DAY).astype(float),
    )


def a_decline(at: datetime) -> DecisionContext:
    return DecisionContext(
        invoice_id="inv_bench",
        customer_id="cus_bench",
        at=at,
        trigger="payment_failed",
        currency="USD",
        amount_due=4_900,
        invoice_open=True,
        auto_collection=True,
        decline=Decline("visa", "51", "", "soft_decline"),
        first_failed_at=at,
        last_failed_at=at,
        invoice_failures=1,
        card_attempts=(),
        gateway="stripe",
        gateway_down=False,
        gateway_reason="",
        card_changed_since_failure=False,
        country="US",
        time_zone="America/Chicago",
        lifetime_value=50_000,
        tenure_days=400,
        other_unpaid_invoices=0,
        contacts_last_7d=0,
        dunwell_retries=0,
        dunwell_in_charge=False,
        recovery_features={
            "decline_code": "51",
            "error_category": "soft_decline",
            "brand": "visa",
            "funding": "debit",
            "gateway": "stripe",
            "country": "US",
            "log_amount": 3.9,
            "tenure_days": 400.0,
            "prior_failures_365d": 0.0,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=300)
    args = parser.parse_args()

    history = synthetic_history(args.attempts)
    clock = time.perf_counter()
    examples = attempt_examples(history)
    features_s = time.perf_counter() - clock
    clock = time.perf_counter()
    model = retry_model_fit(
        RetryRows(examples.categories, examples.numbers), examples.succeeded.astype(int)
    )
    fit_s = time.perf_counter() - clock
    print(
        f"training: {len(examples):,} attempts -> examples {features_s:.1f} s, "
        f"calibrated fit {fit_s:.1f} s, total {features_s + fit_s:.1f} s (target < 120 s)"
    )

    scorers = Scorers(retry=RetryModelScorer(model=model, version="bench"))
    guardrails = GuardrailSnapshot(default_mode="auto")
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    timings, slots = [], 0
    with threadpool_limits(limits=1):
        for i in range(args.decisions + 10):
            context = a_decline(start + timedelta(hours=7 * i))
            clock = time.perf_counter()
            plan = plan_decide(context=context, guardrails=guardrails, scorers=scorers)
            if i >= 10:  # warm-up
                timings.append(time.perf_counter() - clock)
            slots = max(slots, len(plan.explanation.get("slots_considered", [])))
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(
        f"deciding: {len(timings)} decisions, 224 candidate slots each (28 days / 3 h), "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"{1 / statistics.mean(timings):.0f} decisions/s on one thread (target < 20 ms)"
    )


if __name__ == "__main__":
    main()
