"""Manual collection on the invoice page: collect now, request payment (or only a payment
method), record an offline payment, propose the end-of-dunning actions.

Each form posts here; the service decides whether the request runs at once (the person
may approve it) or waits for a manager. htmx swaps the section in place; without htmx a
success redirects back to the invoice and a refusal shows the section on its own page.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from collections_desk.end_of_dunning import end_of_dunning_propose
from collections_desk.manual_collection import (
    OFFLINE_METHODS,
    REQUEST_PERMISSION,
    ManualRequestRefused,
    manual_collect_now,
    manual_record_payment,
    manual_request_payment,
    manual_request_payment_method,
)
from dunning.actions.execution.executor import OPEN_STATUSES
from dunning.decisions.rules.final_actions import (
    INVOICE_LABELS,
    SUBSCRIPTION_LABELS,
    final_action_defaults,
)
from dunning.governance.reach import invoice_check_reach
from dunning.helpers.htmx import htmx_render
from dunning.helpers.htmx_types import HtmxHttpRequest
from dunning.helpers.money import major_decimal, minor_units
from dunning.helpers.money_fields import AmountField
from dunning.models import Invoice


def _amount_field(invoice: Invoice) -> AmountField:
    # As precise as the invoice's currency: a yen invoice takes whole yen (step 1).
    due = major_decimal(invoice.amount_due, invoice.currency_code)
    return AmountField(label="Amount", currency=invoice.currency_code, initial=due)


class _InvoiceForm(forms.Form):
    def __init__(self, *args, invoice: Invoice, **kwargs):
        self.invoice = invoice
        # Several forms on one page: ids must not collide (two have an "amount").
        kwargs.setdefault("auto_id", f"id_{type(self).__name__.lower()}_%s")
        super().__init__(*args, **kwargs)


class CollectNowForm(_InvoiceForm):
    title = "Collect now"
    help = "Charge the card on file. Less than the amount due leaves the invoice payment due."

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, invoice=invoice, **kwargs)
        self.fields["amount"] = _amount_field(invoice)

    def submit(self, user):
        return [
            manual_collect_now(
                invoice=self.invoice,
                user=user,
                amount=minor_units(self.cleaned_data["amount"], self.invoice.currency_code),
            )
        ]


class RequestPaymentForm(_InvoiceForm):
    title = "Request payment"
    help = "Email the customer a link to pay the outstanding invoices and update the card."

    def submit(self, user):
        return [manual_request_payment(invoice=self.invoice, user=user)]


class RequestPaymentMethodForm(_InvoiceForm):
    title = "Request payment method"
    help = "Email the customer a link to update the payment method only; collect afterwards."

    def submit(self, user):
        return [manual_request_payment_method(invoice=self.invoice, user=user)]


class RecordPaymentForm(_InvoiceForm):
    title = "Record an offline payment"
    help = "Money received outside Chargebee (a transfer, a cheque), applied to this invoice."
    paid_on = forms.DateField(label="Received on", widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(label="Method", choices=list(OFFLINE_METHODS.items()))
    reference = forms.CharField(label="Reference", max_length=100, required=False)
    # A fresh token per form shown: submitting the same form twice records one payment.
    request_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, invoice=invoice, **kwargs)
        self.fields["amount"] = _amount_field(invoice)
        self.order_fields(["amount"])
        self.fields["paid_on"].initial = timezone.now().date()
        self.fields["request_id"].initial = secrets.token_urlsafe(16)

    def submit(self, user):
        data = self.cleaned_data
        outcome = manual_record_payment(
            invoice=self.invoice,
            user=user,
            amount=minor_units(data["amount"], self.invoice.currency_code),
            paid_on=data["paid_on"],
            method=data["method"],
            reference=data["reference"],
            request_id=data.get("request_id") or "",
        )
        return [outcome]


class EndOfDunningForm(_InvoiceForm):
    title = "End of dunning"
    help = "Propose the final actions; each one waits for a manager's approval."
    subscription = forms.ChoiceField(label="Subscription", choices=SUBSCRIPTION_LABELS.items())
    invoice_action = forms.ChoiceField(label="Invoice", choices=INVOICE_LABELS.items())

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, invoice=invoice, **kwargs)
        subscription, invoice_action = final_action_defaults()
        self.fields["subscription"].initial = subscription
        self.fields["invoice_action"].initial = invoice_action

    def submit(self, user):
        return end_of_dunning_propose(
            invoice=self.invoice,
            user=user,
            subscription=self.cleaned_data["subscription"],
            invoice_action=self.cleaned_data["invoice_action"],
        )


FORMS: dict[str, type[_InvoiceForm]] = {
    "collect_now": CollectNowForm,
    "request_payment": RequestPaymentForm,
    "request_payment_method": RequestPaymentMethodForm,
    "record_payment": RecordPaymentForm,
    "end_of_dunning": EndOfDunningForm,
}


def manual_collection_context(request: HttpRequest, invoice: Invoice, bound=None) -> dict:
    """The section's context for the invoice page (``bound``: the form just posted)."""
    can_request = request.user.has_perm(REQUEST_PERMISSION)
    forms_shown = []
    if can_request and invoice.status in OPEN_STATUSES:
        for what, form_class in FORMS.items():
            form = bound if bound is not None and bound.what == what else None
            form = form or form_class(invoice=invoice)
            form.what = what
            forms_shown.append(form)
    return {
        "invoice": invoice,
        "can_request": can_request,
        "collection_forms": forms_shown,
        "invoice_open": invoice.status in OPEN_STATUSES,
    }


@login_required
@require_POST
@permission_required(REQUEST_PERMISSION, raise_exception=True)
def invoice_collect(request: HtmxHttpRequest, cb_id: str, what: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), cb_id=cb_id)
    invoice_check_reach(user=request.user, invoice=invoice)  # another team's: 404
    if what not in FORMS:
        raise Http404("No such request.")
    form = FORMS[what](request.POST, invoice=invoice)
    form.what = what
    if form.is_valid():
        try:
            outcomes = form.submit(request.user)
        except ManualRequestRefused as refused:
            form.add_error(None, str(refused))
        else:
            for outcome in outcomes:
                messages.success(request, outcome.summary())
            if not request.htmx:
                return redirect(reverse("dunning:invoice_decisions", args=[cb_id]) + "#collect")
            form = None
    context = {**manual_collection_context(request, invoice, bound=form), "inline_messages": True}
    status = 200 if form is None else 400
    return htmx_render(
        request,
        "dunning/invoice_collect.html",
        context,
        status=status,
        fragment="dunning/_manual_collection.html",
    )
