"""A queryset compiled to SQL once per process, then run again with other values.

Django compiles a queryset every time it runs. On a hot path whose statement nests many
subqueries (each decision's context) compiling cost more than the database's own work,
although the SQL of one shape never changes: only the values in it do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

logger = logging.getLogger("dunwell.queries")


@dataclass(frozen=True)
class _Slot:
    name: str
    adapts_datetime: bool


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    names: list[str]
    converters: dict
    compiler: SQLCompiler


@dataclass(frozen=True)
class _Plan:
    statement: _Statement
    slots: dict[int, _Slot]


def _changed(value: Any) -> Any:
    """Another value of the same kind, to see where in the parameters ``value`` lands."""
    if isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "~"
    return None


def _uncached(build: Callable, why: str) -> _Plan | None:
    logger.info("%s compiled on every call: %s", build.__qualname__, why)
    return None


class CompiledQuery:
    """``build(**arguments)`` compiled once per shape; later calls only bind the values.

    The first call of a shape compiles it once with the caller's values and once more per
    argument with that argument changed, which shows where each lands in the parameters.
    When the SQL itself changes with a value, or a value is transformed in a way this does
    not reproduce (``%`` added for ``contains``, say), the shape is never cached and each
    call compiles as Django would.
    """

    def __init__(self, build: Callable[..., QuerySet]):
        self._build = build
        self._plans: dict[tuple, _Plan | None] = {}

    def rows(self, *, shape: Hashable = (), **arguments: Any) -> list[dict[str, Any]]:
        """The rows of ``build(**arguments)``, a ``values()`` queryset, as it gives them."""
        alias = DEFAULT_DB_ALIAS
        key = (connections[alias].vendor, shape, tuple(sorted(arguments)))
        if key not in self._plans:
            self._plans[key] = self._plan(arguments, alias)
        plan = self._plans[key]
        if plan is None:
            statement = self._compiled(arguments, alias)
            params = statement.params
        else:
            statement, params = plan.statement, tuple(self._bound(plan, arguments, alias))
        with connections[alias].cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        if statement.converters:  # SQLite's text datetimes and 0/1 booleans, for instance
            rows = statement.compiler.apply_converters(rows, statement.converters)
        return [dict(zip(statement.names, row, strict=True)) for row in rows]

    def _compiled(self, arguments: dict[str, Any], alias: str) -> _Statement:
        query = self._build(**arguments).query
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        if not query.values_select and not query.annotation_select:
            raise TypeError(f"{self._build.__qualname__} must return a values() queryset")
        converters = compiler.get_converters(
            [col[0] for col in compiler.select[: compiler.col_count]]
        )
        return _Statement(sql, tuple(params), names, converters, compiler)

    def _plan(self, arguments: dict[str, Any], alias: str) -> _Plan | None:
        adapt = connections[alias].ops.adapt_datetimefield_value
        statement = self._compiled(arguments, alias)
        sql, params = statement.sql, statement.params
        slots: dict[int, _Slot] = {}
        for name, value in arguments.items():
            other = _changed(value)
            if other is None:
                return _uncached(self._build, f"{name} is not a datetime, int or str")
            changed = self._compiled({**arguments, name: other}, alias)
            other_sql, other_params = changed.sql, changed.params
            if other_sql != sql or len(other_params) != len(params):
                return _uncached(self._build, f"the SQL changes with {name}")
            for position, (was, now) in enumerate(zip(params, other_params, strict=True)):
                if was == now:
                    continue
                if position in slots:
                    return _uncached(
                        self._build, f"{name} and {slots[position].name} share a place"
                    )
                if now == other and was == value:
                    slots[position] = _Slot(name, adapts_datetime=False)
                elif isinstance(value, datetime) and (was, now) == (adapt(value), adapt(other)):
                    slots[position] = _Slot(name, adapts_datetime=True)
                else:
                    return _uncached(self._build, f"{name} is transformed on its way into the SQL")
        return _Plan(statement=statement, slots=slots)

    @staticmethod
    def _bound(plan: _Plan, arguments: dict[str, Any], alias: str) -> list:
        adapt = connections[alias].ops.adapt_datetimefield_value
        params = list(plan.statement.params)
        for position, slot in plan.slots.items():
            value = arguments[slot.name]
            params[position] = adapt(value) if slot.adapts_datetime else value
        return params
