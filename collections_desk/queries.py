"""Reading for the desk's screens: the queue, a case's timeline, the approval inbox.

Each list is one query with joins and correlated counts (no query per row); the timeline
reads a bounded slice of each source and merges them in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from collections_desk.access import actions_visible_to, cases_visible_to
from collections_desk.ageing import bucket_filter
from collections_desk.models import OPEN_STATES, QUEUE_STATES, Case
from dunning.decisions.labels import decline_label, label, words
from dunning.models import (
    Action,
    ActionState,
    AuditEntry,
    AutomationMode,
    Decision,
    Invoice,
    PaymentSource,
    Subscription,
    Transaction,
)
from dunning.models.messages import OutboundMessage
from dunning.sync.chargebee_links import chargebee_app_url

TIMELINE_PER_SOURCE = 100
# Chargebee gave up: its retries are used up and the invoice is left unpaid.
DUNNING_EXHAUSTED = "exhausted"


def chargebee_gave_up():
    """True for a case with an unpaid invoice whose Chargebee dunning is exhausted."""
    return Exists(
        Invoice.objects.filter(
            cases=OuterRef("pk"),
            status__in=("payment_due", "not_paid"),
            dunning_status=DUNNING_EXHAUSTED,
        )
    )


def awaiting_approval(actions: QuerySet[Action] | None = None) -> QuerySet[Action]:
    """Actions a person must approve: proposed, needing approval, never shadow mode."""
    actions = Action.objects.all() if actions is None else actions
    return actions.filter(state=ActionState.PROPOSED, needs_approval=True).exclude(
        mode=AutomationMode.SHADOW
    )


def queue_cases(*, user, filters: dict, now: datetime | None = None) -> QuerySet[Case]:
    cases = cases_visible_to(user).filter(state__in=filters.get("state") or QUEUE_STATES)
    if filters.get("team"):
        cases = cases.filter(team=filters["team"])
    assignee = filters.get("assignee")
    if assignee == "me":
        cases = cases.filter(assignee=user)
    elif assignee == "none":
        cases = cases.filter(assignee__isnull=True)
    elif assignee:
        cases = cases.filter(assignee__username=assignee)
    for field in ("segment", "decline_category"):
        if filters.get(field):
            cases = cases.filter(**{field: filters[field]})
    if filters.get("collection") == "offline":
        cases = cases.filter(customer__auto_collection="off")
    elif filters.get("collection") == "automatic":
        cases = cases.exclude(customer__auto_collection="off")
    if filters.get("age"):
        cases = cases.filter(bucket_filter(filters["age"], now=now or timezone.now()))
    if filters.get("chargebee") == "gave_up":
        cases = cases.filter(chargebee_gave_up())
    elif filters.get("chargebee") == "retrying":
        cases = cases.exclude(chargebee_gave_up())
    return cases.order_by("-priority", "id")


def queue_rows(*, case_ids: list[int], now: datetime | None = None) -> list[Case]:
    """One page of the queue with what each row shows, in one query.

    Separate from ``queue_cases`` so the pager's OFFSET walks the index alone and the
    per-row counts are computed for the page's rows only, however deep the page.
    """
    waiting = awaiting_approval().filter(customer_id=OuterRef("customer_id"))
    invoices = Case.invoices.through.objects.filter(case_id=OuterRef("pk"))
    rows = list(
        Case.objects.filter(pk__in=case_ids)
        .select_related("customer", "team", "assignee")
        .annotate(
            waiting_approvals=_subquery_count(waiting, "customer_id"),
            invoice_count=_subquery_count(invoices, "case_id"),
            gave_up=chargebee_gave_up(),
        )
        .order_by("-priority", "id")
    )
    now = now or timezone.now()
    for case in rows:  # days past the oldest unpaid invoice's due date (not yet due: 0)
        case.overdue_days = max((now - case.oldest_due_at).days, 0) if case.oldest_due_at else None
    return rows


def _subquery_count(queryset: QuerySet, group_by: str):
    return Coalesce(
        Subquery(
            queryset.order_by().values(group_by).annotate(n=Count("*")).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


# --- the case page ---------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # payment, decision, action, note, case, chargebee, message
    title: str
    detail: str = ""
    actor: str = ""


def case_invoices(*, case: Case) -> list[Invoice]:
    """Every invoice of the customer, unpaid ones first: the case handles them together."""
    on_case = set(case.invoices.values_list("pk", flat=True))
    invoices = list(
        Invoice.objects.filter(customer_id=case.customer_id).order_by("-date", "-id")[:50]
    )
    for invoice in invoices:
        invoice.on_case = invoice.pk in on_case
        invoice.chargebee_url = chargebee_app_url(kind="invoice", cb_id=invoice.cb_id)
    return sorted(invoices, key=lambda i: i.status not in ("payment_due", "not_paid"))


def case_payment_methods(*, case: Case) -> list[PaymentSource]:
    return list(
        PaymentSource.objects.filter(customer_id=case.customer_id, deleted=False).order_by(
            "-cb_updated_at", "-id"
        )[:10]
    )


def case_timeline(*, case: Case) -> list[TimelineEntry]:
    """Payments, retries, decisions, actions and their changes, notes and Chargebee changes."""
    invoice_ids = list(case.invoices.values_list("cb_id", flat=True))
    entries = [
        *_payments(invoice_ids),
        *_decisions(invoice_ids),
        *_action_changes(invoice_ids),
        *_notes_and_case_changes(case),
        *chargebee_changes(case=case, invoice_ids=invoice_ids),
        *timeline_outbound_messages(case=case),
    ]
    return sorted((e for e in entries if e.at), key=lambda e: e.at, reverse=True)


def _payments(invoice_ids: list[str]) -> list[TimelineEntry]:
    attempts = Transaction.objects.filter(invoice_id__in=invoice_ids).order_by("-date")
    entries = []
    for txn in attempts[:TIMELINE_PER_SOURCE]:
        card = f"card …{txn.card_last4}" if txn.card_last4 else ""
        details = (
            decline_label(txn.decline_code) if txn.decline_code else "",
            label(txn.error_category, "category") if txn.error_category else "",
            label(txn.gateway, "gateway") if txn.gateway else "",
            card,
        )
        verb = "Payment" if txn.status == "success" else "Declined"
        entries.append(
            TimelineEntry(
                at=txn.date,
                kind="payment",
                title=f"{verb} on {txn.invoice_id}",
                detail=", ".join(x for x in details if x),
            )
        )
    return entries


def _decisions(invoice_ids: list[str]) -> list[TimelineEntry]:
    decisions = Decision.objects.filter(invoice_id__in=invoice_ids).order_by("-as_of")
    return [
        TimelineEntry(
            at=d.as_of,
            kind="decision",
            title=f"Decision on {d.invoice_id}",
            detail=d.reasoning,
            actor=d.model_version,
        )
        for d in decisions[:TIMELINE_PER_SOURCE]
    ]


def _action_changes(invoice_ids: list[str]) -> list[TimelineEntry]:
    """Each action's proposal and state changes, from the audit trail."""
    actions = Action.objects.filter(invoice_id__in=invoice_ids).annotate(
        key=Cast("pk", CharField())
    )
    audited = AuditEntry.objects.filter(
        object_type="dunning.action", object_id__in=actions.values("key")
    ).order_by("-seq")[:TIMELINE_PER_SOURCE]
    kinds = dict(actions.values_list("key", "kind"))
    entries = []
    for entry in audited:
        data = entry.data
        if "from" in data:
            change = f"{label(data['from'], 'action_state')} → {label(data['to'], 'action_state')}"
        else:
            change = label(entry.action[7:], "action_state").lower()
        kind = label(kinds.get(entry.object_id, "action"), "action_kind")
        entries.append(
            TimelineEntry(
                at=entry.at,
                kind="action",
                title=f"{kind}: {change}",
                detail=data.get("reason") or data.get("approval_reason") or "",
                actor=entry.actor_label,
            )
        )
    return entries


