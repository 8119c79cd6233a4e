"""Shared fixtures: personas, the real queue and worker, the sandbox, real outages."""

from __future__ import annotations

import base64
import json
import os
import pickle
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from rq import SimpleWorker

from collections_desk.recovery_rates import recovery_rates_forget
from dunning.decisions.learning.scoring import scorers_forget
from dunning.helpers.embedded_redis import embedded_server
from dunning.helpers.queueing import QUEUE_NAMES, get_queue, redis_connection
from sandbox.server import SandboxServer
from sandbox.simulator.run import simulate_history
from tests.factories import UserFactory

SAMPLES = Path(__file__).parent / "fixtures" / "chargebee"


def pytest_configure(config) -> None:
    """Each parallel test process gets a Redis database of its own.

    Every test flushes its Redis database, so two processes sharing one would empty each
    other's queues mid-test. Process gw<n> takes database ``base - n`` of the server in
    REDIS_URL (the embedded Redis is in-process already, and pytest-django already gives
    each process its own test database).
    """
    worker = os.getenv("PYTEST_XDIST_WORKER", "")
    if not worker or not settings.REDIS_URL:
        return
    parts = urlsplit(settings.REDIS_URL)
    database = int(parts.path.strip("/") or 0) - int(worker.removeprefix("gw"))
    if database < 0:
        raise pytest.UsageError(f"REDIS_URL {settings.REDIS_URL}: too few databases below it")
    url = urlunsplit(parts._replace(path=f"/{database}"))
    settings.REDIS_URL = url
    settings.CACHES["default"]["LOCATION"] = url
    for queue in settings.RQ_QUEUES.values():
        queue["URL"] = url


def load_sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


# --- personas -------------------------------------------------------------------------
@pytest.fixture
def agent(db):
    return UserFactory(username="alice.agent", role="collections agent")


@pytest.fixture
def manager(db):
    return UserFactory(username="mona.manager", role="collections manager")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada.admin", role="admin")


# --- the audit trail's checkpoints ----------------------------------------------------
@pytest.fixture(autouse=True)
def audit_checkpoints(settings, tmp_path):
    """Each test its own checkpoint file: the database is emptied between tests, and a
    checkpoint left by an earlier test would read as a truncated trail."""
    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "audit-checkpoints.jsonl"
    return settings.AUDIT_CHECKPOINT_PATH


@pytest.fixture(autouse=True)
def fresh_recovery_rates():
    """The desk caches historical recovery rates per process: each test computes its own."""
    recovery_rates_forget()


@pytest.fixture(autouse=True)
def fresh_scorers():
    """Decisions keep the active models loaded per process (rechecked every 30 s): a model an
    earlier test trained must not decide in the next test, whose database has none."""
    scorers_forget()


# --- Redis and RQ ---------------------------------------------------------------------
@pytest.fixture(autouse=True)
def clean_redis():
    """Every test starts with empty queues (REDIS_URL points at a database kept for tests)."""
    redis_connection().flushdb()
    yield
    embedded_server().connected = True


@pytest.fixture
def run_jobs():
    """Run every queued job to completion with a real RQ worker (in this process)."""

    def run() -> int:
        queues = [get_queue(name) for name in QUEUE_NAMES]
        before = sum(q.count for q in queues)
        SimpleWorker(queues, connection=redis_connection()).work(burst=True)
        return before

    return run


class RedisOutage:
    """Take Redis away for real: the embedded server disconnects, or the URL goes nowhere."""

    def __init__(self, settings):
        self.settings = settings
        self.url = settings.REDIS_URL

    def start(self) -> None:
        if self.settings.EMBEDDED_REDIS:
            embedded_server().connected = False
        else:
            self.settings.REDIS_URL = "redis://127.0.0.1:1/0"

    def end(self) -> None:
        embedded_server().connected = True
        self.settings.REDIS_URL = self.url


@pytest.fixture
def redis_outage(settings):
    outage = RedisOutage(settings)
    outage.start()
    yield outage
    outage.end()


@pytest.fixture
def database_outage(transactional_db):
    """Make the default database unreachable until the context exits."""

    class Outage:
        def __enter__(self):
            self.saved = dict(connection.settings_dict)
            connection.close()
            if connection.vendor == "sqlite":
                connection.settings_dict["NAME"] = "/nonexistent/dunwell/down.sqlite3"
            else:
                connection.settings_dict["PORT"] = "1"
                connection.settings_dict["HOST"] = "127.0.0.1"
            return self

        def __exit__(self, *exc):
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(self.saved)

    return Outage()


