"""What each dashboard screen shows, assembled for a permitted user.

Screens (recovery, cohorts; forecast, shadow comparison, experiments and pre-dunning will
sit beside them) each have one ``<screen>_dashboard`` function here: it checks the
permission, runs the screen's cached queries and returns its charts. Views only parse
the filters and render.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from analytics import charts
from analytics.cohorts import cohort_recovery
from analytics.filters import DashboardFilters
from analytics.recovery import (
    main_currency,
    recovery_comparison,
    recovery_currencies,
    recovery_summary,
)
from analytics.recovery_breakdowns import recovery_tables, top_failed_customers
from analytics.tables import Table
from dunning.helpers.distinct_values import column_values
from dunning.models import Customer, PaymentSource, Subscription

VIEW_PERMISSION = "analytics.view_dashboards"
CHOICES_CACHE_SECONDS = 300


class UnknownChart(LookupError):
    pass


@dataclass(frozen=True)
class Chart:
    table: Table
    figure: dict

    @property
    def name(self) -> str:
        return self.table.name


@dataclass(frozen=True)
class Dashboard:
    filters: DashboardFilters
    charts: list[Chart]
    summary: dict = field(default_factory=dict)
    currencies: list[dict] = field(default_factory=list)
    # The previous period's headlines beside these, and the customers owing the most.
    previous: dict = field(default_factory=dict)
    top_customers: list[dict] = field(default_factory=list)

    def chart(self, name: str) -> Chart:
        for chart in self.charts:
            if chart.name == name:
                return chart
        raise UnknownChart(f"There is no chart named {name!r} on this dashboard.")


def dashboard_access_check(*, user) -> None:
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("Managers and admins read the dashboards.")


def recovery_dashboard(*, user, filters: DashboardFilters) -> Dashboard:
    dashboard_access_check(user=user)
    filters = filters.with_currency(main_currency(filters=filters))
    tables = recovery_tables(filters=filters)
    summary = recovery_summary(filters=filters)
    previous = recovery_summary(filters=filters.previous_period())
    return Dashboard(
        filters=filters,
        charts=[Chart(table=t, figure=charts.figure(t)) for t in tables.values()],
        summary=summary,
        currencies=recovery_currencies(filters=filters),
        previous=recovery_comparison(current=summary, previous=previous),
        top_customers=top_failed_customers(user=user, filters=filters),
    )


def cohort_dashboard(*, user, filters: DashboardFilters, by: str) -> Dashboard:
    dashboard_access_check(user=user)
    table = cohort_recovery(filters=filters, by=by)
    curves = replace(
        table,
        name=f"{table.name}_curves",
        title=table.title.replace("Cumulative recovery rate", "Recovery curves"),
        chart={"kind": "curves"},
    )
    return Dashboard(
        filters=filters,
        currencies=recovery_currencies(filters=filters.with_currency("")),
        charts=[
            Chart(table=table, figure=charts.figure(table)),
            Chart(table=curves, figure=charts.figure(curves)),
        ],
    )


def segment_choices() -> dict[str, list[str]]:
    """Values the segment filters offer (each walked along its column's index, one probe
    per value; cached for minutes)."""
    choices = cache.get("analytics:segment_choices")
    if choices is None:
        choices = {
            "plan": column_values(Subscription, "plan_id"),
            "country": column_values(Customer, "country"),
            "gateway": column_values(PaymentSource, "gateway"),
        }
        cache.set("analytics:segment_choices", choices, CHOICES_CACHE_SECONDS)
    return choices
