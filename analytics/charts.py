"""Plotly figures (plain data/layout dicts) drawn from a ``Table``, and its CSV.

Figures are built as plain dicts rather than with ``plotly.graph_objects``: validating a
dozen figures on every refresh costs more server time than the queries, and plotly.js in
the browser (``static/js/charts.js``) validates them anyway.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from analytics.tables import Table

ACCENT, GOOD, BAD, MUTED = "#2454d6", "#067647", "#b42318", "#98a2b3"
BASE_LAYOUT = {
    "margin": {"l": 56, "r": 16, "t": 8, "b": 48},
    "height": 300,
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1d2330"},
    "legend": {"orientation": "h", "y": -0.22},
    "xaxis": {"automargin": True, "gridcolor": "#eef0f3"},
    "yaxis": {"automargin": True, "gridcolor": "#eef0f3", "rangemode": "tozero"},
}


def figure(table: Table) -> dict:
    kind = table.chart.get("kind", "bars")
    builder = {
        "bars": _bars,
        "grouped_bars": _grouped_bars,
        "bars_and_rate": _bars_and_rate,
        "stacked_bars": _stacked_bars,
        "heatmap": _heatmap,
        "curves": _curves,
        "expected_bars": _expected_bars,
        "forecast_band": _forecast_band,
    }[kind]
    data, layout = builder(table)
    return {"data": data, "layout": {**BASE_LAYOUT, **layout}}


def _bars(table: Table):
    y = table.chart.get("y", table.columns[1])
    bar = {
        "type": "bar",
        "x": table.column(table.columns[0]),
        "y": table.column(y),
        **_links(table),
    }
    return [{**bar, "name": y, "marker": {"color": ACCENT}}], {
        "yaxis": {**BASE_LAYOUT["yaxis"], "title": {"text": y}}
    }


def _links(table: Table, *, outcome: str = "") -> dict:
    """Per point, the invoices behind it (``customdata``: ``static/js/charts.js`` opens it)."""
    links = table.chart.get("links")
    if not links:
        return {}
    suffix = f"&outcome={outcome}" if outcome else ""
    return {"customdata": [f"{link}{suffix}" for link in links]}


def _grouped_bars(table: Table):
    x = table.column(table.columns[0])
    data = [
        {
            "type": "bar",
            "name": "failed revenue",
            "x": x,
            "y": table.column("failed revenue"),
            "marker": {"color": MUTED},
            **_links(table),
        },
        {
            "type": "bar",
            "name": "recovered revenue",
            "x": x,
            "y": table.column("recovered revenue"),
            "marker": {"color": GOOD},
            **_links(table, outcome="recovered"),
        },
    ]
    return data, {"barmode": "group"}


def _bars_and_rate(table: Table):
    data, layout = _grouped_bars(table)
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "recovery rate %",
            "yaxis": "y2",
            "x": table.column(table.columns[0]),
            "y": table.column("recovery rate %"),
            "line": {"color": ACCENT},
            **_links(table),
        }
    )
    layout["yaxis2"] = {
        "overlaying": "y",
        "side": "right",
        "range": [0, 100],
        "dtick": 25,
        "showgrid": False,
        "ticksuffix": "%",
    }
    return data, layout


def _stacked_bars(table: Table):
    x = table.column(table.columns[0])
    colors = (BAD, MUTED, ACCENT)
    data = [
        {"type": "bar", "name": name, "x": x, "y": table.column(name), "marker": {"color": color}}
        for name, color in zip(table.chart["y"], colors, strict=False)
    ]
    return data, {"barmode": "stack"}


def _day_columns(table: Table) -> list[str]:
    return [c for c in table.columns if c.startswith("day ")]


def _heatmap(table: Table):
    days = _day_columns(table)
    data = [
        {
            "type": "heatmap",
            "x": days,
            "y": table.column(table.columns[0]),
            "z": [[row[table.columns.index(d)] for d in days] for row in table.rows],
            "zmin": 0,
            "zmax": 100,
            # Darker is better: more of the cohort recovered by that day.
            "colorscale": [[0, "#f5f8ff"], [0.5, "#8fb0ff"], [1, "#1d3f9e"]],
            "texttemplate": "%{z}",
            "hovertemplate": "%{y}, %{x}: %{z}%<extra></extra>",
            "colorbar": {"title": {"text": "%"}},
        }
    ]
    height = max(300, 28 * len(table.rows) + 80)
    yaxis = {"automargin": True, "autorange": "reversed", "type": "category"}
    return data, {"height": height, "yaxis": yaxis}


def _curves(table: Table):
    days = _day_columns(table)
    x = [int(d.split()[1]) for d in days]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": row[0],
            "x": x,
            "y": [row[table.columns.index(d)] for d in days],
        }
        for row in table.rows
    ]
    layout = {
        "xaxis": {**BASE_LAYOUT["xaxis"], "title": {"text": "days since first failure"}},
        "yaxis": {**BASE_LAYOUT["yaxis"], "range": [0, 100], "title": {"text": "% recovered"}},
        "height": 360,
    }
    return data, layout


def _expected_bars(table: Table):
    """At stake beside the expected recovery, with the 80% interval as error bars."""
    x = table.column(table.columns[0])
    expected = table.column("expected")
    error = {
        "type": "data",
        "symmetric": False,
        "color": "#1d2330",
        "array": [h - e for h, e in zip(table.column("high 80%"), expected, strict=True)],
        "arrayminus": [e - lo for lo, e in zip(table.column("low 80%"), expected, strict=True)],
    }
    data = [
        {
            "type": "bar",
            "name": "at stake",
            "x": x,
            "y": table.column("at stake"),
            "marker": {"color": MUTED},
        },
        {
            "type": "bar",
            "name": "expected recovery (80% interval)",
            "x": x,
            "y": expected,
            "error_y": error,
            "marker": {"color": ACCENT},
        },
    ]
    return data, {"barmode": "group"}


def _forecast_band(table: Table):
    """Each day's forecast: its 95% and 80% bands, the expected line, the actual outcome."""
    x = table.column("day")

    def line(column: str, **extra) -> dict:
        return {"type": "scatter", "mode": "lines", "x": x, "y": table.column(column), **extra}

    edge = {"line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"}
    data = [
        line("high 95%", **edge),
        line("low 95%", **edge, fill="tonexty", fillcolor="rgba(36, 84, 214, 0.10)"),
        line("high 80%", **edge),
        line("low 80%", **edge, fill="tonexty", fillcolor="rgba(36, 84, 214, 0.25)"),
        line(
            "expected",
            name="expected (bands: 80% and 95% intervals)",
            line={"color": ACCENT, "width": 2},
        ),
        {
            "type": "scatter",
            "mode": "markers",
            "name": "actual, within the horizon",
            "x": x,
            "y": table.column("actual"),
            "marker": {"color": GOOD, "size": 7},
        },
    ]
    data[1]["showlegend"] = data[3]["showlegend"] = False
    return data, {"height": 360, "xaxis": {**BASE_LAYOUT["xaxis"], "type": "date"}}


def csv_lines(table: Table) -> Iterator[str]:
    """The table as CSV lines (a header, then its rows), for a streaming response."""

    class Line:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Line())
    yield writer.writerow(table.columns)
    for row in table.rows:
        yield writer.writerow(["" if value is None else value for value in row])
