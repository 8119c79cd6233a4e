"""Models trained on synthetic history, for benches and tests that need active models fast.

``a_decline`` is a fresh decline for benches that decide without a database;
``synthetic_history`` makes retries after declines with a payday and time-of-day signal;
``models_activate_synthetic`` fits the retry and recovery models on such data and stores
them as the active ``ModelVersion`` rows, as training would (without the hold-out verdict).
"""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime

import numpy as np
from django.db import transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.recovery_data import CATEGORICAL, FEATURES
from dunning.decisions.learning.recovery_model import build_pipeline
from dunning.decisions.learning.retry_data import FEATURES as RETRY_FEATURES
from dunning.decisions.learning.retry_data import AttemptHistory, attempt_examples
from dunning.decisions.learning.retry_model import RetryModel, RetryRows, retry_model_fit
from dunning.decisions.rules.network_rules import Decline
from dunning.models import ModelVersion

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


def retry_model_synthetic(attempts: int, seed: int = 0) -> RetryModel:
    examples = attempt_examples(synthetic_history(attempts, seed))
    return retry_model_fit(
        RetryRows(examples.categories, examples.numbers), examples.succeeded.astype(int)
    )


def recovery_pipeline_synthetic(rows: int, seed: int = 0):
    """The recovery pipeline fitted on made-up first declines (recovery likelier on 05/91)."""
    rng = np.random.default_rng(seed)
    values = {
        "decline_code": CODES,
        "error_category": np.array(["soft_decline", "hard_decline"], dtype=object),
        "advice_code": np.array(["none", "02"], dtype=object),
        "gateway": np.array(["stripe", "adyen", "braintree"], dtype=object),
        "currency": np.array(["USD", "EUR", "GBP"], dtype=object),
        "brand": np.array(["visa", "mastercard"], dtype=object),
        "funding": np.array(["credit", "debit"], dtype=object),
        "country": COUNTRIES,
        "period_unit": np.array(["month", "year"], dtype=object),
    }
    columns = [rng.choice(values[name], size=rows) for name in CATEGORICAL]
    columns += [
        rng.random(rows) * 6,
        rng.integers(0, 2000, rows),
        rng.integers(0, 5, rows),
        rng.integers(-3, 36, rows),
    ]
    x = np.column_stack(columns).astype(object)
    chance = 0.3 + 0.4 * np.isin(x[:, 0], ["05", "91"])
    y = (rng.random(rows) < chance).astype(int)
    return build_pipeline(rows).fit(x, y)


def models_activate_synthetic(*, attempts: int = 20_000, rows: int = 2_000) -> list[ModelVersion]:
    """Store a synthetic retry and recovery model as the active versions (replacing any)."""
    now = timezone.now()
    made = []
    # One OpenMP thread: on a shared machine the booster's spinning threads cost far more.
    with threadpool_limits(limits=1), transaction.atomic():
        for kind, artifact, features in (
            (ModelVersion.Kind.RETRY, retry_model_synthetic(attempts), RETRY_FEATURES),
            (ModelVersion.Kind.RECOVERY, recovery_pipeline_synthetic(rows), FEATURES),
        ):
            ModelVersion.objects.filter(kind=kind, active=True).update(active=False)
            number = ModelVersion.objects.filter(kind=kind).count() + 1
            made.append(
                ModelVersion.objects.create(
                    kind=kind,
                    version=number,
                    trained_at=now,
                    examples=attempts,
                    window_start=datetime(2024, 1, 1, tzinfo=UTC),
                    window_end=now,
                    features=list(features),
                    metrics={"synthetic": True},
                    active=True,
                    decision_note="synthetic history (bench/synthetic_models.py)",
                    artifact=pickle.dumps(artifact),
                )
            )
    return made


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


def live_decline(sample: dict, n: int, *, occurred_at: int, prefix: str = "live") -> dict:
    """Chargebee's payment_failed sample as a live webhook about a new invoice, customer,
    subscription and card of its own (``<prefix>_<n>``), with the card in the event so
    the decision needs nothing more from Chargebee."""
    event = copy.deepcopy(sample)
    tag = f"{prefix}_{n}"
    event["id"], event["occurred_at"] = f"ev_{tag}", occurred_at
    content = event["content"]
    invoice, txn, customer = content["invoice"], content["transaction"], content["customer"]
    invoice["id"] = txn["linked_invoices"][0]["invoice_id"] = f"inv_{tag}"
    invoice["linked_payments"][0]["txn_id"] = txn["id"] = f"txn_{tag}"
    customer["id"] = f"cus_{tag}"
    content["subscription"]["id"] = f"sub_{tag}"
    for resource in (invoice, txn, content["subscription"]):
        resource["customer_id"] = customer["id"]
    invoice["subscription_id"] = txn["subscription_id"] = f"sub_{tag}"
    customer["primary_payment_source_id"] = txn["payment_source_id"] = f"pm_{tag}"
    for resource in (invoice, txn, customer, content["subscription"]):
        resource["updated_at"], resource["resource_version"] = occurred_at, occurred_at * 1000
    txn["date"] = invoice["date"] = invoice["due_date"] = occurred_at
    content["payment_source"] = {
        "id": f"pm_{tag}",
        "customer_id": customer["id"],
        "type": "card",
        "status": "valid",
        "gateway": "chargebee",
        "gateway_account_id": txn["gateway_account_id"],
        "resource_version": occurred_at * 1000,
        "updated_at": occurred_at,
        "deleted": False,
        "object": "payment_source",
        "card": {
            "brand": "visa",
            "funding_type": "debit",
            "last4": "4810",
            "expiry_month": 12,
            "expiry_year": 2030,
            "object": "card",
        },
    }
    return event
