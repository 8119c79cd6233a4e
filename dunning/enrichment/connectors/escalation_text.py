"""The escalation summary as a ticket's subject and body, the same for every tool.

The summary (collections_desk.escalation.escalation_summary) holds ids, amounts, counts and
Dunwell's own reasoning: no card data and nothing the customer wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

from dunning.helpers.money import amount_text


@dataclass(frozen=True)
class TicketStatus:
    status: str  # the tool's own word ("Working", "open", "4")
    closed: bool


def escalation_subject(summary: dict) -> str:
    due = amount_text(summary.get("amount_due") or 0, summary.get("currency"))
    return f"Dunwell: collections case {summary.get('case_id')} — {due} overdue"[:250]


def escalation_body(summary: dict) -> str:
    currency = summary.get("currency")
    ltv = summary.get("lifetime_value")
    score = summary.get("recovery_score")
    lines = [
        f"Customer (Chargebee id): {summary.get('customer_id')}",
        f"Team: {summary.get('team') or 'shared pool'} · segment {summary.get('segment') or '—'}",
        f"Amount due: {amount_text(summary.get('amount_due') or 0, currency)} on "
        f"{', '.join(summary.get('invoices') or []) or '—'}",
        f"Lifetime value: {amount_text(ltv, currency) if ltv is not None else 'unknown'}",
        f"Payment attempts: {summary.get('attempts', 0)} ({summary.get('failed_attempts', 0)} "
        f"failed; last decline: {summary.get('last_decline_category') or '—'})",
        f"Recovery score: {f'{score:.0%}' if isinstance(score, int | float) else 'not scored'}",
        "Recommended: "
        + (
            ", ".join(a.replace("_", " ") for a in summary.get("recommended_actions") or [])
            or "a person decides"
        ),
        f"Why escalated: {summary.get('why') or '—'}",
        f"Dunwell's reasoning: {summary.get('ai_summary') or '—'}",
        f"Escalated by {summary.get('escalated_by', '—')} at {summary.get('escalated_at', '—')}",
        f"Case in Dunwell: {summary.get('case_url', '')}",
    ]
    return "\n".join(lines)
