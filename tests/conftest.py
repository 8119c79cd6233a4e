"""Shared fixtures: personas, the real queue and worker, the sandbox, real outages."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rq import SimpleWorker

from collections_desk.recovery_rates import recovery_rates_forget
from dunning.helpers.embedded_redis import embedded_server
from dunning.helpers.queueing import QUEUE_NAMES, get_queue, redis_connection
from sandbox.server import SandboxServer
from tests.factories import UserFactory

SAMPLES = Path(__file__).parent / "fixtures" / "chargebee"


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
