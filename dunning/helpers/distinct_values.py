"""The distinct values of an indexed text column, one index probe per value.

``SELECT DISTINCT`` reads every entry of the column's index (tens of thousands of rows for
a country or a plan) to find a handful of values. Walking the index instead (the next
value above the last one found, until there is none) costs one probe per distinct value:
a recursive query, which PostgreSQL and SQLite both run from the index alone.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Field, Model


def column_values(model: type[Model], field: str) -> list[str]:
    """The non-empty values of ``model.field`` in use, in order."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    found = model._meta.get_field(field)
    if not isinstance(found, Field) or found.column is None:
        raise TypeError(f"{model.__name__}.{field} is a relation, not a column")
    column = quote(found.column)
    sql = (
        f"WITH RECURSIVE walk(value) AS ("  # noqa: S608 (names from the model, quoted)
        f" SELECT (SELECT {column} FROM {table} WHERE {column} > %s ORDER BY {column} LIMIT 1)"
        f" UNION ALL"
        f" SELECT (SELECT {column} FROM {table} WHERE {column} > walk.value"
        f" ORDER BY {column} LIMIT 1) FROM walk WHERE walk.value IS NOT NULL"
        f") SELECT value FROM walk WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [""])
        return [value for (value,) in cursor.fetchall()]
