"""At-risk renewals and pre-dunning campaigns: parse, ask ``analytics.at_risk``, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from analytics.at_risk.campaigns import LAUNCH_PERMISSION, CampaignRefused, campaign_launch
from analytics.at_risk.factors import reasons_in_words
from analytics.at_risk.listing import (
    REASONS,
    WINDOWS,
    AtRiskFilterError,
    AtRiskFilters,
    CountedRows,
    at_risk_counts,
    at_risk_filters_parse,
    at_risk_subscriptions,
)
from analytics.at_risk.measurement import campaign_results
from analytics.at_risk.risk_model import renewal_scorer
from analytics.dashboards import VIEW_PERMISSION
from analytics.models import CampaignMember, PreDunningCampaign
from dunning.helpers.htmx import htmx_render
from dunning.helpers.paging import page_of
from dunning.models import Channel

PAGE_SIZE = 25
MEMBERS_PAGE_SIZE = 50


def _page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    return htmx_render(
        request,
        "analytics/at_risk.html",
        context,
        status=status,
        fragment="analytics/_at_risk.html",
    )


def _list_context(request: HttpRequest, filters: AtRiskFilters) -> dict:
    scorer = renewal_scorer()
    rows = at_risk_subscriptions(filters=filters, scorer=scorer)
    counts = at_risk_counts(rows)
    page, query = page_of(request, CountedRows(rows, counts["listed"]), size=PAGE_SIZE)
    for row in page:
        row.reasons = reasons_in_words(row)
    return {
        "page": page,
        "query": query,
        "counts": counts,
        "scorer": scorer,
        "filters": filters,
        "min_score_percent": "" if filters.min_score is None else f"{filters.min_score:.0%}"[:-1],
    }


def _base_context(request: HttpRequest) -> dict:
    return {
        "windows": WINDOWS,
        "reasons": REASONS,
        "channels": Channel.choices,
        "may_launch": request.user.has_perm(LAUNCH_PERMISSION),
        "campaigns": PreDunningCampaign.objects.select_related("created_by").annotate(
            member_count=Count("members")
        )[:10],
    }


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def at_risk(request: HttpRequest) -> HttpResponse:
    context = _base_context(request)
    try:
        filters = at_risk_filters_parse(request.GET)
    except AtRiskFilterError as error:
        context.update(_list_context(request, AtRiskFilters()), filter_error=str(error))
        return _page(request, context, status=400)
    context.update(_list_context(request, filters))
    return _page(request, context)


@login_required
@require_POST
def campaign_new(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(LAUNCH_PERMISSION):
        raise PermissionDenied("only managers and admins launch campaigns")
    post = request.POST
    try:
        filters = at_risk_filters_parse(post)
        everyone = post.get("choose") == "all"
        if everyone and filters.min_score is None:
            raise CampaignRefused("give the minimum score for “everyone at or above”")
        campaign = campaign_launch(
            user=request.user,
            name=post.get("name", ""),
            within_days=filters.within_days,
            min_score=filters.min_score if everyone else None,
            customer_ids=None if everyone else post.getlist("customer"),
            channel=post.get("channel") or Channel.EMAIL,
        )
    except (AtRiskFilterError, CampaignRefused) as error:
        context = _base_context(request)
        context.update(_list_context(request, AtRiskFilters()), launch_error=str(error))
        return _page(request, context, status=400)
    messages.success(request, f"Campaign “{campaign.name}” launched.")
    return redirect("analytics:campaign", pk=campaign.pk)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(PreDunningCampaign.objects.select_related("created_by"), pk=pk)
    group = request.GET.get("group") or ""
    if group and group not in CampaignMember.Group.values:
        group = ""
    members = campaign.members.select_related("action").order_by("-score", "id")
    if group:
        members = members.filter(group=group)
    page, query = page_of(request, members, size=MEMBERS_PAGE_SIZE)
    context = {
        "campaign": campaign,
        "results": campaign_results(campaign=campaign),
        "page": page,
        "query": query,
        "group": group,
        "groups": CampaignMember.Group.choices,
    }
    return htmx_render(request, "analytics/campaign.html", context)
