from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from analytics import queries
from dunning.queries import event_state_counts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "dunning_totals": queries.dunning_totals_by_currency(),
        "outcomes_30d": queries.payment_outcomes_since(days=30),
        "recent_failures": queries.recent_failed_payments(),
        "event_states": event_state_counts(),
    }
    return render(request, "analytics/home.html", context)
