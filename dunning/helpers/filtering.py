"""A list narrowed by its filters (a django-filter ``FilterSet`` beside each feature).

A list page reads its filters from the query string. Filters that do not validate narrow
nothing: the page answers 400 and shows why above the whole list, rather than a list cut by
the filters that happened to be valid, which would look like an answer to what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from django import forms
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django_filters import FilterSet

RowT = TypeVar("RowT", bound=Model)


@dataclass(frozen=True)
class Filtered(Generic[RowT]):
    form: forms.Form  # the filters as the page renders them, with their errors
    rows: QuerySet[RowT]
    status: int  # 400 when a filter is invalid, else 200


def rows_filtered(
    filters: type[FilterSet], *, request: HttpRequest, rows: QuerySet[RowT]
) -> Filtered[RowT]:
    """``rows`` narrowed by ``filters`` as the request's query string sets them; an empty
    query string is no filter at all (the form unbound: no errors for a first visit)."""
    filterset = filters(request.GET or None, queryset=rows, request=request)
    if filterset.is_bound and not filterset.is_valid():
        return Filtered(form=filterset.form, rows=rows, status=400)
    return Filtered(form=filterset.form, rows=filterset.qs, status=200)
