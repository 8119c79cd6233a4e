"""Pages around channels: the outbox (every message sent) and the LLM prompt templates."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dunning.actions.channels.filters import OutboxFilter
from dunning.actions.channels.forms import PromptChoiceForm, PromptTemplateForm
from dunning.actions.channels.message_life import messages_not_sent
from dunning.actions.channels.prompts import (
    CHANGE_PERMISSION,
    SLOTS,
    PromptChangedMeanwhile,
    PromptEditRefused,
    prompt_template_active,
    prompt_template_update,
)
from dunning.governance.reach import rows_in_reach
from dunning.helpers.filtering import rows_filtered
from dunning.helpers.htmx import htmx_render
from dunning.helpers.htmx_types import HtmxHttpRequest
from dunning.helpers.paging import page_of
from dunning.models import Action, Channel, OutboundMessage, PromptTemplate, Purpose

PAGE_SIZE = 25


@login_required
@permission_required("dunning.view_outboundmessage", raise_exception=True)
def outbox(request: HtmxHttpRequest) -> HttpResponse:
    """Every message Dunwell sent or is sending, newest first, as the customer received it."""
    rows = OutboundMessage.objects.select_related("customer").order_by("-created_at", "-id")
    filtered = rows_filtered(
        OutboxFilter, request=request, rows=rows_in_reach(user=request.user, rows=rows)
    )
    page, query = page_of(request, filtered.rows, size=PAGE_SIZE)
    context = {"form": filtered.form, "page": page, "query": query}
    if not request.htmx:
        waiting = messages_not_sent(rows_in_reach(user=request.user, rows=Action.objects.all()))
        context |= {"not_sent": waiting[:PAGE_SIZE], "not_sent_count": waiting.count()}
    return htmx_render(
        request,
        "dunning/outbox.html",
        context,
        status=filtered.status,
        fragment="dunning/_outbox_table.html",
    )


@login_required
@permission_required("dunning.view_prompttemplate", raise_exception=True)
def prompt_templates(request: HttpRequest) -> HttpResponse:
    """Managers read; admins save a new version (with a reason) for a purpose and channel."""
    can_change = request.user.has_perm(CHANGE_PERMISSION)
    if request.method == "POST" and not can_change:
        raise PermissionDenied
    choice = PromptChoiceForm(request.POST if request.method == "POST" else request.GET)
    if not choice.is_valid():
        choice = PromptChoiceForm({"purpose": "retry_scheduled", "channel": "email"})
        choice.is_valid()
    purpose, channel = choice.cleaned_data["purpose"], choice.cleaned_data["channel"]
    active = prompt_template_active(purpose=purpose, channel=channel)
    form = PromptTemplateForm(
        initial={
            "purpose": purpose,
            "channel": channel,
            "text": active.text,
            "based_on": active.version,
        },
    )
    status = 200
    if request.method == "POST":
        form, status = PromptTemplateForm(request.POST), 400
        if form.is_valid():
            try:
                saved = prompt_template_update(
                    purpose=purpose,
                    channel=channel,
                    text=form.cleaned_data["text"],
                    user=request.user,
                    note=form.cleaned_data["note"],
                    based_on=form.cleaned_data["based_on"],
                )
            except PromptEditRefused as refused:
                form.add_error(None, str(refused))
                status = 409 if isinstance(refused, PromptChangedMeanwhile) else 400
            else:
                messages.success(request, f"Saved as version {saved.version}.")
                url = reverse("dunning:prompt_templates")
                return redirect(f"{url}?purpose={purpose}&channel={channel}")
    context = {
        "choice": choice,
        "form": form,
        "active": active,
        "can_change": can_change,
        "slots": SLOTS,
        "versions": PromptTemplate.objects.filter(purpose=purpose, channel=channel)
        .select_related("created_by")
        .order_by("-version")[:20],
        "overview": _prompt_overview(),
    }
    return htmx_render(request, "dunning/prompt_templates.html", context, status=status)


def _prompt_overview() -> list[dict]:
    """Each purpose and channel with the version in force (0: the built-in default)."""
    versions = {
        (purpose, channel): version
        for purpose, channel, version in PromptTemplate.objects.filter(active=True).values_list(
            "purpose", "channel", "version"
        )
    }
    return [
        {
            "purpose": purpose,
            "purpose_label": purpose_label,
            "channel": channel,
            "channel_label": channel_label,
            "version": versions.get((purpose, channel), 0),
        }
        for purpose, purpose_label in Purpose.choices
        for channel, channel_label in Channel.choices
    ]
