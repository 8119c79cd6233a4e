"""The documented decision worker keeps the active models loaded from one job to the next."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.synthetic_models import live_decline, models_activate_synthetic
from dunning.decisions.learning.scoring import scorers_forget
from dunning.helpers.queueing import get_queue, redis_connection
from dunning.models import Decision
from dunning.pipeline.workers import DecisionWorker
from dunning.sync.decision_requests import decision_jobs_failed_requeue, decisions_enqueue
from dunning.sync.ingest import event_store
from dunning.sync.processing import events_process_batch
from tests.conftest import load_sample
from tests.dunning.pipeline.test_decisions_together import _declines, refused_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_models():
    scorers_forget()
    versions = models_activate_synthetic(attempts=3_000, rows=400)
    yield versions
    scorers_forget()


def test_decision_jobs_in_the_decision_worker_load_each_model_once(
    active_models, django_capture_on_commit_callbacks
):
    sample = load_sample("payment_failed")
    with django_capture_on_commit_callbacks(execute=True):
        now = int(timezone.now().timestamp())
        declines = [live_decline(sample, n, occurred_at=now - 60) for n in range(3)]
        for decline in declines:  # three deliveries, processed as they arrive
            events_process_batch(event_pks=[event_store(payload=decline).event.pk])
    assert get_queue("default").count == 3  # one decision job per processed batch

    with CaptureQueriesContext(connection) as queries:
        DecisionWorker([get_queue("default")], connection=redis_connection()).work(burst=True)

    labels = set(Decision.objects.values_list("model_version", flat=True))
    assert Decision.objects.count() == 3
    [label] = labels
    assert label.startswith(
        f"recovery v{active_models[1].version} + retry v{active_models[0].version}"
    )
    artifact_reads = [q for q in queries.captured_queries if "artifact" in q["sql"]]
    assert len(artifact_reads) == 2  # the retry and the recovery model, for all three jobs


@pytest.fixture
def heap_unfrozen_after():
    yield
    gc.unfreeze()  # this test process is not a worker: let its objects be collected again


def test_the_decision_worker_freezes_what_it_loaded_before_its_first_job(
    active_models, heap_unfrozen_after
):
    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    DecisionWorker([get_queue("default")], connection=redis_connection()).work(burst=True)

    # The loaded models, numpy and Django: no later collection walks them.
    assert gc.get_freeze_count() > 100_000


def test_asking_again_for_a_waiting_decision_job_adds_none_and_a_finished_one_runs_again():
    queue = get_queue("default")

    assert decisions_enqueue(event_pks=[5, 3])
    assert decisions_enqueue(event_pks=[3, 5])  # the relay, a few minutes later

    assert queue.count == 1
    DecisionWorker([queue], connection=redis_connection()).work(burst=True)
    assert queue.count == 0

    assert decisions_enqueue(event_pks=[3, 5])  # its events still without a decision
    assert queue.count == 1


def test_a_decision_job_that_failed_is_queued_again_by_the_relay_and_decides(
    active_models, sandbox, django_capture_on_commit_callbacks
):
    [decline] = _declines(1)
    invoice = refused_once(sandbox, decline)
    with django_capture_on_commit_callbacks(execute=True):
        events_process_batch(event_pks=[event_store(payload=decline).event.pk])
    queue = get_queue("default")
    DecisionWorker([queue], connection=redis_connection()).work(burst=True)
    assert not Decision.objects.exists()
    assert decision_jobs_failed_requeue() == 0  # failed only a moment ago

    assert decision_jobs_failed_requeue(after=timedelta(0)) == 1
    DecisionWorker([queue], connection=redis_connection()).work(burst=True)

    assert list(Decision.objects.values_list("invoice_id", flat=True)) == [invoice["id"]]
    assert decision_jobs_failed_requeue(after=timedelta(0)) == 0  # nothing failed now
