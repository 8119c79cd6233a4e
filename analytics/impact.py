"""The AI impact page: shadow comparison, automation, manual work saved, calibration.

Each figure is a ``Table`` (the chart and its CSV share the rows), cached briefly per
filter set like the recovery dashboard's. Definitions live in the modules that count:
``analytics.shadow``, ``analytics.automation``, ``analytics.calibration``.
"""

from __future__ import annotations

from analytics.automation import automation_by_segment, cases_by_segment
from analytics.calibration import active_model_metrics, calibration_buckets
from analytics.dashboards import Chart, Dashboard, dashboard_access_check
from analytics.filters import DashboardFilters
from analytics.impact_charts import impact_figure
from analytics.shadow import NEAR_SLOT, shadow_by_segment, shadow_recent
from analytics.tables import Table, cached
from dunning.decisions.learning.off_policy import MIN_LOGGED, ModelEstimate, retry_models_estimated
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.decisions.policy_settings.segments import SEGMENTS

LIVE, HOLDOUT = "decisions in the period", "training hold-out"


def segment_name(segment: str) -> str:
    return {"": "all segments", "self_serve": "self-serve"}.get(segment, segment)


def _ordered(figures: dict) -> list:
    """Known segments first (in their order), then any other, then the total; nothing at
    all when no segment has a row (the chart then says there is nothing to show)."""
    if set(figures) <= {""}:
        return []
    others = sorted(s for s in figures if s and s not in SEGMENTS)
    return [figures[s] for s in (*SEGMENTS, *others, "") if s in figures]


def window_days() -> int:
    return guardrails_active().dunning_window_days


def _shadow(filters: DashboardFilters) -> dict:
    """Per-segment shadow figures, shared by the tiles and the tables (cached briefly)."""

    def compute():
        return shadow_by_segment(
            since=filters.since, until=filters.until, window_days=window_days()
        )

    return cached(name="impact_shadow", key=filters.cache_key, compute=compute)


def _actions(filters: DashboardFilters) -> dict:
    def compute():
        return automation_by_segment(since=filters.since, until=filters.until)

    return cached(name="impact_actions", key=filters.cache_key, compute=compute)


def _cases(filters: DashboardFilters) -> dict:
    def compute():
        return cases_by_segment(since=filters.since, until=filters.until)

    return cached(name="impact_cases", key=filters.cache_key, compute=compute)


