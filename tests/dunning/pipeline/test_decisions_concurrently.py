"""Two decision workers recording at once, each a batch about the same two customers, on
PostgreSQL's row locks: neither waits for the other in a circle (a deadlock would fail a
batch and send its decisions back one by one, or lose them)."""

from __future__ import annotations

import contextlib
import logging
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from collections_desk.models import Case
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.models import ChargebeeEvent, Decision
from dunning.pipeline import decide
from dunning.pipeline.triggers import _requests_for
from tests.dunning.pipeline.test_decisions_together import _declines, _stored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
]


def _owned_by(declines: list[dict], customers: list[str]) -> list[dict]:
    for decline, customer in zip(declines, customers, strict=True):
        content = decline["content"]
        for resource in (content["invoice"], content["transaction"], content["subscription"]):
            resource["customer_id"] = customer
        content["customer"]["id"] = content["payment_source"]["customer_id"] = customer
    return declines


def test_two_workers_deciding_about_the_same_customers_at_once_both_finish(monkeypatch, caplog):
    # Customer 0 owes invoices 0 and 3, customer 1 invoices 1 and 2; both have open cases.
    guardrails_active()  # a transactional test before this one flushed the first version
    customers = ["cus_live_0", "cus_live_1", "cus_live_1", "cus_live_0"]
    stored = _stored(_owned_by(_declines(4), customers))
    now = timezone.now()
    for customer in ("cus_live_0", "cus_live_1"):
        Case.objects.create(customer_id=customer, reason="open", opened_at=now, sla_due_at=now)
    requests = []
    for event in ChargebeeEvent.objects.filter(pk__in=stored).order_by("pk"):
        requests += _requests_for(event=event, content=event.payload["content"])
    # Each worker, after recording its first decision (its locks held), waits for the other
    # to have recorded one too: the moment a circle of waits would close.
    both_started = threading.Barrier(2, timeout=2)
    record_case = decide.cases_sync_for_decision
    waited = threading.local()

    def case_then_wait(*, decision):
        case = record_case(decision=decision)
        if not getattr(waited, "once", False):
            waited.once = True
            # Broken: the other is waiting for this one's locks, as it should.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_started.wait()
        return case

    monkeypatch.setattr(decide, "cases_sync_for_decision", case_then_wait)
    made = {}

    def worker(name: str, batch: list) -> None:
        try:
            made[name] = decide.decisions_make(requests=batch)
        finally:
            connections.close_all()

    batches = {"A": [requests[0], requests[2]], "B": [requests[1], requests[3]]}
    threads = [threading.Thread(target=worker, args=item) for item in batches.items()]
    with caplog.at_level(logging.WARNING, logger="dunwell.decisions"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert [made[name].failed for name in "AB"] == [[], []]
    assert "failed, one by one" not in caplog.text  # no batch was broken up by a deadlock
    assert Decision.objects.count() == 4
