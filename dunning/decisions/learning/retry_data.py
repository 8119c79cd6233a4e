"""Training examples for "will a retry at this moment succeed?", and the features of a slot.

An example is every payment attempt on an invoice after its first decline, described only
with what was known when it ran: the first decline, the card, how long since the failure
and how many attempts so far, the customer's local hour and weekday, and which payday-like
days fell between the failure and the attempt (the 1st, the 15th, the 25th, the last
business day, Fridays). Nobody tells Dunwell a customer's payday; the model learns which of
those days matter from what happened.

Everything here is vectorised over numpy columns: the same function describes a million
attempts for training and a few hundred candidate slots for one decision. The history
comes as ``AttemptHistory`` columns, read from the mirror in bulk queries (here) or from a
simulation (``sandbox.simulator.policy_replay``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.db.models import Exists, OuterRef

from dunning.decisions.enrichment import time_zone_of
from dunning.decisions.learning.failure_history import prior_failures
from dunning.decisions.timing.moments import moment_features
from dunning.models import Customer, PaymentSource, Transaction

DAY, HOUR = 86_400, 3_600
CATEGORICAL = [
    "decline_code",
    "error_category",
    "advice_code",
    "brand",
    "funding",
    "gateway",
    "country",
]
NUMERIC = [
    "hours_since_failure",
    "attempts_so_far",
    "card_changed",
    "local_hour",
    "local_weekday",
    "day_of_month",
    "days_to_month_end",
    "crossed_first",
    "crossed_15th",
    "crossed_25th",
    "crossed_last_business_day",
    "fridays_crossed",
    "log_amount",
    "tenure_days",
    "prior_failures_365d",
]
FEATURES = CATEGORICAL + NUMERIC


@dataclass(frozen=True)
class AttemptHistory:
    """Every payment attempt on invoices that were declined at least once, as columns.

    Rows are sorted by invoice, then time. ``at`` is Unix seconds; text columns are
    numpy object arrays ("" when unknown).
    """

    invoice: np.ndarray
    customer: np.ndarray
    at: np.ndarray
    succeeded: np.ndarray  # bool
    decline_code: np.ndarray
    error_category: np.ndarray
    advice_code: np.ndarray
    gateway: np.ndarray
    card_last4: np.ndarray
    amount: np.ndarray
    brand: np.ndarray  # of the payment source charged
    funding: np.ndarray
    country: np.ndarray  # of the customer
    customer_since: np.ndarray  # Unix seconds (NaN when unknown)


@dataclass(frozen=True)
class AttemptExamples:
    at: np.ndarray  # when each attempt ran (sorted ascending)
    categories: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]
    succeeded: np.ndarray
    attempt_number: np.ndarray  # 1 = the first retry after the decline

    def __len__(self) -> int:
        return len(self.at)


# --- examples from a history ----------------------------------------------------------------
def _group_starts(keys: np.ndarray) -> np.ndarray:
    """For rows sorted by ``keys``: the index of the first row of each row's group."""
    new_group = np.ones(len(keys), dtype=bool)
    new_group[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new_group)
    return starts[np.cumsum(new_group) - 1]


