"""Decision benchmark: training time at 1M attempts, and decisions in the production worker.

1. training   a synthetic history of --attempts retries after a decline (plus each invoice's
              first decline), with a payday and time-of-day signal: the time to turn it into
              examples (``attempt_examples``) and to fit the calibrated retry model.
2. deciding   ``plan_decide`` with that model for a fresh decline: the full slot search over
              the 28-day window (one slot every 3 hours, one predict call), the runners-up
              with their reasons, and the guardrails. One thread, as one worker.

3. worker     the whole decision path as production runs it, on PostgreSQL + Redis:
              --decisions live payment_failed webhooks are stored and processed (their
              decision jobs enqueued on commit, as ingest does), a synthetic retry and
              recovery model are the active versions, then the documented command
              ``manage.py rqworker default --burst --worker-class
              dunning.pipeline.workers.DecisionWorker`` runs the jobs. p50/p99 = each job's RQ
              started_at -> ended_at (context queries, policy, recording, audit, case);
              decisions/s = jobs / (last ended_at - first started_at), start-up excluded;
              gap = median time between one job's end and the next one's start.
              Each processed batch of declines enqueues one decision job: the run is made
              once with one decline per batch (a quiet site) and once with --batch per
              batch (a burst, the drain's batch). Then the statements per decision,
              counted on a few more jobs decided in this process.

Targets: p99 under 20 ms and at least 200 decisions/s on one worker; training under 2
minutes for 1 million attempts.

    .venv/bin/python -m bench.decide [--attempts 1000000] [--decisions 300] [--batch 100]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/dunwell_bench_decide (created and
migrated if missing, kept for reruns; this run's rows use a fresh prefix); REDIS_URL defaults
to redis://127.0.0.1:6379/13, which is FLUSHED. Point them only at throwaway databases.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dunwell_bench_decide")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DUNWELL_LOG_LEVEL", "WARNING")

import django  # noqa: E402

from bench.webhook_ingest import database_prepare  # noqa: E402

database_prepare(os.environ["DATABASE_URL"])  # before setup: the database must exist
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rq.job import Job  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bench.synthetic_models import (  # noqa: E402
    a_decline,
    live_decline,
    models_activate_synthetic,
    synthetic_history,
)
from dunning.decisions.learning.retry_data import attempt_examples  # noqa: E402
from dunning.decisions.learning.retry_model import (  # noqa: E402
    RetryModelScorer,
    RetryRows,
    retry_model_fit,
)
from dunning.decisions.learning.scoring import scorers_warm  # noqa: E402
from dunning.decisions.plan import GuardrailSnapshot, Scorers  # noqa: E402
from dunning.decisions.policy import plan_decide  # noqa: E402
from dunning.helpers.queueing import get_queue, redis_connection  # noqa: E402
from dunning.pipeline.triggers import decide_for_events_job  # noqa: E402
from dunning.sync.ingest import event_store  # noqa: E402
from dunning.sync.jobs import DRAIN_BATCH  # noqa: E402
from dunning.sync.processing import events_process_batch  # noqa: E402

SAMPLE = ROOT / "tests" / "fixtures" / "chargebee" / "payment_failed.json"


def declines_enqueue(count: int, run: str, *, batch: int) -> list[str]:
    """Store ``count`` live declines, one second apart, and process them ``batch`` at a time
    as the webhook's drain does (each processed batch enqueues one decision job on commit);
    returns the decision jobs' ids."""
    sample, now = json.loads(SAMPLE.read_text()), int(timezone.now().timestamp())
    queue = get_queue("default")
    before = set(queue.job_ids)
    for start in range(0, count, batch):
        stored = [
            event_store(
                payload=live_decline(sample, n, occurred_at=now - 900 + n, prefix=run)
            ).event
            for n in range(start, min(start + batch, count))
        ]
        events_process_batch(event_pks=[event.pk for event in stored])  # enqueues on commit
    return [job_id for job_id in queue.job_ids if job_id not in before]


def worker_run(worker_class: str, job_ids: list[str], max_jobs: int | None = None) -> dict:
    command = [
        sys.executable,
        "manage.py",
        "rqworker",
        "default",
        "--burst",
        "-v",
        "0",
        "--worker-class",
        worker_class,
    ]
    if max_jobs:
        command += ["--max-jobs", str(max_jobs)]
    wall = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    wall = time.perf_counter() - wall
    jobs = [job for job in Job.fetch_many(job_ids, connection=redis_connection()) if job]
    done = sorted(
        (job for job in jobs if job.ended_at and job.started_at), key=lambda job: job.started_at
    )
    took = sorted((job.ended_at - job.started_at).total_seconds() for job in done)
    decided = [len(job.return_value() or []) for job in done]
    span = (max(j.ended_at for j in done) - done[0].started_at).total_seconds() if done else 0
    # The worker's own time between one job's end and the next one's start (RQ bookkeeping).
    gaps = [(b.started_at - a.ended_at).total_seconds() for a, b in itertools.pairwise(done)]
    return {
        "jobs": len(done),
        "decisions": sum(decided),
        "failed": sum(job.is_failed for job in jobs),
        "p50": statistics.median(took) * 1000 if took else 0,
        "p99": took[max(0, int(len(took) * 0.99) - 1)] * 1000 if took else 0,
        "each": sum(took) / sum(decided) * 1000 if sum(decided) else 0,
        "rate": sum(decided) / span if span else 0,
        "gap": statistics.median(gaps) * 1000 if gaps else 0,
        "wall": wall,
    }


