"""What an action does, in words and money, as an approver reads it and an approval keeps."""

from __future__ import annotations

from dunning.helpers.money import amount_text
from dunning.models import Action, ActionKind, Channel, Invoice

# Kinds that move money or end dunning: their amount is what is at stake.
_MONEY_VERBS = {
    ActionKind.RETRY: "charge the card on file",
    ActionKind.WRITE_OFF: "write off",
    ActionKind.VOID: "void the invoice of",
    ActionKind.REFUND: "refund",
    ActionKind.RECORD_PAYMENT: "record a payment received of",
    ActionKind.STOP_DUNNING: "stop collecting",
    ActionKind.CANCEL_SUBSCRIPTION: "cancel the subscription; the invoice leaves",
    ActionKind.PAYMENT_PLAN: "split into instalments",
    ActionKind.OFFER: "offer a deal on",
}


def action_amount(action: Action, invoice: Invoice | None = None) -> int:
    """Minor units at stake: the amount asked for, else what the invoice has due."""
    invoice = invoice or action.invoice
    return int(action.params.get("amount") or invoice.amount_due or 0)


def action_words(action: Action) -> str:
    """ "Charge the card on file 29.00 USD on invoice inv_1, Tue 03 Dec 2026 10:00 UTC." """
    invoice = action.invoice
    money = f"{amount_text(action_amount(action, invoice), invoice.currency_code)} " + (
        invoice.currency_code or ""
    )
    when = f"{action.scheduled_for:%a %d %b %Y %H:%M} UTC" if action.scheduled_for else "now"
    if action.kind in _MONEY_VERBS:
        what = f"{_MONEY_VERBS[action.kind].capitalize()} {money.strip()}"
    else:
        channel = Channel(action.channel).label if action.channel in Channel.values else ""
        what = action.get_kind_display() + (f" by {channel}" if channel else "")
        what += f" about {money.strip()} due"
    return f"{what} on invoice {invoice.cb_id}, {when}."


def action_shown_text(action: Action) -> str:
    """What an approval of ``action`` keeps as seen: its words, and its message if it sends one."""
    draft = action.params.get("draft") if isinstance(action.params.get("draft"), dict) else {}
    message = (action.params.get("message_text") or "").strip() or draft.get("body", "")
    subject = "" if action.params.get("message_text") else draft.get("subject", "")
    parts = [action_words(action)]
    if subject:
        parts.append(f"Subject: {subject}")
    if message:
        parts.append(message)
    return "\n\n".join(parts)
