"""The reporting currency and the rates that turn every currency into it.

One versioned document (``dunning.governance.config_versions``, key ``exchange_rates``): a reporting
currency and, per other currency, what one unit of it is worth in the reporting currency.
Admins change the rates on a settings page with a reason; every version is kept, and a
headline converted with them names the version it used. Money is never converted where a
rate is missing: that currency is left out of the headline and named.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from dunning.governance.config_versions import (
    ConfigKind,
    config_active,
    config_current,
    config_kind_register,
)
from dunning.helpers.money import decimals, major_decimal

VIEW_PERMISSION = "dunning.view_channel_settings"
# The admins who change the installation's other settings change the rates too.
CHANGE_PERMISSION = "dunning.change_channel_settings"


def _defaults() -> dict:
    return {"reporting_currency": "EUR", "rates": {}}


def _rate(text) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def _is_code(code) -> bool:
    return isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()


def exchange_rates_problems(data: dict) -> list[str]:
    problems = []
    if not _is_code(data.get("reporting_currency")):
        problems.append("the reporting currency is a three-letter code such as EUR")
    rates = data.get("rates")
    if not isinstance(rates, dict):
        return [*problems, "give the rates as one currency and rate a line"]
    for code, text in rates.items():
        if not _is_code(code):
            problems.append(f"{code!r} is not a three-letter currency code")
        elif _rate(text) is None:
            problems.append(f"the rate for {code} must be a number above zero")
    return problems


EXCHANGE_RATES = config_kind_register(
    ConfigKind(
        key="exchange_rates",
        label="Exchange rates",
        change_permission=CHANGE_PERMISSION,
        defaults=_defaults,
        problems=exchange_rates_problems,
    )
)


@dataclass(frozen=True)
class ReportingTotal:
    currency: str
    amount: Decimal  # in major units of ``currency``, rounded to its minor unit
    version: int  # the rate table's version (0: the defaults, no rates saved)
    counted: list[str]
    missing: list[str]  # currencies left out: no rate for them


def reporting_total(*, amounts: dict[str, int]) -> ReportingTotal:
    """``{"USD": 123456, "JPY": 22000}`` (minor units) in the reporting currency."""
    data = config_current(kind=EXCHANGE_RATES)
    active = config_active(kind=EXCHANGE_RATES)
    target = data["reporting_currency"]
    rates = {code: _rate(text) for code, text in data.get("rates", {}).items()}
    rates[target] = Decimal(1)
    total, counted, missing = Decimal(0), [], []
    for code, amount in amounts.items():
        rate = rates.get((code or "").upper())
        if rate is None:
            missing.append(code or "?")
            continue
        total += major_decimal(amount or 0, code) * rate
        counted.append(code)
    step = Decimal(1).scaleb(-decimals(target))
    return ReportingTotal(
        currency=target,
        amount=total.quantize(step),
        version=active.version if active else 0,
        counted=counted,
        missing=missing,
    )


def rates_text(data: dict) -> str:
    """The rates as the settings form shows them: one "USD 0.92" a line."""
    return "\n".join(f"{code} {rate}" for code, rate in sorted(data.get("rates", {}).items()))


def rates_parse(text: str) -> tuple[dict[str, str], list[str]]:
    """Lines of "USD 0.92" (or "USD=0.92") into rates, and the lines that could not be read."""
    rates, problems = {}, []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.replace("=", " ").replace(":", " ").split()
        if not parts:
            continue
        if len(parts) != 2:
            problems.append(f"line {number}: write a currency and its rate, like “USD 0.92”")
            continue
        code, rate = parts[0].upper(), parts[1]
        if code in rates:
            problems.append(f"line {number}: {code} has a rate already")
        rates[code] = rate
    return rates, problems
