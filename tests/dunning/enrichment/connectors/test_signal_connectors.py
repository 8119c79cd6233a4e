"""Signals from Zendesk (tickets and sentiment) and from the team's own usage database."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from dunning.enrichment.connectors.usage_sql import SqlUsageSignals
from dunning.enrichment.connectors.vendor_http import ConnectorError
from dunning.enrichment.signals.describe import signals_described
from dunning.enrichment.signals.providers import signals_merged
from dunning.models import ConnectorHealth, Customer

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
SEARCH = "/api/v2/search.json"


def _ticket(n: int, *, status: str, subject: str, description: str, created: str) -> dict:
    return {
        "id": n,
        "url": f"https://acme.zendesk.com/api/v2/tickets/{n}.json",
        "status": status,
        "subject": subject,
        "description": description,
        "created_at": created,
        "requester_id": 77,
        "tags": [],
    }


@pytest.fixture
def zendesk(peer, connect, monkeypatch):
    monkeypatch.setenv("DUNWELL_ZENDESK_API_TOKEN", "zd")
    connect(support_signals="zendesk", zendesk={"base_url": peer.url, "email": "ops@example.com"})
    Customer.objects.create(cb_id="cus_1", email="ana@example.com")
    return peer


def test_zendesk_tickets_give_counts_cancel_intent_and_the_worst_sentiment(zendesk):
    zendesk.answer(
        "GET",
        SEARCH,
        200,
        {
            "count": 3,
            "next_page": None,
            "previous_page": None,
            "results": [
                _ticket(
                    1,
                    status="open",
                    subject="Card declined again",
                    description="My payment failed, this is ridiculous and unacceptable.",
                    created="2026-11-18T09:00:00Z",
                ),
                _ticket(
                    2,
                    status="solved",
                    subject="Thanks",
                    description="Great, thank you!",
                    created="2026-11-02T09:00:00Z",
                ),
                _ticket(
                    3,
                    status="new",
                    subject="Please cancel",
                    description="I want to cancel",
                    created="2026-11-21T09:00:00Z",
                ),  # after the decision's moment: not known then
            ],
        },
    )

    signals = signals_merged(customer_id="cus_1", at=AT)

    query = zendesk.received[0].query["query"]
    assert query == "type:ticket requester:ana@example.com created>2026-10-21 created<2026-11-21"
    assert (signals.open_tickets, signals.payment_tickets_30d, signals.cancel_intent) == (
        1,
        1,
        False,
    )
    assert signals.worst_sentiment_30d == -1.0
    assert "zendesk" in signals.sources
    assert "negative support sentiment (-1.00)" in signals_described(signals)


def test_zendesk_rate_limit_skips_it_and_names_it_in_the_decision(zendesk):
    zendesk.answer("GET", SEARCH, 429, {"error": "TooManyRequests"}, Retry_After=42)

    signals = signals_merged(customer_id="cus_1", at=AT)

    assert signals.worst_sentiment_30d is None
    skipped = [s for s in signals.sources if s.startswith("zendesk failed")]
    assert skipped and "retry after 42 s" in skipped[0]
    assert ConnectorHealth.objects.get(connector="zendesk").failing


QUERY = """SELECT month_start, sessions FROM usage_months
           WHERE account = :customer_id AND month_start <= :at ORDER BY month_start DESC"""
MONTHS = [("2026-08-01", 100), ("2026-09-01", 110), ("2026-10-01", 90), ("2026-11-01", 30)]


@pytest.fixture
def sqlite_usage(tmp_path):
    path = tmp_path / "usage.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE usage_months (account TEXT, month_start TEXT, sessions INT)")
        db.executemany("INSERT INTO usage_months VALUES ('cus_1', ?, ?)", MONTHS)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_usage():
    name = f"dunwell_usage_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as db:
            db.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {error}")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CREATE TABLE usage_months (account text, month_start date, sessions int)")
        for month, sessions in MONTHS:
            db.execute("INSERT INTO usage_months VALUES ('cus_1', %s, %s)", (month, sessions))
    yield dsn
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.parametrize("database", ["sqlite_usage", "postgres_usage"])
def test_usage_trend_comes_from_the_teams_own_database(request, database):
    dsn = request.getfixturevalue(database)
    provider = SqlUsageSignals(query=QUERY, dsn=dsn)

    signals = provider.signals_for(customer_id="cus_1", at=AT)
    earlier = provider.signals_for(customer_id="cus_1", at=datetime(2026, 10, 15, tzinfo=UTC))

    assert signals.usage_trend == 0.3  # 30 sessions against the mean of 100, 110 and 90
    assert earlier.usage_trend == pytest.approx(90 / 105, abs=0.001)
    assert "product usage fell to 30%" in " ".join(signals_described(signals))
    assert provider.signals_for(customer_id="cus_unknown", at=AT).usage_trend is None


@pytest.mark.parametrize("database", ["sqlite_usage", "postgres_usage"])
def test_a_query_returning_more_than_the_row_limit_is_refused(request, database):
    provider = SqlUsageSignals(query=QUERY, dsn=request.getfixturevalue(database), row_limit=3)

    with pytest.raises(ConnectorError, match="more than 3 rows"):
        provider.signals_for(customer_id="cus_1", at=AT)


def test_a_slow_postgres_query_is_stopped_at_the_timeout(postgres_usage):
    slow = (
        "SELECT month_start, sessions FROM usage_months, pg_sleep(3) WHERE account = :customer_id"
    )
    provider = SqlUsageSignals(query=slow, dsn=postgres_usage, timeout_seconds=1)

    with pytest.raises(ConnectorError, match=r"statement timeout|canceling statement"):
        provider.signals_for(customer_id="cus_1", at=AT)
    assert (
        "Usage database" in ConnectorHealth.objects.get(connector="usage_sql").last_failure_reason
    )


def test_a_slow_sqlite_query_is_stopped_at_the_timeout(sqlite_usage):
    slow = """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)
              SELECT '2026-11-01' AS month_start, count(*) AS sessions FROM n
              WHERE :customer_id IS NOT NULL"""
    provider = SqlUsageSignals(query=slow, dsn=sqlite_usage, timeout_seconds=1)

    with pytest.raises(ConnectorError, match="ran past 1 s"):
        provider.signals_for(customer_id="cus_1", at=AT)


@pytest.mark.parametrize("database", ["sqlite_usage", "postgres_usage"])
def test_the_usage_connection_is_read_only(request, database):
    writes = "DELETE FROM usage_months WHERE account = :customer_id RETURNING month_start, sessions"
    provider = SqlUsageSignals(query=writes, dsn=request.getfixturevalue(database))

    with pytest.raises(ConnectorError, match=r"read-only|readonly"):
        provider.signals_for(customer_id="cus_1", at=AT)
