"""Who may reach which customer's work beyond what their role allows: asked of the
authentication backends, as every permission is.

Roles say what a person may do; the collections desk adds where (an agent works their own
team's cases). That rule lives with the desk (``collections_desk.reach_backend``, listed in
``AUTHENTICATION_BACKENDS``); the screens and the action state machine below the desk ask
here, so they enforce it without knowing cases or teams.
"""

from __future__ import annotations

from django.contrib import auth
from django.db.models import QuerySet
from django.http import Http404

from dunning.models import Action, Invoice

REACH_INVOICE = "dunning.reach_invoice"


def _backends_with(method: str):
    return [getattr(b, method) for b in auth.get_backends() if hasattr(b, method)]


def action_work_refusal(*, user, action: Action) -> str:
    """Why ``user`` may not work ``action`` where it stands ("" if they may)."""
    for refusal in _backends_with("action_work_refusal"):
        if why := refusal(user=user, action=action):
            return why
    return ""


def invoice_check_reach(*, user, invoice: Invoice) -> None:
    """404 unless ``user`` may reach the invoice's customer."""
    if not user.has_perm(REACH_INVOICE, invoice):
        raise Http404("No such invoice.")


def rows_in_reach(*, user, rows: QuerySet, customer_field: str = "customer_id") -> QuerySet:
    """The rows (decisions, actions, messages, ...) whose customer ``user`` reaches."""
    for narrow in _backends_with("rows_in_reach"):
        rows = narrow(user=user, rows=rows, customer_field=customer_field)
    return rows