def attempt_examples(history: AttemptHistory) -> AttemptExamples:
    """One example per attempt after an invoice's first decline, sorted by time."""
    h = history
    n = len(h.at)
    failed = ~h.succeeded
    starts = _group_starts(h.invoice)
    # Each invoice's first decline (rows are sorted, so the first occurrence is the earliest).
    failure_rows = np.flatnonzero(failed)
    groups, first_index = np.unique(starts[failure_rows], return_index=True)
    first_of_group = np.full(n, n, dtype=np.int64)
    first_of_group[groups] = failure_rows[first_index]
    first_fail = first_of_group[starts]
    keep = np.arange(n) > first_fail
    first = first_fail[keep]
    # Every earlier attempt on the invoice was declined (else it would be paid).
    attempts_so_far = (np.arange(n) - starts)[keep]
    at = h.at[keep].astype(np.int64)
    failed_at = h.at[first].astype(np.int64)
    zones = np.array([time_zone_of(c) for c in h.country[first].tolist()], dtype=object)
    since = h.customer_since[first]
    tenure = np.where(np.isnan(since), 0.0, np.maximum((failed_at - since) / DAY, 0.0))
    prior = prior_failures(
        h.customer[failed],
        h.at[failed].astype(np.int64),
        customer=h.customer[first],
        before=failed_at,
    )
    numbers = moment_features(failed_at=failed_at, at=at, zones=zones)
    numbers.update(
        attempts_so_far=attempts_so_far.astype(float),
        card_changed=h.card_last4[keep] != h.card_last4[first],
        log_amount=np.log1p(np.maximum(h.amount[first].astype(float), 0) / 100),
        tenure_days=tenure,
        prior_failures_365d=prior,
    )
    categories = {
        "decline_code": h.decline_code[first],
        "error_category": h.error_category[first],
        "advice_code": h.advice_code[first],
        "brand": h.brand[first],
        "funding": h.funding[first],
        "gateway": h.gateway[first],
        "country": h.country[first],
    }
    order = np.argsort(at, kind="stable")
    return AttemptExamples(
        at=at[order],
        categories={k: v[order] for k, v in categories.items()},
        numbers={k: np.asarray(v, dtype=float)[order] for k, v in numbers.items()},
        succeeded=h.succeeded[keep][order],
        attempt_number=attempts_so_far[order].astype(int),
    )


def _text(values) -> np.ndarray:
    return np.array([v or "" for v in values], dtype=object)


def attempt_history_from_mirror() -> AttemptHistory:
    """Every payment attempt on a declined invoice, in three bulk queries."""
    declined = Transaction.objects.filter(
        invoice_id=OuterRef("invoice_id"), type="payment", status="failure"
    )
    rows = list(
        Transaction.objects.filter(type="payment", date__isnull=False, invoice_id__isnull=False)
        .filter(Exists(declined))
        .order_by("invoice_id", "date", "id")
        .values_list(
            "invoice_id",
            "customer_id",
            "date",
            "status",
            "decline_code",
            "error_code",
            "error_category",
            "processor_advice_code",
            "gateway",
            "card_last4",
            "amount",
            "payment_source_cb_id",
        )
    )
    customers = {
        cb_id: (country or "", created.timestamp() if created else math.nan)
        for cb_id, country, created in Customer.objects.values_list(
            "cb_id", "country", "cb_created_at"
        )
    }
    sources = {
        cb_id: (brand or "", funding or "")
        for cb_id, brand, funding in PaymentSource.objects.values_list(
            "cb_id", "card_brand", "card_funding_type"
        )
    }
    if not rows:
        empty = np.array([], dtype=object)
        return AttemptHistory(
            *([empty] * 2),
            np.array([], dtype=np.int64),
            np.array([], bool),
            *([empty] * 6),
            np.array([], dtype=np.int64),
            *([empty] * 3),
            np.array([], dtype=float),
        )
    cols = list(zip(*rows, strict=True))
    customer_of = [customers.get(c, ("", math.nan)) for c in cols[1]]
    source_of = [sources.get(s, ("", "")) for s in cols[11]]
    return AttemptHistory(
        invoice=_text(cols[0]),
        customer=_text(cols[1]),
        at=np.array([d.timestamp() for d in cols[2]], dtype=np.int64),
        succeeded=np.array([s == "success" for s in cols[3]]),
        decline_code=_text(d or e for d, e in zip(cols[4], cols[5], strict=True)),
        error_category=_text(cols[6]),
        advice_code=_text(cols[7]),
        gateway=_text(cols[8]),
        card_last4=_text(cols[9]),
        amount=np.array(cols[10], dtype=np.int64),
        brand=_text(b for b, _ in source_of),
        funding=_text(f for _, f in source_of),
        country=_text(c for c, _ in customer_of),
        customer_since=np.array([s for _, s in customer_of], dtype=float),
    )
