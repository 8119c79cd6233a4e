"""Money as Chargebee sends it: integers in the currency's minor units."""

from __future__ import annotations

# ISO 4217 currencies without minor units; everything else Chargebee sends in cents.
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


def decimals(currency: str | None) -> int:
    return 0 if (currency or "").upper() in ZERO_DECIMAL else 2


def major_units(amount: int, currency: str | None) -> float:
    """Minor units as people read them: 123456 cents -> 1234.56; 4400 JPY -> 4400."""
    return amount / 10 ** decimals(currency)


def amount_text(amount: int, currency: str | None) -> str:
    """The number alone, grouped: "1,234.56" (or "4,400" for yen)."""
    places = decimals(currency)
    return f"{major_units(amount, currency):,.{places}f}"
