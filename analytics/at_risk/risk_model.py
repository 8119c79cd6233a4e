"""The renewal-risk score: P(the next renewal's first charge fails), in SQL.

Trained (``renewal_risk_train``) on past renewal invoices in the mirror: the label is
whether the invoice's payment failed (it has a row in the failure summary), the features
are ``factors.MODEL_FEATURES`` as of the invoice's date. A standardised logistic
regression, judged on the most recent quarter (``dunning.decisions.learning.model_training``: it is
activated only if it beats the baseline, past failures alone, and the active version).
Scoring needs no Python per row: the pipeline is linear, so its coefficients are turned
back into one SQL expression, ``1 / (1 + exp(-(b + w . x)))``.

Without an active version a transparent rule score is used:
5% + 10% per failed payment in the last year (at most five) + 10% if use dropped 40%.

A card that expires before the renewal (or no card) is not learnt (see ``factors``): it
raises either score to ``1 - (1 - p) * (1 - EXPIRY_RISK)``. ``EXPIRY_RISK`` is our
assumption: a charge on an expired card fails unless the gateway's account updater or the
customer replaces the card first (the sandbox's Stripe updater fixes 70% of them, Adyen's
none), so a bit over half of them fail.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
from django.db.models import Case, Exists, F, FloatField, OuterRef, Value, When
from django.db.models.functions import Exp, Least
from django.utils import timezone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analytics.at_risk.factors import (
    FAILURES_CAP,
    MODEL_FEATURES,
    USAGE_DROP_NOTABLE,
    factors_annotate,
)
from dunning.decisions.learning.model_training import (
    TrainingResult,
    TrainingSet,
    model_version_train,
)
from dunning.models import Invoice, InvoiceFailure, ModelVersion

KIND = ModelVersion.Kind.RENEWAL_RISK
EXPIRY_RISK = 0.6
RULE_BASE, RULE_PER_FAILURE, RULE_USAGE_DROP = 0.05, 0.10, 0.10
MIN_EXAMPLES = 200


@dataclass(frozen=True)
class Scorer:
    source: str  # "renewal_risk v3" or "rules"
    intercept: float = 0.0
    weights: tuple[float, ...] = ()  # per MODEL_FEATURES, on the raw (unscaled) values

    @property
    def is_model(self) -> bool:
        return bool(self.weights)

    def base(self):
        """P(fail) from the learnt factors, over a queryset annotated by ``factors``."""
        if not self.is_model:
            usage = Case(
                When(usage_drop__gte=USAGE_DROP_NOTABLE, then=Value(RULE_USAGE_DROP)),
                default=Value(0.0),
                output_field=FloatField(),
            )
            return Least(
                Value(0.95),
                Value(RULE_BASE) + F("past_failures") * RULE_PER_FAILURE + usage,
                output_field=FloatField(),
            )
        logit = Value(self.intercept)
        for name, weight in zip(MODEL_FEATURES, self.weights, strict=True):
            logit = logit + F(name) * Value(weight)
        return Value(1.0) / (Value(1.0) + Exp(-logit, output_field=FloatField()))

    def with_expiry(self):
        """The score shown and filtered on: the base raised when the card will not do."""
        return Value(1.0) - (Value(1.0) - self.base()) * (
            Value(1.0) - F("expiring") * Value(EXPIRY_RISK)
        )

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """The same formula in numpy (the tests check it against the SQL)."""
        if not self.is_model:
            return np.minimum(
                0.95,
                RULE_BASE
                + rows[:, 0] * RULE_PER_FAILURE
                + (rows[:, 1] >= USAGE_DROP_NOTABLE) * RULE_USAGE_DROP,
            )
        return 1 / (1 + np.exp(-(self.intercept + rows @ np.array(self.weights))))


def linear_of(pipeline) -> tuple[float, tuple[float, ...]]:
    """The standardised logistic regression as one linear function of the raw features."""
    scaler = pipeline.named_steps["standardscaler"]
    model = pipeline.named_steps["logisticregression"]
    coef = model.coef_[0]
    weights = coef / scaler.scale_
    intercept = float(model.intercept_[0] - (coef * scaler.mean_ / scaler.scale_).sum())
    return intercept, tuple(float(w) for w in weights)


def renewal_scorer() -> Scorer:
    version = ModelVersion.objects.filter(kind=KIND, active=True).first()
    if version is None or version.features != MODEL_FEATURES:
        return Scorer(source="rules")
    pipeline = pickle.loads(version.artifact)  # noqa: S301 - our own training output
    intercept, weights = linear_of(pipeline)
    return Scorer(source=f"{KIND} v{version.version}", intercept=intercept, weights=weights)


def renewal_examples(*, until=None):
    """Past renewal invoices with their factors as of their date and whether they failed."""
    until = until or timezone.now()
    invoices = Invoice.objects.filter(
        recurring=True,
        subscription__isnull=False,
        date__isnull=False,
        date__lt=until,
        deleted=False,
        total__gt=0,
    ).order_by("date", "id")
    rows = factors_annotate(
        invoices,
        at=OuterRef("date"),
        customer_field="customer_id",
        unit_field="subscription__billing_period_unit",
    ).annotate(failed=Exists(InvoiceFailure.objects.filter(invoice_cb_id=OuterRef("cb_id"))))
    return rows.values_list("date", *MODEL_FEATURES, "failed")


def _fit(x: np.ndarray, y: np.ndarray):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


def renewal_training_set(*, until=None) -> TrainingSet:
    rows = list(renewal_examples(until=until))
    times = np.array([row[0].timestamp() for row in rows], dtype=float)
    x = np.array([row[1:-1] for row in rows], dtype=float).reshape(len(rows), len(MODEL_FEATURES))
    y = np.array([bool(row[-1]) for row in rows], dtype=int)
    return TrainingSet(
        kind=KIND,
        what="past renewal invoices",
        features=MODEL_FEATURES,
        times=times,
        x=x,
        y=y,
        fit=_fit,
        baseline_name="failed payments in the year before, alone",
        baseline=lambda train, test: x[test][:, 0] / FAILURES_CAP,
        min_examples=MIN_EXAMPLES,
    )


def renewal_risk_train(*, until=None) -> TrainingResult:
    """Train and record a version; raises ``ColdStart`` with too little history."""
    return model_version_train(renewal_training_set(until=until))
