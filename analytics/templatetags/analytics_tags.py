from __future__ import annotations

from django import template
from django.utils.http import urlencode

register = template.Library()


@register.simple_tag
def csv_url(dashboard, chart_name: str, extra: str = "") -> str:
    """This dashboard's filters as resolved (the currency shown included), as a CSV link."""
    fields = {**dashboard.filters.querystring_fields, "format": "csv", "chart": chart_name}
    if extra:
        key, _, value = extra.partition("=")
        fields[key] = value
    return "?" + urlencode(fields)


@register.filter
def figure_id(chart) -> str:
    return f"figure-{chart.name}"


@register.filter
def get_param(params, name: str) -> str:
    return params.get(name, "")


@register.simple_tag
def toggle_url(params, key: str, value: str) -> str:
    fields = {k: v for k, v in params.items() if k not in ("format", "chart")}
    fields[key] = value
    return "?" + urlencode(fields)


@register.filter
def percent(value, digits: int = 0) -> str:
    """0.125 -> "12.5%" (with ``digits``); None -> "—"."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def points(value, digits: int = 1) -> str:
    """A difference of two rates in percentage points, signed: 0.031 -> "+3.1 pts"."""
    if value is None:
        return "—"
    return f"{float(value) * 100:+.{int(digits)}f} pts"


@register.filter
def chart_named(dashboard, name: str):
    return dashboard.chart(name)


@register.filter
def index(values, position: int):
    """``values[position]``, or "" past its end."""
    values = values or []
    return values[position] if 0 <= position < len(values) else ""


@register.filter
def urlencode_fields(fields: dict) -> str:
    return urlencode(fields)
