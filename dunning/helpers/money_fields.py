"""A form field for an amount of money typed in major units, as precise as its currency."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from dunning.helpers.money import decimals, too_precise

# The most digits after the point any ISO 4217 currency has (KWD, BHD, TND: 3).
MOST_DECIMALS = 3


class AmountField(forms.DecimalField):
    """ "22000" for a yen invoice, "123.45" for euros; with no currency yet (the invoice is
    chosen in the same form) up to three decimals, which the form then checks."""

    def __init__(self, *, currency: str | None = None, **kwargs):
        places = decimals(currency) if currency else MOST_DECIMALS
        kwargs.setdefault("min_value", Decimal(1).scaleb(-places))
        super().__init__(decimal_places=places, **kwargs)


def amount_precision_problem(value: Decimal | None, currency: str) -> str | None:
    """Why ``value`` cannot be an amount in ``currency`` (1.5 JPY), or None."""
    if value is None or not too_precise(value, currency):
        return None
    places = decimals(currency)
    if places == 0:
        return f"{currency} has no minor units: enter a whole amount"
    return f"{currency} has {places} digits after the point at most"


def form_amount_check(form, data: dict) -> None:
    """For a form whose invoice is chosen with the amount: the amount fits its currency."""
    invoice = data.get("invoice")
    if invoice is not None and (
        problem := amount_precision_problem(data.get("amount"), invoice.currency_code)
    ):
        form.add_error("amount", problem)
