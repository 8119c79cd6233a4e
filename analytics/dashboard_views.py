"""The dashboard screens: parse the filters, ask ``analytics.dashboards``, render or stream."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from analytics import charts
from analytics.cohorts import COHORT_FIELDS, DAYS
from analytics.csat import csat_panel
from analytics.dashboards import (
    VIEW_PERMISSION,
    Dashboard,
    UnknownChart,
    cohort_dashboard,
    recovery_dashboard,
    segment_choices,
)
from analytics.filters import PERIOD_CHOICES, FilterError, filters_parse
from analytics.recovery_breakdowns import DIMENSIONS
from analytics.recovery_invoices import (
    BUCKET_PARAMS,
    bucket_parse,
    invoice_csv_lines,
    recovery_invoice_rows,
    recovery_invoices_page,
)
from analytics.staticfiles import plotly_stylesheet
from collections_desk.access import VIEW_CASES
from dunning.helpers.htmx import htmx_render
from dunning.helpers.paging import page_of
from dunning.helpers.security_headers import CONTENT_SECURITY_POLICY

REFRESH_SECONDS = 30
INVOICES_PER_PAGE = 50
# plotly.js positions legends, titles and hover labels with style="" attributes it sets
# from script; a page with charts allows inline style *attributes* (never <style> elements
# and never inline script). Every other page keeps the strict policy.
CHART_PAGE_POLICY = (
    f"{CONTENT_SECURITY_POLICY}; style-src-attr 'unsafe-inline'; "
    # 'report-sample': a refused <style> is reported with its first characters.
    "style-src-elem 'self' 'report-sample'"
)
CHART_PAGE_HEADERS = {"Content-Security-Policy": CHART_PAGE_POLICY}


def _respond(request: HttpRequest, *, screen: str, context: dict, status: int = 200):
    return htmx_render(
        request,
        f"analytics/{screen}.html",
        context,
        status=status,
        fragment=f"analytics/_{screen}.html",
        headers=CHART_PAGE_HEADERS,
    )


def _base_context(request: HttpRequest) -> dict:
    return {
        "params": request.GET,
        "period_choices": PERIOD_CHOICES,
        "choices": segment_choices(),
        "refresh_seconds": REFRESH_SECONDS,
    }


def _csv_or_page(request: HttpRequest, *, screen: str, dashboard: Dashboard, context: dict):
    if request.GET.get("format") == "csv":
        try:
            table = dashboard.chart(request.GET.get("chart", "")).table
        except UnknownChart as unknown:
            return HttpResponse(str(unknown), status=400, content_type="text/plain")
        response = StreamingHttpResponse(charts.csv_lines(table), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{table.name}.csv"'
        return response
    if request.GET.get("format", "html") != "html":
        return HttpResponse("format is html or csv.", status=400, content_type="text/plain")
    return _respond(request, screen=screen, context={**context, "dashboard": dashboard})


def plotly_css(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(plotly_stylesheet(), content_type="text/css")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def recovery(request: HttpRequest) -> HttpResponse:
    context = _base_context(request)
    try:
        filters = filters_parse(params=request.GET, default_period="90")
    except FilterError as error:
        return _respond(request, screen="recovery", context={**context, "error": error}, status=400)
    dashboard = recovery_dashboard(user=request.user, filters=filters)
    context["dimensions"] = DIMENSIONS
    context["csat"] = csat_panel(filters=filters)
    return _csv_or_page(request, screen="recovery", dashboard=dashboard, context=context)


@login_required
def recovery_invoices(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The invoices behind a bar or point of the dashboard (agents: their teams' only)."""
    if not (request.user.has_perm(VIEW_PERMISSION) or request.user.has_perm(VIEW_CASES)):
        raise PermissionDenied("Managers, admins and agents read the failed invoices.")
    try:
        filters = filters_parse(params=request.GET, default_period="90", also=BUCKET_PARAMS)
        bucket = bucket_parse(params=request.GET)
    except FilterError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    if request.GET.get("format", "html") not in ("html", "csv"):
        return HttpResponse("format is html or csv.", status=400, content_type="text/plain")
    rows = recovery_invoices_page(user=request.user, filters=filters, bucket=bucket)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(invoice_csv_lines(rows), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="failed_invoices.csv"'
        return response
    page, query = page_of(request, rows, size=INVOICES_PER_PAGE)
    context = {
        "filters": filters,
        "bucket_words": bucket.words(filters=filters),
        "page": page,
        "rows": recovery_invoice_rows(page.object_list),
        "query": query,
        "csv_query": f"{query}&format=csv" if query else "format=csv",
        "reads_dashboards": request.user.has_perm(VIEW_PERMISSION),
    }
    return htmx_render(
        request,
        "analytics/recovery_invoices.html",
        context,
        fragment="analytics/_recovery_invoices.html",
    )


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def cohorts(request: HttpRequest) -> HttpResponse:
    context = {**_base_context(request), "cohort_fields": COHORT_FIELDS, "days": DAYS}
    by = request.GET.get("by", "failure")
    try:
        if by not in COHORT_FIELDS:
            raise FilterError("by: cohorts are by failure month or by signup month.")
        filters = filters_parse(params=request.GET, default_period="365")
    except FilterError as error:
        return _respond(request, screen="cohorts", context={**context, "error": error}, status=400)
    dashboard = cohort_dashboard(user=request.user, filters=filters, by=by)
    context["by"] = by
    return _csv_or_page(request, screen="cohorts", dashboard=dashboard, context=context)
