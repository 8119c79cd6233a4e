"""Customer satisfaction after resolved billing issues, and the manual work Dunwell saved.

Answers (``collections_desk.CsatAnswer``) are grouped by the channel the survey went
through, the tone it was written in (the customer's segment: friendly for self-serve,
formal for growth and enterprise) and how the case was resolved. Manual work saved is the
share of cases resolved in the period that no person had to touch.
"""

from __future__ import annotations

from django.db.models import Avg, Count

from analytics.filters import DashboardFilters
from analytics.tables import rate
from collections_desk.models import Case, CaseState, CsatAnswer, ResolutionType
from dunning.models import Channel

GROUPS = (
    ("channel", "Channel", dict(Channel.choices)),
    ("segment", "Tone (segment)", {}),
    ("resolution_type", "Resolution", dict(ResolutionType.choices)),
)


def csat_panel(*, filters: DashboardFilters) -> dict:
    answers = CsatAnswer.objects.filter(
        answered_at__gte=filters.since, answered_at__lt=filters.until
    )
    overall = answers.aggregate(average=Avg("score"), count=Count("pk"))
    groups = []
    for field, title, labels in GROUPS:
        rows = answers.values(field).annotate(average=Avg("score"), count=Count("pk"))
        groups.append(
            {
                "title": title,
                "rows": [
                    {
                        "label": labels.get(row[field], row[field] or "—"),
                        "count": row["count"],
                        "average": round(row["average"], 2),
                    }
                    for row in rows.order_by(field)
                ],
            }
        )
    resolved = dict(
        Case.objects.filter(
            state=CaseState.RESOLVED, resolved_at__gte=filters.since, resolved_at__lt=filters.until
        )
        .values_list("resolution_type")
        .annotate(count=Count("pk"))
        .order_by()
    )
    total = sum(resolved.values())
    automatic = resolved.get(ResolutionType.AUTOMATIC, 0)
    return {
        "average": round(overall["average"], 2) if overall["average"] is not None else None,
        "count": overall["count"],
        "groups": groups,
        "resolved": total,
        "automatic": automatic,
        "by_agent": resolved.get(ResolutionType.AGENT, 0),
        "escalated": resolved.get(ResolutionType.ESCALATED, 0),
        "work_saved": rate(automatic, total),
    }