QUERIED = 5


def queries_per_decision(run: str, *, batch: int) -> list[float]:
    """The statements a decision job sends to the database per decision, counted in this
    process (the worker is another): ``QUERIED`` more jobs of ``batch`` live declines.
    Counted by an execute wrapper: the debug query log keeps only the last 9,000."""
    redis_connection().flushdb()
    job_ids = declines_enqueue((QUERIED + 1) * batch, run + f"q{batch}", batch=batch)
    jobs = Job.fetch_many(job_ids, connection=redis_connection())
    redis_connection().flushdb()  # decided here, not by a worker
    scorers_warm()
    counts = []
    for n, job in enumerate(jobs):
        sent = [0]

        def count(execute, sql, params, many, context, sent=sent):
            sent[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            decided = decide_for_events_job(*job.args)
        if n:  # the first loads what a warm worker already has
            counts.append(sent[0] / len(decided))
    return counts


def worker_phase(args) -> None:
    run = "bench" + uuid.uuid4().hex[:6]
    models_activate_synthetic(attempts=50_000, rows=5_000)
    rows = []
    for batch in (1, args.batch):
        redis_connection().flushdb()
        job_ids = declines_enqueue(args.decisions, f"{run}b{batch}", batch=batch)
        assert len(job_ids) == -(-args.decisions // batch), "one decision job per processed batch"
        rows.append((batch, worker_run("dunning.pipeline.workers.DecisionWorker", job_ids)))
    queries = {batch: queries_per_decision(run, batch=batch) for batch in (1, args.batch)}
    print(
        f"\nworker: {args.decisions} live declines (one second apart), processed 1 and"
        f" {args.batch} at a time as the drain does, one decision job per processed batch,"
        " in the production worker on PostgreSQL + Redis"
    )
    print(
        f"{'declines per job':18}{'jobs':>6}{'decided':>9}{'failed':>8}{'job p50':>9}"
        f"{'job p99':>9}{'ms each':>9}{'per s':>8}{'wall s':>8}{'gap ms':>8}{'queries':>9}"
    )
    for batch, row in rows:
        print(
            f"{batch:<18}{row['jobs']:>6}{row['decisions']:>9}{row['failed']:>8}"
            f"{row['p50']:>9.1f}{row['p99']:>9.1f}{row['each']:>9.1f}{row['rate']:>8.1f}"
            f"{row['wall']:>8.1f}{row['gap']:>8.1f}{statistics.median(queries[batch]):>9.1f}"
        )
    single, batched = rows[0][1], rows[-1][1]
    met = {True: "met", False: "NOT met"}
    print(
        f"one decline at a time: p99 {single['p99']:.1f} ms (target < 20 ms:"
        f" {met[single['p99'] < 20]}); {args.batch} at a time: {batched['rate']:.0f}"
        f" decisions/s (target >= 200: {met[batched['rate'] >= 200]}), each job (its"
        f" {args.batch} decisions) p99 {batched['p99']:.0f} ms. 'ms each' = job time /"
        " decisions; 'queries' = statements per decision (median of"
        f" {QUERIED} jobs in this process). Wall includes the worker's start-up and model load."
    )
    redis_connection().flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument(
        "--batch", type=int, default=DRAIN_BATCH, help="declines per processed batch (a burst)"
    )
    args = parser.parse_args()
    os.chdir(ROOT)

    history = synthetic_history(args.attempts)
    clock = time.perf_counter()
    examples = attempt_examples(history)
    features_s = time.perf_counter() - clock
    clock = time.perf_counter()
    with threadpool_limits(limits=1):  # spinning OpenMP threads on shared cores cost 10x
        model = retry_model_fit(
            RetryRows(examples.categories, examples.numbers), examples.succeeded.astype(int)
        )
    fit_s = time.perf_counter() - clock
    print(
        f"training: {len(examples):,} attempts -> examples {features_s:.1f} s, "
        f"calibrated fit {fit_s:.1f} s, total {features_s + fit_s:.1f} s (target < 120 s)"
    )

    scorers = Scorers(retry=RetryModelScorer(model=model, version="bench"))
    guardrails = GuardrailSnapshot(default_mode="auto")
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    timings, slots = [], 0
    with threadpool_limits(limits=1):
        for i in range(args.decisions + 10):
            context = a_decline(start + timedelta(hours=7 * i))
            clock = time.perf_counter()
            plan = plan_decide(context=context, guardrails=guardrails, scorers=scorers)
            if i >= 10:  # warm-up
                timings.append(time.perf_counter() - clock)
            slots = max(slots, len(plan.explanation.get("slots_considered", [])))
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(
        f"deciding: {len(timings)} decisions, 224 candidate slots each (28 days / 3 h), "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"{1 / statistics.mean(timings):.0f} decisions/s on one thread (target < 20 ms)"
    )
    worker_phase(args)


if __name__ == "__main__":
    main()
