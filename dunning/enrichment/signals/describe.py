"""Signals in words, for a decision's explanation: what outside sources said, and who said it.

Pure (reads only the ``Signals`` value), so the policy may call it. Ticket text never
appears here: only counts, the topic and the sentiment score.
"""

from __future__ import annotations

from dunning.enrichment.signals.values import Signals

NEGATIVE_SENTIMENT = -0.4
USAGE_DROP = 0.6  # last month under 60% of the months before


def signals_described(signals: Signals) -> list[str]:
    said = []
    if signals.cancel_intent:
        said.append("a support ticket in the last 30 days asks to cancel")
    if signals.payment_tickets_30d:
        said.append(f"{signals.payment_tickets_30d} support ticket(s) about the payment lately")
    if (
        signals.worst_sentiment_30d is not None
        and signals.worst_sentiment_30d <= NEGATIVE_SENTIMENT
    ):
        said.append(f"negative support sentiment ({signals.worst_sentiment_30d:+.2f})")
    if signals.usage_trend is not None and signals.usage_trend < USAGE_DROP:
        said.append(f"product usage fell to {signals.usage_trend:.0%} of the months before")
    if signals.crm_tier:
        said.append(f"CRM tier {signals.crm_tier}")
    skipped = [source for source in signals.sources if " failed: " in source]
    if skipped:
        said.append("not asked in time: " + "; ".join(skipped))
    return said
