"""The customer's satisfaction survey page: public (no login), reached by a signed link."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from collections_desk.csat import SCORES, SurveyRefused, csat_answer_record, csat_survey_open

SCORE_LABELS = {1: "Very poor", 2: "Poor", 3: "OK", 4: "Good", 5: "Excellent"}


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    return render(request, "collections_desk/csat_answer.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def csat_answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        csat_survey_open(token=token)
    except SurveyRefused as refused:  # forged, expired or answered: nothing to fill in
        return _page(request, {"error": str(refused), "closed": True}, refused.status)
    context = {"scores": [(score, SCORE_LABELS[score]) for score in SCORES]}
    if request.method == "POST":
        try:
            csat_answer_record(
                token=token,
                score=request.POST.get("score", ""),
                comment=request.POST.get("comment", ""),
            )
        except SurveyRefused as refused:
            return _page(request, {**context, "error": str(refused)}, refused.status)
        return _page(request, {"thanks": True})
    return _page(request, context)
