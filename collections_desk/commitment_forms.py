"""Forms of the case page's commitments: a promise to pay, a follow-up task, a payment plan."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone

from collections_desk.cases import UNPAID_STATUSES
from collections_desk.models import Case
from dunning.helpers.money import amount_text, major_decimal, minor_units
from dunning.helpers.money_fields import AmountField, form_amount_check
from dunning.models import Invoice


class _UnpaidInvoiceForm(forms.Form):
    invoice = forms.ModelChoiceField(
        queryset=Invoice.objects.none(), to_field_name="cb_id", empty_label=None
    )

    def __init__(self, *args, case: Case, prefix_id: str, **kwargs):
        kwargs.setdefault("auto_id", f"id_{prefix_id}_%s")
        super().__init__(*args, **kwargs)
        unpaid = case.invoices.filter(status__in=UNPAID_STATUSES).order_by("date", "id")
        self.fields["invoice"].queryset = unpaid
        self.fields["invoice"].label_from_instance = lambda i: (
            f"{i.cb_id} ({amount_text(i.amount_due, i.currency_code)} {i.currency_code} due)"
        )
        self.first_unpaid = unpaid.first()


class PromiseForm(_UnpaidInvoiceForm):
    amount = AmountField(label="Amount promised")
    promised_for = forms.DateField(label="Pays by", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, prefix_id="promise", **kwargs)
        if self.first_unpaid is not None:
            invoice = self.first_unpaid
            self.fields["amount"].initial = major_decimal(invoice.amount_due, invoice.currency_code)

    def clean(self):
        data = super().clean()
        form_amount_check(self, data)
        return data

    def amount_minor(self) -> int:
        invoice = self.cleaned_data["invoice"]
        return minor_units(self.cleaned_data["amount"], invoice.currency_code)


class TaskForm(forms.Form):
    title = forms.CharField(
        label="To do", max_length=200, widget=forms.TextInput(attrs={"placeholder": "Call back"})
    )
    due_on = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        to_field_name="username",
        empty_label="Me",
        label="For",
    )

    def __init__(self, *args, people=None, **kwargs):
        kwargs.setdefault("auto_id", "id_task_%s")
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["assignee"].queryset = people
        self.fields["due_on"].initial = timezone.now().date()


PERIOD_UNITS = [("week", "weeks"), ("month", "months"), ("day", "days")]


class PaymentPlanForm(_UnpaidInvoiceForm):
    instalments = forms.IntegerField(label="Instalments", min_value=2, max_value=52, initial=3)
    period = forms.IntegerField(label="Every", min_value=1, max_value=30, initial=1)
    unit = forms.ChoiceField(label="Unit", choices=PERIOD_UNITS, initial="month")

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, prefix_id="plan", **kwargs)
        self.fields["invoice"].queryset = self.fields["invoice"].queryset.filter(
            status="payment_due"
        )
