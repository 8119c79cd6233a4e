"""Money as Chargebee sends it: integers in the currency's minor units.

How many minor units a currency has comes from ISO 4217 as the Unicode CLDR publishes it
(through babel), not a list kept here: JPY and KRW have none, EUR two, KWD and BHD three.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision


def decimals(currency: str | None) -> int:
    """Digits after the point: 2 for EUR, 0 for JPY, 3 for KWD (2 for an unknown code)."""
    code = (currency or "").upper()
    return get_currency_precision(code) if len(code) == 3 else 2


def major_units(amount: int, currency: str | None) -> float:
    """Minor units as people read them: 123456 cents -> 1234.56; 4400 JPY -> 4400."""
    return amount / 10 ** decimals(currency)


def major_decimal(amount: int, currency: str | None) -> Decimal:
    """Exactly, for a form's initial value: 22000 JPY -> Decimal("22000"), 12345 EUR -> 123.45."""
    return Decimal(amount).scaleb(-decimals(currency))


def minor_units(value: Decimal, currency: str | None) -> int:
    """What a person typed, in the currency's minor units: 123.45 EUR -> 12345."""
    return int(value.scaleb(decimals(currency)).to_integral_value())


def too_precise(value: Decimal, currency: str | None) -> bool:
    """Whether ``value`` has more digits after the point than the currency has (1.5 JPY)."""
    return value != value.quantize(Decimal(1).scaleb(-decimals(currency)), rounding="ROUND_DOWN")


def amount_text(amount: int, currency: str | None) -> str:
    """The number alone, grouped: "1,234.56" (or "4,400" for yen)."""
    places = decimals(currency)
    return f"{major_decimal(amount, currency):,.{places}f}"
