"""Deciding what to do about a failed payment: network rules first, then models, then guardrails."""