def shadow_tables(*, filters: DashboardFilters) -> list[Table]:
    figures = _ordered(_shadow(filters))
    near_hours = int(NEAR_SLOT.total_seconds() // 3600)
    comparison = Table(
        name="shadow",
        title="Shadow mode: Dunwell's predicted recovery vs what happened under Chargebee",
        columns=[
            "segment",
            "shadow decisions",
            "invoices",
            "settled",
            "awaiting outcome",
            "recovered",
            "observed recovery %",
            "predicted recovery %",
            "observed recovery % (scored)",
            "would escalate",
        ],
        rows=[
            [
                segment_name(s.segment),
                s.decisions,
                s.invoices,
                s.settled,
                s.awaiting,
                s.recovered,
                s.observed_rate,
                s.predicted_rate,
                s.observed_rate_scored,
                s.would_escalate,
            ]
            for s in figures
        ],
        note="Invoices by their first shadow decision; rates over settled ones (recovered "
        "within the dunning window, or the window has passed). Predicted = the mean "
        "recovery score of the scored ones.",
        chart={
            "kind": "grouped",
            "percent": True,
            "y": ["observed recovery % (scored)", "predicted recovery %"],
        },
    )
    slots = Table(
        name="slot_agreement",
        title=f"When Chargebee's next attempt landed within {near_hours} h of Dunwell's slot",
        columns=[
            "segment",
            "compared",
            f"within {near_hours} h",
            "recovery % near",
            "recovery % not near",
        ],
        rows=[
            [segment_name(s.segment), s.compared, s.near, s.near_rate, s.far_rate] for s in figures
        ],
        note="Observational, not an experiment: nobody chose these timings at random, so "
        "invoices near and not near Dunwell's slot may differ in other ways too.",
        chart={"kind": "grouped", "percent": True, "y": ["recovery % near", "recovery % not near"]},
    )
    retries = Table(
        name="retries",
        title="Payment attempts: Chargebee's (made) vs Dunwell's (would have run), per settled "
        "invoice",
        columns=[
            "segment",
            "settled invoices",
            "Chargebee attempts",
            "Dunwell retries",
            "Chargebee per invoice",
            "Dunwell per invoice",
        ],
        rows=[
            [
                segment_name(s.segment),
                s.settled,
                s.chargebee_attempts,
                s.dunwell_retries,
                _per(s.chargebee_attempts, s.settled),
                _per(s.dunwell_retries, s.settled),
            ]
            for s in figures
        ],
        note="Chargebee: payment attempts on the invoice after the decision, within the "
        "window. Dunwell: the retries auto would have run within the window, counted as "
        "auto counts them (a proposal a newer decision replaced before its time never "
        "runs); their outcomes are unknown, so recovery is Chargebee's.",
        chart={"kind": "grouped", "y": ["Chargebee per invoice", "Dunwell per invoice"]},
    )
    return [comparison, slots, retries]


def _per(part: int, whole: int) -> float | None:
    return round(part / whole, 2) if whole else None


def automation_tables(*, filters: DashboardFilters) -> list[Table]:
    actions = _ordered(_actions(filters))
    cases = _ordered(_cases(filters))
    automation = Table(
        name="automation",
        title="Actions outside shadow mode: who let them run",
        columns=[
            "segment",
            "without a person",
            "approved unchanged",
            "edited, then approved",
            "rejected",
            "waiting for a person",
            "automation rate %",
            "agreement %",
        ],
        rows=[
            [
                segment_name(a.segment),
                a.automatic,
                a.approved,
                a.edited,
                a.rejected,
                a.waiting,
                a.automation_rate,
                a.agreement_rate,
            ]
            for a in actions
        ],
        note="Automation rate = run without a person ÷ (that + approved + edited + "
        "rejected + waiting for a person). Agreement = approved unchanged ÷ actions a "
        "person reviewed.",
        chart={
            "kind": "stacked",
            "y": [
                "without a person",
                "approved unchanged",
                "edited, then approved",
                "rejected",
                "waiting for a person",
            ],
        },
    )
    work = Table(
        name="work_saved",
        title="Cases resolved: by themselves, by an agent, escalated",
        columns=[
            "segment",
            "resolved automatically",
            "worked by an agent",
            "escalated",
            "manual work saved %",
        ],
        rows=[
            [segment_name(c.segment), c.automatic, c.agent, c.escalated, c.work_saved]
            for c in cases
        ],
        note="Cases resolved in the period; saved = the share no person had to touch.",
        chart={
            "kind": "stacked",
            "y": ["resolved automatically", "worked by an agent", "escalated"],
        },
    )
    return [automation, work]


def calibration_table(*, filters: DashboardFilters) -> Table:
    live = calibration_buckets(since=filters.since, until=filters.until, window_days=window_days())
    model = active_model_metrics()
    rows = [[LIVE, b["label"], b["decisions"], b["predicted"], b["observed"]] for b in live]
    for row in (model or {}).get("calibration", []):
        rows.append([HOLDOUT, "tenth of the hold-out", row["n"], row["predicted"], row["observed"]])
    return Table(
        name="calibration",
        title="Calibration: predicted vs observed recovery",
        columns=["source", "score band", "invoices", "mean predicted %", "observed recovery %"],
        rows=rows,
        note="Points on the dotted line mean the score is a fair probability. Decisions in "
        "the period: each invoice's first scored decision, settled ones only. Training "
        "hold-out: the active model's own measurement on history it did not see.",
        chart={"kind": "reliability", "sources": [LIVE, HOLDOUT]},
    )


def _money(minor: float) -> str:
    return f"{minor / 100:,.2f}"


def off_policy_line(row: ModelEstimate, *, logged: int) -> dict:
    """One retry model's estimated recovery, in plain words (the page's wording)."""
    e = row.estimate
    source = f"estimated from {logged:,} of Dunwell's own retries"
    if not e.enough:
        text = f"{source}; too few to say (an estimate needs {MIN_LOGGED:,})."
        return {"label": row.label, "active": row.active, "enough": False, "text": text}
    low, high = (e.total(v) for v in e.dr_interval)
    return {
        "label": row.label,
        "active": row.active,
        "enough": True,
        "dr": _money(e.total(e.dr)),
        "dr_low": _money(low),
        "dr_high": _money(high),
        "ips": _money(e.total(e.ips)),
        "matched": e.matched,
        "text": f"would have recovered about {_money(e.total(e.dr))} over those retries "
        f"(95% interval {_money(low)} to {_money(high)}; inverse-propensity "
        f"{_money(e.total(e.ips))}, from the {e.matched:,} retries where it would have "
        f"picked the same slot); {source}.",
    }


def off_policy_lines(*, filters: DashboardFilters) -> list[dict]:
    """The active retry policy beside each trained, not active retry model, estimated on
    the site's own logged retries (not the period's: every retry that ran counts)."""

    def compute():
        estimates, logged = retry_models_estimated()
        return {"rows": [off_policy_line(r, logged=logged) for r in estimates]}

    return cached(name="impact_off_policy", key="all", compute=compute)["rows"]


def impact_summary(*, filters: DashboardFilters) -> dict:
    """The tiles: totals over every segment, and the active recovery model's hold-out."""
    return {
        "shadow": _shadow(filters)[""],
        "actions": _actions(filters)[""],
        "cases": _cases(filters)[""],
        "model": active_model_metrics(),
        "off_policy": off_policy_lines(filters=filters),
    }


def impact_dashboard(*, user, filters: DashboardFilters) -> Dashboard:
    dashboard_access_check(user=user)

    def compute():
        return [
            *shadow_tables(filters=filters),
            *automation_tables(filters=filters),
            calibration_table(filters=filters),
        ]

    tables = cached(name="impact_tables", key=filters.cache_key, compute=compute)
    return Dashboard(
        filters=filters,
        charts=[Chart(table=t, figure=impact_figure(t)) for t in tables],
        summary=impact_summary(filters=filters),
    )


def impact_recent(*, filters: DashboardFilters) -> list[dict]:
    return shadow_recent(since=filters.since, until=filters.until, window_days=window_days())
