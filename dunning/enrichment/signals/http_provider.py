"""A signal provider asked live, per decision, over HTTP (interface in docs/signals.md).

A team puts a small adapter in front of Zendesk, Intercom or Salesforce that answers
``GET {SIGNALS_HTTP_URL}?customer_id=...&at=...`` with what it knew at ``at``. Only the
Chargebee customer id and the moment leave Dunwell. A slow or failing adapter costs a
decision at most ``TIMEOUT_SECONDS``: the error is raised, and ``signals_merged`` skips
this provider and names it in the decision's sources.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from django.conf import settings

from dunning.enrichment.signals.values import Signals

TIMEOUT_SECONDS = 2.0


class SignalsAnswerError(ValueError):
    """The adapter answered, but not with signals Dunwell can read."""


def _number(value: object, name: str, *, low: float | None = None, high: float | None = None):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SignalsAnswerError(f"{name} must be a number, not {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise SignalsAnswerError(f"{name} {value} is out of range")
    return value


def _count(value: object, name: str) -> int:
    number = _number(value, name, low=0)
    if number is not None and not isinstance(number, int):
        raise SignalsAnswerError(f"{name} must be a whole number, not {value!r}")
    return number or 0


def signals_from_answer(body: object, *, source: str) -> Signals:
    """Read an adapter's answer; a field it leaves out stays unknown (for others to fill)."""
    if not isinstance(body, dict) or not isinstance(body.get("signals"), dict):
        raise SignalsAnswerError('the answer must be a JSON object with a "signals" object')
    s = body["signals"]
    cancel_intent = s.get("cancel_intent", False)
    tier = s.get("crm_tier") or ""
    if not isinstance(cancel_intent, bool):
        raise SignalsAnswerError("cancel_intent must be true or false")
    if not isinstance(tier, str):
        raise SignalsAnswerError("crm_tier must be a string")
    ltv = _number(s.get("crm_lifetime_value"), "crm_lifetime_value", low=0)
    if ltv is not None and not isinstance(ltv, int):
        raise SignalsAnswerError("crm_lifetime_value must be whole minor units")
    return Signals(
        open_tickets=_count(s.get("open_tickets"), "open_tickets"),
        payment_tickets_30d=_count(s.get("payment_tickets_30d"), "payment_tickets_30d"),
        cancel_intent=cancel_intent,
        worst_sentiment_30d=_number(
            s.get("worst_sentiment_30d"), "worst_sentiment_30d", low=-1, high=1
        ),
        usage_trend=_number(s.get("usage_trend"), "usage_trend", low=0),
        crm_tier=tier[:30],
        crm_lifetime_value=ltv,
        sources=(source,),
    )


class HttpSignals:
    name = "http"

    def __init__(self, url: str | None = None, token: str | None = None):
        self.url = url if url is not None else getattr(settings, "SIGNALS_HTTP_URL", "")
        self.token = token if token is not None else getattr(settings, "SIGNALS_HTTP_TOKEN", "")

    def signals_for(self, *, customer_id: str, at: datetime) -> Signals:
        if not self.url:
            raise SignalsAnswerError("SIGNALS_HTTP_URL is not set")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = httpx.get(
            self.url,
            params={"customer_id": customer_id, "at": int(at.timestamp())},
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )
        if response.status_code == 404:
            return Signals(sources=(f"{self.name}: customer unknown",))
        response.raise_for_status()
        try:
            body = response.json()
        except ValueError:
            raise SignalsAnswerError("the answer is not JSON") from None
        return signals_from_answer(body, source=self.name)
