"""The invoice page: its decisions, its audit trail, and manual collection (an agent's work
on one invoice, so it sits with the desk that decides who may reach it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from collections_desk.manual_collection_views import manual_collection_context
from dunning.decisions import decision_queries as queries
from dunning.governance.reach import invoice_check_reach
from dunning.models import Invoice


@login_required
@permission_required("dunning.view_decision", raise_exception=True)
def invoice_decisions(request: HttpRequest, cb_id: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), cb_id=cb_id)
    invoice_check_reach(user=request.user, invoice=invoice)  # another team's: 404
    trail = queries.invoice_audit_trail(invoice_id=invoice.cb_id)
    trail_total = trail.count()
    entries = list(trail.select_related(None).order_by("-seq")[: queries.INVOICE_AUDIT_SHOWN])[::-1]
    verify = bool(request.GET.get("verify"))
    context = {
        "invoice": invoice,
        "decisions": queries.invoice_decisions(invoice_id=invoice.cb_id),
        "entries": entries,
        "trail_total": trail_total,
        "verified": verify,
        "problem": queries.audit_entries_check(entries=entries) if verify else None,
        "can_verify_all": request.user.has_perm("dunning.view_auditentry"),
        "can_open_events": request.user.has_perm("dunning.view_chargebeeevent"),
        **manual_collection_context(request, invoice),
    }
    return render(request, "dunning/invoice_decisions.html", context)
