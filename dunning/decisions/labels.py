"""Words for the codes Dunwell stores: what people read instead of ``soft_decline``.

One place turns a stored code into a label: decline codes read their meaning from the
network rules' table (``RULES``), the rest from the models' ``choices`` and a few tables
here. A code no table knows is still shown in words ("card_not_supported" -> "Card not
supported"), never as the code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from django.apps import apps

from dunning.decisions.policy_settings.segments import SEGMENT_LABELS, SEGMENT_NAMES
from dunning.decisions.policy_settings.sequence import OFFERS
from dunning.decisions.rules.network_rules import RULES
from dunning.models import ActionKind, ActionState, AutomationMode, Decision
from dunning.models.events import EventState
from dunning.models.messages import Channel, Purpose

# The codes the network rules do not stop on (soft declines), as ISO 8583 names them.
SOFT_DECLINE_MEANINGS = {
    "05": "do not honour",
    "51": "insufficient funds",
    "61": "over the withdrawal limit",
    "65": "over the withdrawal count",
    "91": "issuer unavailable",
    "96": "system malfunction at the issuer",
    "19": "re-enter the transaction",
    "N4": "over the issuer's limit",
}
DECLINE_MEANINGS: dict[str, str] = {
    **{r.code.upper(): r.meaning for r in reversed(RULES) if r.part == "decline_code"},
    **SOFT_DECLINE_MEANINGS,
}
# Short names for the meanings the rules word as a sentence.
SHORT = {
    "the card has expired": "expired card",
    "the card was reported lost": "lost card",
    "the card was reported stolen": "stolen card",
    "the issuer asked for the card to be picked up": "pick up card",
    "the card details were wrong": "wrong card details",
    "the card's security code was wrong": "wrong security code",
    "the bank wants the customer to authenticate": "authentication required",
}

# Most codes read right as words ("soft_decline" -> "Soft decline", "adyen" -> "Adyen"); the
# tables hold the ones that do not.
GATEWAYS = {
    "paypal": "PayPal",
    "authorize_net": "Authorize.Net",
    "checkout_com": "Checkout.com",
    "gocardless": "GoCardless",
    "chargebee": "Chargebee Payments",
    "bluesnap": "BlueSnap",
}
# The decline categories Chargebee reports, offered even before a case carries one.
CATEGORIES = (
    "soft_decline",
    "hard_decline",
    "gateway_error",
    "processing_error",
    "authentication_required",
)
DUNNING_STATUSES = {
    "in_progress": "in progress",
    "exhausted": "exhausted",
    "stopped": "stopped",
    "success": "succeeded",
}
MODES = {"shadow": "Shadow", "approve": "Approve", "auto": "Auto"}
TIMINGS = {"best_slot": "The retry model's best slot", "fixed_delay": "A fixed delay"}
EVENT_SOURCES = {
    "scheduled_job": "scheduled job",
    "admin_console": "admin console",
    "api": "API",
    "hosted_page": "hosted page",
    "portal": "customer portal",
    "system": "Chargebee",
}
CHOICES = {
    "action_kind": dict(ActionKind.choices),
    "action_state": dict(ActionState.choices),
    "mode_long": dict(AutomationMode.choices),
    "trigger": dict(Decision.Trigger.choices),
    "event_state": dict(EventState.choices),
    "channel": dict(Channel.choices),
    "purpose": dict(Purpose.choices),
}
TABLES: dict[str, Mapping[str, str]] = {
    "gateway": GATEWAYS,
    "category": {},
    "segment": SEGMENT_NAMES,
    "segment_long": SEGMENT_LABELS,
    "invoice_status": {},
    "dunning_status": DUNNING_STATUSES,
    "mode": MODES,
    "timing": TIMINGS,
    "offer": OFFERS,
    "event_source": EVENT_SOURCES,
    **CHOICES,
}
# Words that stay in capitals when a code becomes words.
ACRONYMS = {
    "sms": "SMS",
    "crm": "CRM",
    "api": "API",
    "cvc": "CVC",
    "sca": "SCA",
    "id": "id",
    "url": "URL",
    "llm": "LLM",
    "ltv": "LTV",
    "csat": "CSAT",
    "auc": "AUC",
}


def words(code: str) -> str:
    """A code in words: ``card_not_supported`` -> "Card not supported"; "" -> "—"."""
    text = str(code or "").strip()
    if not text:
        return "—"
    parts = [ACRONYMS.get(p.lower(), p) for p in text.replace(".", " ").replace("_", " ").split()]
    first = parts[0]
    parts[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(parts)


def label(code, kind: str = "") -> str:
    """The label of ``code`` in the table ``kind`` (see ``TABLES``), else the code in words.

    A kind with no table (a plan id, a country) leaves the value as it is: it is a name.
    """
    if code is None or code == "":
        return "—"
    if kind not in TABLES:
        return str(code)
    table = TABLES[kind]
    return str(table.get(str(code)) or table.get(str(code).lower()) or words(str(code)))


def decline_label(code: str | None) -> str:
    """ "54" -> "Expired card (54)"; a word code -> its words; no code -> "—"."""
    code = str(code or "").strip()
    if not code:
        return "—"
    meaning = DECLINE_MEANINGS.get(code.upper())
    if meaning is None:
        return words(code) if not code[:1].isdigit() else f"Decline {code}"
    short = SHORT.get(meaning, meaning.removeprefix("the "))
    text = short[:1].upper() + short[1:]
    return text if "_" in code else f"{text} ({code})"


def number(value, digits: int | str = 0) -> str:
    """60000.0 -> "60,000"; 0.25 with digits=2 -> "0.25"; None -> "—"."""
    digits = int(digits)
    if value is None or value == "":
        return "—"
    try:
        figure = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(figure):
        return "—"
    if digits == 0 or (figure.is_integer() and abs(figure) >= 100):
        return f"{round(figure):,}"
    return f"{figure:,.{digits}f}"


def model_label(app_label_dot_model: str) -> str:
    """``dunning.guardrailpolicy`` -> "guardrail policy" (the model's verbose name)."""
    try:
        return str(apps.get_model(app_label_dot_model)._meta.verbose_name)
    except (LookupError, ValueError):
        return words(app_label_dot_model.rpartition(".")[2]).lower()


# Chargebee's ids (inv_…, cus_…) are what people search Chargebee with: they stay as they are.
CHARGEBEE_ID = re.compile(r"^(inv|cus|sub|txn|pm|ev|cn|hp|evt|card)_[A-Za-z0-9_]+$")
CODE = re.compile(r"^[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+$")
# Keys whose values are codes of a known kind.
KEY_KINDS = {
    "segment": "segment",
    "mode": "mode",
    "default_mode": "mode",
    "kind": "action_kind",
    "error_category": "category",
    "category": "category",
    "decline_category": "category",
    "gateway": "gateway",
    "trigger": "trigger",
    "channel": "channel",
    "state": "action_state",
    "purpose": "purpose",
}


def value_text(value, key: str = "") -> str:
    """One value of an audit entry or a snapshot, as a person reads it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value, 0 if value.is_integer() else 3)
    if isinstance(value, int):
        return number(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "; ".join(f"{words(k).lower()} {value_text(v, k)}" for k, v in value.items()) or "—"
    if isinstance(value, Iterable) and not isinstance(value, str):
        return ", ".join(value_text(v, key) for v in value) or "none"
    text = str(value)
    if key in ("decline_code", "code"):
        return decline_label(text)
    if key in KEY_KINDS:
        return label(text, KEY_KINDS[key])
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":  # an ISO time from JSON
        return text[:16].replace("T", " ") + " UTC"
    if CODE.match(text) and not CHARGEBEE_ID.match(text):
        return words(text)
    return text


@dataclass(frozen=True)
class Row:
    """One line of a stored dict: its label and either its text or its own rows."""

    label: str
    text: str = ""
    rows: list[Row] = field(default_factory=list)


def readable_items(data) -> list[Row]:
    """A stored dict as rows for a ``<dl>``: nested dicts become nested rows, the rest text."""
    if not isinstance(data, Mapping):
        return [Row("", value_text(data))] if data not in (None, "", {}, []) else []
    return [
        Row(words(key), rows=readable_items(value))
        if isinstance(value, Mapping) and value
        else Row(words(key), value_text(value, key))
        for key, value in data.items()
    ]
