"""The Forecast screen: parse the filters, ask ``analytics.forecast_dashboard``, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse

from analytics.dashboard_views import _base_context, _csv_or_page, _respond
from analytics.dashboards import VIEW_PERMISSION
from analytics.filters import FilterError
from analytics.forecast_dashboard import forecast_dashboard, forecast_filters_parse


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def forecast(request: HttpRequest) -> HttpResponse:
    # No plan, country or gateway filters here: the forecast covers every segment.
    context = {**_base_context(request), "choices": {}}
    try:
        filters = forecast_filters_parse(params=request.GET)
    except FilterError as error:
        return _respond(request, screen="forecast", context={**context, "error": error}, status=400)
    dashboard = forecast_dashboard(user=request.user, filters=filters)
    return _csv_or_page(request, screen="forecast", dashboard=dashboard, context=context)
