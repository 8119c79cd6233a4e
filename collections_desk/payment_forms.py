"""The case page's form for an offline payment the agent has seen (a transfer, a cheque)."""

from __future__ import annotations

import secrets

from django import forms
from django.utils import timezone

from collections_desk.cases import UNPAID_STATUSES
from collections_desk.manual_collection import OFFLINE_METHODS, REQUEST_PERMISSION
from collections_desk.models import Case
from dunning.helpers.money import amount_text, major_decimal
from dunning.helpers.money_fields import AmountField, form_amount_check
from dunning.models import Invoice


class CaseRecordPaymentForm(forms.Form):
    invoice = forms.ModelChoiceField(
        queryset=Invoice.objects.none(), to_field_name="cb_id", empty_label=None
    )
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
