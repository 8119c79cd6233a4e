"""Recording an offline payment from the case page (a transfer or cheque the agent has seen).

The same service as the invoice page's form (``collections_desk.manual_collection``): a
decision and a ``record_payment`` action under the approval rules, run by the executor
through the SDK with an idempotency key. When the invoice is paid in full its reminders are
cancelled and the case resolves at once (``dunning.actions.offline.settle``); a part payment
leaves both going.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from collections_desk.access import VIEW_CASES
from collections_desk.manual_collection import (
    REQUEST_PERMISSION,
    ManualRequestRefused,
    manual_record_payment,
)
from collections_desk.payment_forms import CaseRecordPaymentForm
from collections_desk.views import _case, _case_refused
from dunning.helpers.money import minor_units


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def case_record_payment_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)  # another team's case: 404
    if not request.user.has_perm(REQUEST_PERMISSION):
        raise PermissionDenied("you may not record payments")
    form = CaseRecordPaymentForm(request.POST, case=case)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(map(str, e))}" for name, e in form.errors.items())
        return _case_refused(request, case, f"Payment not recorded: {errors}", status=400)
    data = form.cleaned_data
    try:
        outcome = manual_record_payment(
            invoice=data["invoice"],
            user=request.user,
            amount=minor_units(data["amount"], data["invoice"].currency_code),
            paid_on=data["paid_on"],
            method=data["method"],
            reference=data["reference"],
            request_id=data.get("request_id") or "",
        )
    except ManualRequestRefused as refused:
        return _case_refused(request, case, f"Payment not recorded: {refused}", status=400)
    except PermissionDenied as refused:
        return _case_refused(request, case, str(refused), status=403)
    messages.success(request, outcome.summary())
    return redirect("collections_desk:case_detail", pk=case.pk)
