"""Promises to pay, checked: the desk settles them; a broken one's invoice is decided again."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from collections_desk.models import Case
from collections_desk.priority import cases_priority_refresh
from collections_desk.promises import PromisesChecked, promises_settle
from dunning.models import Decision
from dunning.pipeline.decide import decision_make


def promises_check(*, now: datetime | None = None) -> PromisesChecked:
    """Settle every promise whose day is over or whose invoice was paid; resume the dunning
    of each broken one (a fresh decision) and rank its case again with that decision."""
    now = now or timezone.now()
    checked = promises_settle(now=now)
    for case_id, invoice_id in checked.reopened:
        decision_make(invoice_id=invoice_id, trigger=Decision.Trigger.OPEN_INVOICE, at=now)
        cases_priority_refresh(cases=Case.objects.filter(pk=case_id), now=now)
    return checked
