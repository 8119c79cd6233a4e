"""What every fault scenario shares: its result row, the environment it runs in, and the
measurements (events lost, double charges, 5xx answers) taken from the real parts.

A scenario is a function ``(env) -> Row``. It injects a real fault into the real database,
the real RQ queues, the webhook endpoint and the Chargebee sandbox over HTTP, lets the
recovery paths run (the outbox relay, the action sweep, the executor's backoff), and then
counts what it finds. The tests assert on the row; ``bench/faults.py`` prints the rows.

Scenarios need a database where commits are real (``on_commit`` jobs are enqueued as in
production): the tests use ``transactional_db``, the bench a throwaway test database.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from rq import SimpleWorker

from dunning.actions.state_machine import action_transition
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.helpers.queueing import QUEUE_NAMES, get_queue, redis_connection
from dunning.models import Action, ActionKind, ActionState, ChargebeeEvent, Decision, EventState
from sandbox.server import SandboxServer
from sandbox.store import Sandbox
from tests.factories import UserFactory

FINAL_STATES = (EventState.PROCESSED, EventState.STALE, EventState.IGNORED)
WEBHOOK_URL = "/webhooks/chargebee/"


@dataclass
class Row:
    """One line of the fault table: what was injected, what should and what did happen."""

    name: str
    injected: str
    expected: str
    happened: str = ""
    # The three counts that must be zero; None where the fault has nothing to count
    # (no bad input sent, no charge possible), shown as "n/a".
    events_lost: int | None = None
    double_charges: int | None = None
    bad_input_5xx: int | None = None
    # What else must be zero for this fault in particular ("objects lost", "leaks", ...).
    other_zeros: dict[str, int] = field(default_factory=dict)
    behaved: bool = False  # the expected behaviour (beyond the three zeros) was observed
    seconds: float = 0.0
    skipped: str = ""  # why the scenario could not run here
    details: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.behaved and not any(self.counts) and not any(self.other_zeros.values())

    @property
    def counts(self) -> tuple[int | None, int | None, int | None]:
        return (self.events_lost, self.double_charges, self.bad_input_5xx)


@dataclass
class Env:
    """Where a scenario runs: a Chargebee sandbox served over HTTP, and how big to go."""

    server: SandboxServer
    bench: bool = False

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    def n(self, *, test: int, bench: int) -> int:
        return bench if self.bench else test

    @property
    def redis_is_real(self) -> bool:
        return bool(settings.REDIS_URL)


# --- the webhook and the queues ------------------------------------------------------
def chargebee_auth() -> str:
    pair = f"{settings.CHARGEBEE_WEBHOOK_USERNAME}:{settings.CHARGEBEE_WEBHOOK_PASSWORD}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def webhook_post(body: dict | bytes | str, *, client: Client | None = None):
    """POST one body to the webhook endpoint as Chargebee would (its Basic-auth pair)."""
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return (client or Client()).post(
        WEBHOOK_URL,
        data=data,
        content_type="application/json",
        HTTP_AUTHORIZATION=chargebee_auth(),
    )


def jobs_run(*, rounds: int = 20) -> int:
    """Run every queued job with a real RQ worker until the queues stay empty."""
    queues = [get_queue(name) for name in QUEUE_NAMES]
    ran = 0
    for _ in range(rounds):
        waiting = sum(queue.count for queue in queues)
        if not waiting:
            break
        ran += waiting
        SimpleWorker(queues, connection=redis_connection()).work(burst=True)
    return ran


# --- what is measured ----------------------------------------------------------------
def events_lost(event_ids: Iterable[str], *, also_final: tuple[str, ...] = ()) -> int:
    """Accepted events that did not end processed, stale or ignored (or ``also_final``)."""
    ids = set(event_ids)
    done = ChargebeeEvent.objects.filter(
        event_id__in=ids, state__in=FINAL_STATES + also_final
    ).count()
    return len(ids) - done


def successful_charges(sandbox: Sandbox, invoice_id: str) -> int:
    with sandbox.lock:
        return sum(
            1
            for txn in sandbox.transactions.values()
            if txn.get("status") == "success"
            and txn.get("type", "payment") == "payment"
            and any(link.get("invoice_id") == invoice_id for link in txn["linked_invoices"])
        )


def double_charges(sandbox: Sandbox, invoice_ids: Iterable[str]) -> int:
    """Successful payments beyond the first on any of the invoices."""
    return sum(max(0, successful_charges(sandbox, i) - 1) for i in set(invoice_ids))


def collect_requests(sandbox: Sandbox, invoice_id: str) -> int:
    path = f"/api/v2/invoices/{invoice_id}/collect_payment"
    with sandbox.lock:
        return sum(1 for method, p in sandbox.request_log if (method, p) == ("POST", path))


# --- building blocks -----------------------------------------------------------------
def automation_on() -> None:
    """Dunwell in auto mode everywhere: low-risk actions run without a person."""
    guardrails_update(changes={"default_mode": "auto"}, user=None, note="fault suite")


def sandbox_events_since(sandbox: Sandbox, mark: int) -> list[dict]:
    with sandbox.lock:
        return [dict(event) for event in sandbox.events[mark:]]


def failed_renewals(sandbox: Sandbox, count: int, *, behaviour=("insufficient_funds",)):
    """``count`` customers whose renewal charge was declined; returns (invoices, events)."""
    from tests.conftest import failed_renewal

    mark = len(sandbox.events)
    invoices = [
        failed_renewal(sandbox, behaviour=behaviour, name=f"Fault{n}") for n in range(count)
    ]
    return invoices, sandbox_events_since(sandbox, mark)


def deliver_all(events: list[dict]) -> list[int]:
    client = Client()
    return [webhook_post(event, client=client).status_code for event in events]


def retry_scheduled(invoice_id: str, customer_id: str) -> Action:
    """A due, low-risk retry in auto mode, scheduled as the decision service would leave it."""
    decision = Decision.objects.create(
        invoice_id=invoice_id,
        customer_id=customer_id,
        trigger="payment_failed",
        as_of=timezone.now(),
        model_version="fault suite",
        segment="self_serve",
        mode="auto",
        reasoning="fault suite retry",
        features={"gateway": "stripe"},
    )
    action = Action.objects.create(
        decision=decision,
        invoice_id=invoice_id,
        customer_id=customer_id,
        kind=ActionKind.RETRY,
        scheduled_for=timezone.now(),
        mode="auto",
        needs_approval=False,
        reasoning="fault suite retry",
    )
    action_transition(action=action, to=ActionState.SCHEDULED, actor_label="fault suite")
    return action


def person(username: str, *, role: str):
    """A user of Dunwell in ``role`` (the same one when a scenario asks twice)."""
    existing = get_user_model().objects.filter(username=username).first()
    return existing or UserFactory(username=username, role=role)


def claims_age(model, pks: Iterable[int], *, by: timedelta) -> None:
    """Time passes for claims and postponements: they lie ``by`` further in the past."""
    for row in model.objects.filter(pk__in=list(pks)):
        changes = {}
        for name in ("claimed_at", "next_attempt_at", "processed_at"):
            if getattr(row, name, None) is not None:
                changes[name] = getattr(row, name) - by
        if changes:
            model.objects.filter(pk=row.pk).update(**changes)


def timed(scenario):
    """Record how long a scenario took and close this thread's connection afterwards."""

    def run(env: Env) -> Row:
        started = time.perf_counter()
        row = scenario(env)
        row.seconds = time.perf_counter() - started
        return row

    run.__name__ = scenario.__name__
    run.__doc__ = scenario.__doc__
    return run


def vendor() -> str:
    return connection.vendor