# --- Chargebee ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings):
    """A fresh Chargebee sandbox that Dunwell's SDK client talks to over HTTP."""
    sandbox_server.sandbox.reset()
    sandbox_server.sandbox.event_listeners.clear()
    # A simulation leaves its simulated clock behind; live tests need the wall clock.
    sandbox_server.sandbox.clock = time.time
    settings.CHARGEBEE_API_BASE = sandbox_server.url
    settings.CHARGEBEE_API_KEY = sandbox_server.sandbox.api_key
    return sandbox_server.sandbox


def failed_renewal(sandbox, *, behaviour=("insufficient_funds",), name="Ana", price=4900) -> dict:
    """A customer, a card, a subscription and a renewal invoice whose first charge failed."""
    customer = sandbox.create_customer(
        first_name=name, last_name="Test", email=f"{name.lower()}@x.test"
    )
    sandbox.add_card(customer_id=customer["id"], behaviour=list(behaviour))
    subscription = sandbox.create_subscription(
        customer_id=customer["id"], plan_id="pro-USD-monthly", unit_price=price
    )
    invoice = sandbox.create_invoice(subscription_id=subscription["id"])
    sandbox.charge(invoice_id=invoice["id"], source="scheduled_job")
    return sandbox.invoices[invoice["id"]]


# --- expensive, deterministic setups: built once, replayed into each test's database ----
# The sandbox's own settings and contents; the clock, the id counter and its token are
# what a simulation moves (compared separately, or not at all).
_SANDBOX_SKIP = {"lock", "event_listeners", "_ids"}
_SANDBOX_MOVED = {"clock", "id_token", "_last_version"}


def _sandbox_state(sandbox, *, moved: bool = True) -> bytes:
    names = [f.name for f in fields(sandbox)] + ["events_in_order", "_last_version"]
    skip = _SANDBOX_SKIP | (set() if moved else _SANDBOX_MOVED)
    with sandbox.lock:
        return pickle.dumps({n: getattr(sandbox, n) for n in names if n not in skip})


def _models() -> list:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def _rows(model) -> dict:
    names = [f.attname for f in model._meta.concrete_fields]
    pk = model._meta.pk.attname
    return {row[pk]: row for row in model._base_manager.values(*names)}


def _content(model, rows: dict) -> list[str]:
    """A table's rows without their keys: what a flush and ``post_migrate`` (content types
    and permissions made again under new keys) leave the same."""
    plain = [f.attname for f in model._meta.concrete_fields if not (f.primary_key or f.is_relation)]
    return sorted(repr([row[name] for name in plain]) for row in rows.values())


def _strict(tables: set) -> set:
    """The tables a build wrote, and those its rows may point into: compared key for key."""
    strict = set(tables)
    for model in tables:
        strict |= {f.related_model for f in model._meta.concrete_fields if f.is_relation}
    return strict


