"""Deciding about one invoice: the guardrails and models in force, the plan, its inputs.

The run that records a decision with its actions and its desk case is one layer up
(``dunning.pipeline.decide``); this module knows nothing of cases or experiments.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.scoring import active_scorers
from dunning.decisions.plan import Plan
from dunning.decisions.policy import plan_decide
from dunning.decisions.policy_settings.guardrails import guardrails_in_force
from dunning.decisions.policy_settings.sequence import SequenceParams


def decision_plan(*, context: DecisionContext, sequence: SequenceParams) -> Plan:
    """The plan for ``context`` under the active guardrails, models and ``sequence``."""
    return plan_decide(
        context=context,
        guardrails=guardrails_in_force(),
        scorers=active_scorers(),
        sequence=sequence,
    )


def jsonable(value):
    """Datetimes to ISO strings, as the database will give them back (JSONField has no encoder)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def decision_inputs(context: DecisionContext) -> dict:
    """The inputs as JSON (times as ISO 8601), exactly as stored and audited."""
    signals = context.signals
    snapshot = {
        "recovery_features": context.recovery_features,
        "amount_due": context.amount_due,
        "currency": context.currency,
        "decline": vars(context.decline) if context.decline else None,
        "invoice_failures": context.invoice_failures,
        "first_failed_at": context.first_failed_at,
        "last_failed_at": context.last_failed_at,
        "card_attempts_30d": len(context.card_attempts),
        "gateway": context.gateway,
        "gateway_down": context.gateway_down,
        "card_changed_since_failure": context.card_changed_since_failure,
        "time_zone": context.time_zone,
        "time_zone_known_by": context.time_zone_known_by,
        "lifetime_value": context.lifetime_value,
        "tenure_days": context.tenure_days,
        "other_unpaid_invoices": context.other_unpaid_invoices,
        "contacts_last_7d": context.contacts_last_7d,
        "dunwell_retries": context.dunwell_retries,
        "signals": {**vars(signals), "sources": list(signals.sources)},
        "card_updater": context.card_updater.as_dict() if context.card_updater else None,
        "country": context.country,
        "payday_shares": [list(pair) for pair in context.payday_shares],
        "dunwell_in_charge": context.dunwell_in_charge,
    }
    return jsonable(snapshot)
