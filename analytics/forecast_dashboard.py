"""The Forecast screen: the expected recovery of what is open now, and past forecasts."""

from __future__ import annotations

from django.utils import timezone

from analytics import charts
from analytics.dashboards import Chart, Dashboard, dashboard_access_check
from analytics.filters import DashboardFilters, FilterError, filters_parse
from analytics.forecast import Estimate, Forecast, forecast_compute
from analytics.forecast_history import forecast_coverage, forecast_history_table
from analytics.models import ForecastSnapshot
from analytics.tables import Table, cached, major_units
from dunning.decisions import labels
from dunning.governance.exchange_rates import reporting_total

# The forecast is for every plan, country and gateway (snapshots are kept per currency).
FORECAST_PARAMS = {"period", "from", "to", "currency", "format", "chart"}
COLUMNS = ["at stake", "expected", "low 80%", "high 80%", "low 95%", "high 95%"]
KEYS = ["at_stake", "expected", "low80", "high80", "low95", "high95"]  # the same, for templates


def forecast_filters_parse(*, params) -> DashboardFilters:
    unknown = sorted(set(params) - FORECAST_PARAMS)
    if unknown:
        raise FilterError(
            f"Unknown filter: {', '.join(unknown)}. The forecast takes a period (of past "
            "forecasts) and a currency."
        )
    return filters_parse(params=params, default_period="90")


def forecast_now() -> Forecast:
    """The forecast of the invoices open now (cached briefly, like every dashboard figure)."""
    now = timezone.now()
    return cached(name="forecast_now", key=f"{now:%Y%m%d%H%M}", compute=forecast_compute)


def _money(estimate: Estimate, currency: str) -> list:
    values: tuple[float, ...] = (estimate.at_stake, estimate.expected, estimate.low, estimate.high)
    values += (estimate.low95, estimate.high95)
    return [major_units(round(v), currency) for v in values]


def _breakdown(
    *, name: str, label: str, kind: str, groups: dict[str, Estimate], currency: str
) -> Table:
    return Table(
        name=name,
        title=f"Expected recovery by {label} ({currency})",
        columns=[label, "open invoices", *COLUMNS, "fallback rate used"],
        rows=[
            [labels.label(key, kind), e.invoices, *_money(e, currency), e.fallback]
            for key, e in groups.items()
        ],
        note="Bars: amount at stake and expected recovery; whiskers: the 80% interval.",
        chart={"kind": "expected_bars"},
    )


def _summary(forecast: Forecast, currency: str) -> dict:
    mine = forecast.currencies.get(currency)
    total = mine.total if mine else Estimate()
    return {
        "currency": currency,
        "as_of": forecast.as_of,
        "horizon_days": forecast.horizon_days,
        "invoices": total.invoices,
        "fallback": total.fallback,
        "decided": total.invoices - total.fallback,
        **_keyed(total, currency),
        "expected_share": round(100 * total.expected / total.at_stake, 1)
        if total.at_stake
        else None,
        "all_currencies": [
            {"currency": c, "invoices": f.total.invoices, **_keyed(f.total, c)}
            for c, f in forecast.currencies.items()
        ],
        # One headline across currencies, at the versioned exchange rates.
        "reporting": {
            "at_stake": reporting_total(
                amounts={c: f.total.at_stake for c, f in forecast.currencies.items()}
            ),
            "expected": reporting_total(
                amounts={c: round(f.total.expected) for c, f in forecast.currencies.items()}
            ),
        },
    }


def _keyed(estimate: Estimate, currency: str) -> dict:
    return dict(zip(KEYS, _money(estimate, currency), strict=True))


def forecast_dashboard(*, user, filters: DashboardFilters) -> Dashboard:
    dashboard_access_check(user=user)
    forecast = forecast_now()
    currencies = [
        {"currency_code": c, "failed": f.total.invoices} for c, f in forecast.currencies.items()
    ]
    currencies += [{"currency_code": c, "failed": 0} for c in _past_currencies(forecast)]
    currency = filters.currency or (currencies[0]["currency_code"] if currencies else "")
    filters = filters.with_currency(currency)
    mine = forecast.currencies.get(currency)
    tables = [
        forecast_history_table(filters=filters),
        _breakdown(
            name="forecast_by_segment",
            label="segment",
            kind="segment",
            currency=currency,
            groups=mine.by_segment if mine else {},
        ),
        _breakdown(
            name="forecast_by_category",
            label="decline category",
            kind="category",
            currency=currency,
            groups=mine.by_category if mine else {},
        ),
    ]
    summary = _summary(forecast, currency)
    summary["coverage"] = forecast_coverage(filters=filters)
    return Dashboard(
        filters=filters,
        charts=[Chart(table=t, figure=charts.figure(t)) for t in tables],
        summary=summary,
        currencies=currencies,
    )


def _past_currencies(forecast: Forecast) -> list[str]:
    """Currencies with past forecasts but nothing open now (their history is still shown)."""
    past = ForecastSnapshot.objects.exclude(currency__in=list(forecast.currencies))
    return list(past.values_list("currency", flat=True).distinct().order_by("currency"))
