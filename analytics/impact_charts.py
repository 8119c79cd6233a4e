"""Figures of the AI impact page (plain plotly dicts, like ``analytics.charts``)."""

from __future__ import annotations

from analytics.charts import ACCENT, BAD, BASE_LAYOUT, GOOD, MUTED
from analytics.tables import Table

PALETTE = (ACCENT, GOOD, "#f79009", BAD, MUTED)


def impact_figure(table: Table) -> dict:
    builder = {"grouped": _grouped, "stacked": _stacked, "reliability": _reliability}
    data, layout = builder[table.chart["kind"]](table)
    return {"data": data, "layout": {**BASE_LAYOUT, **layout}}


def _bars(table: Table) -> list[dict]:
    x = table.column(table.columns[0])
    return [
        {"type": "bar", "name": name, "x": x, "y": table.column(name), "marker": {"color": color}}
        for name, color in zip(table.chart["y"], PALETTE, strict=False)
    ]


def _grouped(table: Table):
    layout = {"barmode": "group"}
    if table.chart.get("percent"):
        layout["yaxis"] = {**BASE_LAYOUT["yaxis"], "range": [0, 100], "ticksuffix": "%"}
    return _bars(table), layout


def _stacked(table: Table):
    return _bars(table), {"barmode": "stack"}


def _reliability(table: Table):
    """Observed against predicted, per source; the diagonal is a perfectly calibrated model."""
    source, predicted, observed, count = (
        table.columns.index(c)
        for c in ("source", "mean predicted %", "observed recovery %", "invoices")
    )
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "perfectly calibrated",
            "x": [0, 100],
            "y": [0, 100],
            "line": {"color": MUTED, "dash": "dot"},
            "hoverinfo": "skip",
        }
    ]
    for name, color in zip(table.chart["sources"], (ACCENT, GOOD), strict=False):
        rows = [row for row in table.rows if row[source] == name]
        if not rows:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [row[predicted] for row in rows],
                "y": [row[observed] for row in rows],
                "text": [f"{row[count]} invoices" for row in rows],
                "hovertemplate": "predicted %{x}%, observed %{y}%<br>%{text}<extra></extra>",
                "line": {"color": color},
                "marker": {"size": 9},
            }
        )
    axis = {"range": [-3, 103], "ticksuffix": "%", "gridcolor": "#eef0f3", "zeroline": False}
    layout = {
        "xaxis": {**axis, "title": {"text": "predicted recovery (score)"}},
        "yaxis": {**axis, "title": {"text": "observed recovery"}},
        "height": 360,
    }
    return data, layout
