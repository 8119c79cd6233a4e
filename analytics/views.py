from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from analytics import queries
from collections_desk.ageing import ageing_counts
from collections_desk.models import OPEN_STATES, Case
from dunning.governance.exchange_rates import reporting_total
from dunning.sync.queries import event_state_counts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    dunning_totals = queries.dunning_totals_by_currency()
    context = {
        "dunning_totals": dunning_totals,
        "dunning_reporting": reporting_total(
            amounts={row["currency_code"]: row["amount_due"] for row in dunning_totals}
        ),
        "outcomes_30d": queries.payment_outcomes_since(days=30),
        "recent_failures": queries.recent_failed_payments(),
        "event_states": event_state_counts(),
        "ageing": ageing_counts(
            cases=Case.objects.filter(state__in=OPEN_STATES), now=timezone.now()
        ),
    }
    return render(request, "analytics/home.html", context)
