"""Recording an offline payment from the case page (a transfer or cheque the agent has seen).

The same service as the invoice page's form (``dunning.actions.execution.manual``): a decision and a
``record_payment`` action under the approval rules, run by the executor through the SDK with
an idempotency key. When the invoice is paid in full its reminders are cancelled and the case
resolves at once (``dunning.actions.offline.settle``); a part payment leaves both going.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from collections_desk.access import VIEW_CASES
from collections_desk.cases import UNPAID_STATUSES
from collections_desk.models import Case
from dunning.actions.execution.manual import (
    OFFLINE_METHODS,
    REQUEST_PERMISSION,
    ManualRequestRefused,
    manual_record_payment,
)
from dunning.helpers.money import amount_text, major_decimal, minor_units
from dunning.helpers.money_fields import AmountField, form_amount_check
from dunning.models import Invoice


class CaseRecordPaymentForm(forms.Form):
    invoice = forms.ModelChoiceField(queryset=Invoice.objects.none(), to_field_name="cb_id",
                                     empty_label=None)  # fmt: skip
    amount = AmountField(label="Amount")
    paid_on = forms.DateField(label="Received on", widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(label="Method", choices=list(OFFLINE_METHODS.items()))
    reference = forms.CharField(label="Reference", max_length=100, required=False)
    # A fresh token per form shown: submitting it twice records one payment.
    request_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, case: Case, **kwargs):
        kwargs.setdefault("auto_id", "id_record_%s")
        super().__init__(*args, **kwargs)
        unpaid = case.invoices.filter(status__in=UNPAID_STATUSES).order_by("date", "id")
        self.fields["invoice"].queryset = unpaid
        self.fields["invoice"].label_from_instance = lambda i: (
            f"{i.cb_id} ({amount_text(i.amount_due, i.currency_code)} {i.currency_code} due)"
        )
        self.fields["paid_on"].initial = timezone.now().date()
        self.fields["request_id"].initial = secrets.token_urlsafe(16)
        first = unpaid.first()
        if first is not None:
            self.fields["amount"].initial = major_decimal(first.amount_due, first.currency_code)

    def clean(self):
        data = super().clean()
        form_amount_check(self, data)
        return data


def record_payment_form(*, case: Case, user) -> CaseRecordPaymentForm | None:
    """The form for the case page, if the person may record payments and one is due."""
    if not user.has_perm(REQUEST_PERMISSION) or not case.is_open:
        return None
    form = CaseRecordPaymentForm(case=case)
    return form if form.fields["invoice"].queryset.exists() else None


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def case_record_payment_view(request: HttpRequest, pk: int) -> HttpResponse:
    from collections_desk.views import _case, _case_refused

    case = _case(request, pk)  # another team's case: 404
    if not request.user.has_perm(REQUEST_PERMISSION):
        raise PermissionDenied("you may not record payments")
    form = CaseRecordPaymentForm(request.POST, case=case)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        return _case_refused(request, case, f"Payment not recorded: {errors}", status=400)
    data = form.cleaned_data
    try:
        outcome = manual_record_payment(
            invoice=data["invoice"], user=request.user,
            amount=minor_units(data["amount"], data["invoice"].currency_code),
            paid_on=data["paid_on"], method=data["method"], reference=data["reference"],
            request_id=data.get("request_id") or "",
        )  # fmt: skip
    except ManualRequestRefused as refused:
        return _case_refused(request, case, f"Payment not recorded: {refused}", status=400)
    except PermissionDenied as refused:
        return _case_refused(request, case, str(refused), status=403)
    messages.success(request, outcome.summary())
    return redirect("collections_desk:case_detail", pk=case.pk)
