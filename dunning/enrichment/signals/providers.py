"""Signal providers: where support, usage and CRM signals come from.

A provider answers ``signals_for(customer_id=..., at=...)`` with a ``Signals`` value, using
only what was known at ``at``. The default reads the database tables the sync fills
(``SupportTicket``, ``UsageMonth``, ``CrmAccount``). ``SIGNAL_PROVIDERS`` in settings lists
the providers to ask; their answers are merged, the first to know a field wins.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils.module_loading import import_string

from dunning.enrichment.connectors.registry import signal_connectors
from dunning.enrichment.signals.values import Signals
from dunning.models import CrmAccount, SupportTicket, UsageMonth

RECENT = timedelta(days=30)


class SignalProvider(Protocol):
    name: str

    def signals_for(self, *, customer_id: str, at: datetime) -> Signals: ...


class DatabaseSignals:
    name = "database"

    def signals_for(self, *, customer_id: str, at: datetime) -> Signals:
        tickets = SupportTicket.objects.filter(
            customer_cb_id=customer_id, created_at__lte=at, created_at__gt=at - RECENT
        ).aggregate(
            total=Count("id"),
            payment=Count("id", filter=Q(topic="payment_failed")),
            cancel=Count("id", filter=Q(topic="cancel")),
            worst=Min("sentiment"),
        )
        months = list(
            UsageMonth.objects.filter(customer_cb_id=customer_id, month_start__lte=at)
            .order_by("-month_start")
            .values_list("sessions", flat=True)[:4]
        )
        trend = None
        if len(months) >= 2:
            before = sum(months[1:]) / len(months[1:])
            trend = round(months[0] / before, 3) if before else None
        crm = CrmAccount.objects.filter(customer_cb_id=customer_id).first()
        return Signals(
            open_tickets=tickets["total"],
            payment_tickets_30d=tickets["payment"],
            cancel_intent=tickets["cancel"] > 0,
            worst_sentiment_30d=tickets["worst"],
            usage_trend=trend,
            crm_tier=crm.tier if crm else "",
            crm_lifetime_value=crm.lifetime_value if crm else None,
            sources=(self.name,),
        )


def signal_providers() -> list[SignalProvider]:
    """The providers in settings, then those chosen on the Connections page (Zendesk, SQL)."""
    paths = getattr(
        settings, "SIGNAL_PROVIDERS", ["dunning.enrichment.signals.providers.DatabaseSignals"]
    )
    return [import_string(path)() for path in paths] + signal_connectors()


def signals_merged(*, customer_id: str, at: datetime) -> Signals:
    """Ask every provider; a provider that fails is skipped (and named in the explanation)."""
    merged = Signals()
    defaults = Signals()
    for provider in signal_providers():
        try:
            answer = provider.signals_for(customer_id=customer_id, at=at)
        except Exception as error:  # a helpdesk outage must not stop a decision
            merged = replace(merged, sources=(*merged.sources, f"{provider.name} failed: {error}"))
            continue
        updates = {
            f.name: getattr(answer, f.name)
            for f in fields(Signals)
            if f.name != "sources"
            and getattr(merged, f.name) == getattr(defaults, f.name)
            and getattr(answer, f.name) != getattr(defaults, f.name)
        }
        merged = replace(merged, **updates, sources=(*merged.sources, *answer.sources))
    return merged
