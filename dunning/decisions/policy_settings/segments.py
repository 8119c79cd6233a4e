"""Segments: the groups guardrails and automation modes are set for."""

from __future__ import annotations

from dunning.decisions.context import DecisionContext

SEGMENTS = ("self_serve", "growth", "enterprise")
SEGMENT_LABELS = {
    "self_serve": "Self-serve (lifetime value under 2,000)",
    "growth": "Growth (lifetime value 2,000 to 20,000)",
    "enterprise": "Enterprise (lifetime value 20,000 and over, or CRM tier enterprise)",
}
SEGMENT_NAMES = {"self_serve": "Self-serve", "growth": "Growth", "enterprise": "Enterprise"}
GROWTH_FROM = 200_000  # minor units
ENTERPRISE_FROM = 2_000_000


def segment_name(segment: str) -> str:
    """What people call a segment in a sentence: "self_serve" -> "Self-serve"."""
    return SEGMENT_NAMES.get(segment, segment)


def segment_of(context: DecisionContext) -> str:
    """The CRM's tier when it names one of ours; otherwise by lifetime value."""
    tier = context.signals.crm_tier
    if tier in SEGMENTS:
        return tier
    value = context.signals.crm_lifetime_value or context.lifetime_value
    if value >= ENTERPRISE_FROM:
        return "enterprise"
    if value >= GROWTH_FROM:
        return "growth"
    return "self_serve"