def _notes_and_case_changes(case: Case) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            at=note.created_at,
            kind="note",
            title="Note",
            detail=note.text,
            actor=note.author.get_username(),
        )
        for note in case.notes.select_related("author")[:TIMELINE_PER_SOURCE]
    ]
    changes = AuditEntry.objects.filter(
        object_type="collections_desk.case", object_id=str(case.pk)
    ).exclude(action="case.note_added")
    for entry in changes.order_by("-seq")[:TIMELINE_PER_SOURCE]:
        title = entry.action.replace("case.", "Case ").replace("_", " ")
        detail = entry.data.get("reason") or entry.data.get("why") or ""
        entries.append(
            TimelineEntry(
                at=entry.at, kind="case", title=title, detail=detail, actor=entry.actor_label
            )
        )
    return entries


def chargebee_changes(*, case: Case, invoice_ids: list[str]) -> list[TimelineEntry]:
    """The latest Chargebee change to each mirrored object (the mirror keeps the latest only)."""
    sources = (
        ("Invoice", Invoice.objects.filter(cb_id__in=invoice_ids)),
        ("Subscription", Subscription.objects.filter(customer_id=case.customer_id)),
        ("Payment method", PaymentSource.objects.filter(customer_id=case.customer_id)),
    )
    entries = []
    for noun, rows in sources:
        for obj in rows.exclude(cb_updated_at=None).order_by("-cb_updated_at")[:20]:
            entries.append(
                TimelineEntry(
                    at=obj.cb_updated_at,
                    kind="chargebee",
                    title=f"{noun} {obj.cb_id} now {words(obj.status).lower()}",
                    actor="Chargebee",
                )
            )
    return entries


def timeline_outbound_messages(*, case: Case) -> list[TimelineEntry]:
    """Messages sent to the customer, as they received them."""
    messages = OutboundMessage.objects.filter(customer_id=case.customer_id).order_by("-created_at")
    return [
        TimelineEntry(
            at=message.sent_at or message.created_at,
            kind="message",
            title=f"{message.get_channel_display()} {message.get_status_display().lower()}: "
            f"{message.subject or message.get_purpose_display()}",
            detail=message.body,
            actor=message.drafter,
        )
        for message in messages[:TIMELINE_PER_SOURCE]
    ]


# --- the approval inbox -----------------------------------------------------------------
RISK_GROUPS = (("high", "High risk: a manager approves"), ("low", "Low risk"))


def inbox_actions(*, user) -> QuerySet[Action]:
    visible = awaiting_approval(actions_visible_to(user))
    open_case = Case.objects.filter(customer_id=OuterRef("customer_id"), state__in=OPEN_STATES)
    return (
        visible.select_related("invoice", "customer", "decision", "edited_by")
        .prefetch_related("approvals__user")
        .annotate(case_id=Subquery(open_case.values("pk")[:1]))
        .order_by("scheduled_for", "id")
    )