@dataclass
class Recording:
    """What a build left behind in a fresh test: the rows it added, changed or removed in
    each table (beside what those tables held before), the sandbox's contents and the
    Redis keys. Replaying it gives a later test the same state in a fraction of the time."""

    tables: dict  # model -> its rows before, {pk: {attname: value}}, compared key for key
    before: dict  # every other table -> its content before (see _content)
    deleted: list[tuple]  # (model, pks)
    updated: list[tuple]  # (model, pk, row)
    inserted: list[tuple]  # (model, INSERT statement, its rows' values ready for the database)
    sandbox_before: dict
    sandbox_after: bytes
    redis: list[tuple[bytes, int, bytes]]  # key, milliseconds to live (0: none), DUMP
    checkpoints: str | None

    @classmethod
    def of(cls, sandbox, build: Callable[[], object]) -> Recording:
        before = {model: _rows(model) for model in _models()}
        sandbox_before = pickle.loads(_sandbox_state(sandbox, moved=False))
        build()
        written, deleted, updated, inserted = set(), [], [], []
        for model, rows in before.items():
            after = _rows(model)
            if after == rows:
                continue
            written.add(model)
            if gone := [pk for pk in rows if pk not in after]:
                deleted.append((model, gone))
            updated += [(model, pk, row) for pk, row in after.items() if rows.get(pk, row) != row]
            if new := [row for pk, row in after.items() if pk not in rows]:
                columns = model._meta.concrete_fields
                names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
                sql = (
                    f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})"
                )
                values = [
                    [f.get_db_prep_save(row[f.attname], connection) for f in columns] for row in new
                ]
                inserted.append((model, sql, values))
        strict = _strict(written)
        r = redis_connection()
        path = Path(settings.AUDIT_CHECKPOINT_PATH)
        return cls(
            tables={model: before[model] for model in strict},
            before={m: _content(m, rows) for m, rows in before.items() if m not in strict},
            deleted=deleted,
            updated=updated,
            inserted=inserted,
            sandbox_before=sandbox_before,
            sandbox_after=_sandbox_state(sandbox),
            redis=[(key, max(r.pttl(key), 0), r.dump(key)) for key in r.keys("*")],
            checkpoints=path.read_text() if path.exists() else None,
        )

    def replay(self, sandbox) -> bool:
        """Bring this test to the state the build left, if it starts where the build did
        (False, touching nothing, when it does not: then build for real)."""
        if pickle.loads(_sandbox_state(sandbox, moved=False)) != self.sandbox_before:
            return False
        if any(_rows(model) != before for model, before in self.tables.items()):
            return False
        if any(_content(model, _rows(model)) != rows for model, rows in self.before.items()):
            return False
        for model, pks in self.deleted:
            model._base_manager.filter(pk__in=pks)._raw_delete(connection.alias)
        for model, pk, row in self.updated:
            model._base_manager.filter(pk=pk).update(**row)
        with connection.cursor() as cursor:
            for _, sql, values in self.inserted:
                cursor.executemany(sql, values)
            inserted = [model for model, _, _ in self.inserted]
            for sql in connection.ops.sequence_reset_sql(no_style(), inserted):
                cursor.execute(sql)
        state = pickle.loads(self.sandbox_after)  # a copy of its own for this test
        with sandbox.lock:
            last_version = max(sandbox._last_version, state.pop("_last_version"))
            for name, value in state.items():
                current = getattr(sandbox, name)
                if isinstance(current, dict):
                    current.clear()
                    current.update(value)
                elif isinstance(current, list):
                    current[:] = value
                else:
                    setattr(sandbox, name, value)
            sandbox._last_version = last_version
        r = redis_connection()
        for key, ttl, dumped in self.redis:
            r.restore(key, ttl, dumped, replace=True)
        if self.checkpoints is not None:
            Path(settings.AUDIT_CHECKPOINT_PATH).write_text(self.checkpoints)
        return True


_recordings: dict[Hashable, Recording] = {}


def built_once(key: Hashable, sandbox, build: Callable[[], object]) -> None:
    """Run ``build`` (deterministic given ``key``) in the first test that asks for it, and
    replay what it left into each later test's own fresh database and sandbox."""
    recording = _recordings.get(key)
    if recording is None or not recording.replay(sandbox):
        _recordings[key] = Recording.of(sandbox, build)


def history_backfilled(sandbox, **simulation) -> None:
    """A simulated history (``simulate_history`` with these arguments) backfilled into
    Dunwell: the simulation is quick, processing its events is not, so it is built once."""

    def build() -> None:
        simulate_history(sandbox, **simulation)
        call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)

    built_once(("history_backfilled", *sorted(simulation.items())), sandbox, build)


# --- webhooks -------------------------------------------------------------------------
def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def post_webhook(client):
    """POST a body to the webhook endpoint with Chargebee's credentials (or others)."""

    def post(body, *, auth: str | None = "valid", content_type: str = "application/json"):
        if auth == "valid":
            auth = basic_auth(
                settings.CHARGEBEE_WEBHOOK_USERNAME, settings.CHARGEBEE_WEBHOOK_PASSWORD
            )
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
        return client.post("/webhooks/chargebee/", data=data, content_type=content_type, **headers)

    return post


@dataclass
class Exchange:
    method: str
    path: str
    params: dict
    status: int
    body: dict


@pytest.fixture
def chargebee_traffic(sandbox_server, sandbox, monkeypatch) -> list[Exchange]:
    """Every request the sandbox answers during the test, with its answer, in order."""
    exchanges: list[Exchange] = []
    handle = sandbox_server.api.handle

    def recorded(method, path, params, headers):
        status, body, extra = handle(method, path, params, headers)
        exchanges.append(Exchange(method, path, params, status, body))
        return status, body, extra

    monkeypatch.setattr(sandbox_server.api, "handle", recorded)
    return exchanges


# --- connectors: a local peer speaking a vendor's API, and the Connections settings ----
@pytest.fixture
def peer():
    from tests.vendor_peer import VendorPeer

    vendor = VendorPeer()
    yield vendor
    vendor.close()


@pytest.fixture
def connect(admin_user):
    """Save a Connections version with these changes (as an admin would on the page)."""
    from dunning.enrichment.connectors.config import CONNECTIONS, connections_read
    from dunning.governance.config_versions import config_update

    def save(**changes):
        data = connections_read()
        for key, value in changes.items():
            data[key] = {**data[key], **value} if isinstance(value, dict) else value
        return config_update(kind=CONNECTIONS, data=data, user=admin_user, note="test")

    return save
