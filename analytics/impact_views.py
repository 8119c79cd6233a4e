"""The AI impact page: parse the period, ask ``analytics.impact``, render or stream a CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse

from analytics.dashboard_views import REFRESH_SECONDS, _csv_or_page, _respond
from analytics.dashboards import VIEW_PERMISSION
from analytics.filters import PERIOD_CHOICES, FilterError, filters_parse
from analytics.impact import impact_dashboard, impact_recent
from analytics.shadow import NEAR_SLOT
from dunning.decisions.learning.off_policy import MIN_LOGGED

SEGMENT_FILTERS = ("currency", "plan", "country", "gateway")


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def impact(request: HttpRequest) -> HttpResponse:
    context = {
        "params": request.GET,
        "period_choices": PERIOD_CHOICES,
        "refresh_seconds": REFRESH_SECONDS,
        "near_hours": int(NEAR_SLOT.total_seconds() // 3600),
        "off_policy_min": MIN_LOGGED,
    }
    try:
        filters = filters_parse(params=request.GET, default_period="90")
        if any(getattr(filters, name) for name in SEGMENT_FILTERS):
            raise FilterError("The AI impact page filters by period only.")
    except FilterError as error:
        return _respond(request, screen="impact", context={**context, "error": error}, status=400)
    dashboard = impact_dashboard(user=request.user, filters=filters)
    if request.GET.get("format", "html") == "html":
        context["recent"] = impact_recent(filters=filters)
    return _csv_or_page(request, screen="impact", dashboard=dashboard, context=context)
