"""Product usage from the team's own database: a read-only DSN and a query with parameters.

The query names ``:customer_id`` (the Chargebee customer id) and may name ``:at`` (the
moment of the decision); it returns one row per month, newest first, with ``month_start``
and ``sessions`` columns. Dunwell reads at most ``row_limit`` + 1 rows (more is refused:
the query is wrong, not the customer busy), bounds it by ``timeout_seconds`` (PostgreSQL's
``statement_timeout``; SQLite's progress handler), and runs it in a read-only transaction.
Only the customer id and the moment reach that database, which already holds both.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.vendor_http import ConnectorError, health_record
from dunning.enrichment.signals.values import Signals

CREDENTIAL = "DUNWELL_USAGE_DSN"
MONTHS_COMPARED = 4  # the latest month against the mean of up to three before it


def _driver_url(dsn: str) -> str:
    # psycopg 3 is installed (not psycopg2, SQLAlchemy's default for postgresql://).
    for prefix in ("postgres://", "postgresql://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn[len(prefix) :]
    return dsn


@functools.cache
def _engine(dsn: str, timeout_seconds: int) -> Engine:
    url = _driver_url(dsn)
    if url.startswith("postgresql"):
        options = (
            f"-c statement_timeout={timeout_seconds * 1000} -c default_transaction_read_only=on"
        )
        connect_args = {"options": options, "connect_timeout": timeout_seconds}
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    engine = create_engine(url, poolclass=NullPool)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _bounded(dbapi_connection, record):
            deadline = record.info.setdefault("deadline", [float("inf")])
            dbapi_connection.execute("PRAGMA query_only = ON")
            dbapi_connection.set_progress_handler(
                lambda: 1 if time.monotonic() > deadline[0] else 0, 1000
            )

        @event.listens_for(engine, "before_cursor_execute")
        def _start_clock(conn, cursor, statement, parameters, context, executemany):
            conn.connection.info.setdefault("deadline", [float("inf")])[0] = (
                time.monotonic() + timeout_seconds
            )

    return engine


def usage_rows(
    *, dsn: str, query: str, params: dict, row_limit: int, timeout_seconds: int
) -> list[dict]:
    """Run the configured query; its rows as dicts (``ConnectorError`` on any failure)."""
    try:
        with _engine(dsn, timeout_seconds).connect() as connection:
            result = connection.execute(text(query), params)
            rows = [dict(row._mapping) for row in result.fetchmany(row_limit + 1)]
            connection.rollback()
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        if "cancel" in reason.lower() or "interrupt" in reason.lower():
            reason = f"the query ran past {timeout_seconds} s and was stopped ({reason})"
        raise ConnectorError(f"Usage database: {reason}"[:400]) from None
    if len(rows) > row_limit:
        raise ConnectorError(f"Usage database: the query returned more than {row_limit} rows")
    return rows


def usage_trend(rows: list[dict]) -> float | None:
    if rows and not {"month_start", "sessions"} <= set(rows[0]):
        raise ConnectorError("Usage database: the query must return month_start and sessions")
    ordered = sorted(rows, key=lambda row: str(row["month_start"]), reverse=True)
    sessions = [float(row["sessions"] or 0) for row in ordered[:MONTHS_COMPARED]]
    if len(sessions) < 2:
        return None
    before = sum(sessions[1:]) / len(sessions[1:])
    return round(sessions[0] / before, 3) if before else None


class SqlUsageSignals:
    name = "usage_sql"

    def __init__(
        self, *, query: str, row_limit: int = 1000, timeout_seconds: int = 5, dsn: str | None = None
    ):
        self.query, self.row_limit, self.timeout_seconds = query, row_limit, timeout_seconds
        self.dsn = connector_secret("USAGE_DSN") if dsn is None else dsn

    def _rows(self, params: dict) -> list[dict]:
        if not self.dsn:
            raise ConnectorError(f"Usage database has no DSN: set {CREDENTIAL}")
        try:
            rows = usage_rows(
                dsn=self.dsn,
                query=self.query,
                params=params,
                row_limit=self.row_limit,
                timeout_seconds=self.timeout_seconds,
            )
        except ConnectorError as error:
            health_record(connector=self.name, error=str(error))
            raise
        health_record(connector=self.name)
        return rows

    def signals_for(self, *, customer_id: str, at: datetime) -> Signals:
        params = {"customer_id": customer_id}
        if ":at" in self.query:
            params["at"] = at
        return Signals(usage_trend=usage_trend(self._rows(params)), sources=(self.name,))

    def check(self) -> str:
        """Run the query for a customer id nobody has: it must parse and answer in time."""
        params = {"customer_id": "dunwell-connection-test"}
        if ":at" in self.query:
            params["at"] = datetime(2000, 1, 1)
        rows = self._rows(params)
        return f"Usage database answered: the query ran ({len(rows)} rows for a test id)."
