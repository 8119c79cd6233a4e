"""Chargebee misbehaving (429 and 5xx storms) and a worker killed in the middle of a charge."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from dunning.actions.execution.executor import CLAIM_TIMEOUT, action_run
from dunning.actions.execution.sweep import actions_due, actions_sweep
from dunning.helpers.queueing import get_queue, redis_connection
from dunning.models import Action, ActionState
from dunning.sync.chargebee_budget import USAGE_KEY
from tests.faults.scenarios.core import (
    Env,
    Row,
    automation_on,
    claims_age,
    collect_requests,
    deliver_all,
    double_charges,
    events_lost,
    failed_renewals,
    jobs_run,
    retry_scheduled,
    successful_charges,
    timed,
)

ROOT = Path(__file__).resolve().parents[3]


def _tokens_taken() -> dict[bytes, int]:
    """Tokens taken from the shared Chargebee budget, per priority and minute (the counters
    live three minutes)."""
    pattern = USAGE_KEY.format(priority="*", minute="*")
    connection_ = redis_connection()
    return {key: int(connection_.get(key) or 0) for key in connection_.scan_iter(match=pattern)}


def _tokens_since(before: dict[bytes, int]) -> int:
    # Counters from before the storm may expire during it: count only what was added.
    return sum(value - before.get(key, 0) for key, value in _tokens_taken().items())


@timed
def chargebee_storm(env: Env) -> Row:
    count = env.n(test=4, bench=60)
    storm = {
        429: env.n(test=4, bench=40),
        503: env.n(test=3, bench=30),
        500: env.n(test=2, bench=20),
    }
    row = Row(
        name="Chargebee 429/5xx storm",
        injected=f"{count} due retries while Chargebee answers {storm[429]} x 429 (Retry-After "
        f"2 s), {storm[503]} x 503 and {storm[500]} x 500",
        expected="retries wait (Retry-After honoured, backoff), are put back and complete after "
        "the storm; one charge per invoice; every call inside the shared budget",
    )
    invoices, events = failed_renewals(env.sandbox, count)
    deliver_all(events)
    jobs_run()
    automation_on()
    actions = [retry_scheduled(i["id"], i["customer_id"]) for i in invoices]
    get_queue("actions").empty()  # run here, with a clock we can read, not by a worker
    requests_before, tokens_before = len(env.sandbox.request_log), _tokens_taken()
    for status, times in storm.items():
        env.sandbox.inject_failures(
            status=status, count=times, retry_after=2 if status == 429 else None
        )
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(min(seconds, 0.05))  # real time passes, only shorter than asked

    started = time.monotonic()
    rounds = deferred = 0
    while rounds < 20:
        due = actions_due()
        if not due:
            pending = Action.objects.filter(
                pk__in=[a.pk for a in actions], state=ActionState.SCHEDULED
            )
            if not pending.exists():
                break
            # Time passes: the postponed retries (5 min, 10 min, ...) come due.
            claims_age(Action, pending.values_list("pk", flat=True), by=timedelta(hours=7))
            continue
        rounds += 1
        for pk in due:
            deferred += action_run(action_id=pk, sleep=sleep) == "deferred"
    elapsed = time.monotonic() - started
    requests = len(env.sandbox.request_log) - requests_before
    tokens = _tokens_since(tokens_before)
    ids = [i["id"] for i in invoices]
    executed = Action.objects.filter(
        pk__in=[a.pk for a in actions], state=ActionState.EXECUTED
    ).count()
    charged = sum(successful_charges(env.sandbox, i) for i in ids)
    honoured = sum(1 for w in waits if w == 2.0)
    left = len(env.sandbox.injected_failures)
    row.events_lost = events_lost(e["id"] for e in events)
    row.double_charges = double_charges(env.sandbox, ids)
    row.behaved = (
        executed == count
        and charged == count
        and left == 0
        and deferred > 0
        and honoured >= 1
        and tokens >= requests
    )
    row.happened = (
        f"{executed}/{count} executed after {rounds} sweep rounds ({deferred} runs put back "
        f"for later); {charged} charges on {count} invoices; {len(waits)} waits "
        f"({honoured} honouring Retry-After); {requests} requests to Chargebee in "
        f"{elapsed:.1f} s, {tokens} tokens taken from the shared budget "
        f"({settings.CHARGEBEE_REQUESTS_PER_MINUTE}/min)"
    )
    return row


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@contextmanager
def charge_held_open(env: Env):
    """The sandbox charges the card, then holds its answer until the worker has been killed:
    Chargebee did the charge, Dunwell never heard back."""
    api = env.server.api
    charged, killed = threading.Event(), threading.Event()
    index = next(i for i, route in enumerate(api.routes) if route[2] == api.collect_payment)
    original = api.routes[index]

    def collect_then_hang(params, iid):
        answer = api.collect_payment(params, iid)
        charged.set()
        killed.wait(30)
        return answer

    api.routes[index] = (original[0], original[1], collect_then_hang)
    httpd = env.server.httpd
    # Writing the held answer to the dead worker's socket fails: expected, not worth a trace.
    httpd.handle_error = lambda request, client_address: None
    try:
        yield charged, killed
    finally:
        killed.set()
        api.routes[index] = original
        time.sleep(0.5)  # the held answer is written (and fails) after the release
        del httpd.handle_error


@timed
def worker_sigkill_mid_charge(env: Env) -> Row:
    real = env.redis_is_real
    how = (
        "an `rqworker actions` process (real Redis)"
        if real
        else "a process running the action's job against the database file"
    )
    row = Row(
        name="worker SIGKILL mid-charge",
        injected=f"{how} killed with SIGKILL after Chargebee charged the card, before the "
        "answer reached it",
        expected="the sweep re-runs the action after the claim timeout; Chargebee replays its "
        "first answer (idempotency key); exactly one charge",
    )
    [invoice], events = failed_renewals(env.sandbox, 1)
    deliver_all(events)
    jobs_run()
    automation_on()
    action = retry_scheduled(invoice["id"], invoice["customer_id"])
    child_env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DUNWELL_TESTING": "True",
        "CHARGEBEE_API_BASE": env.server.url,
        "CHARGEBEE_API_KEY": env.sandbox.api_key,
        "REDIS_URL": settings.REDIS_URL or "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    if real:
        command = [
            sys.executable,
            "manage.py",
            "rqworker",
            "actions",
            "--burst",
            "--worker-class",
            "rq.SimpleWorker",
        ]
    else:
        get_queue("actions").empty()
        command = [
            sys.executable,
            "-c",
            "import django; django.setup(); from dunning.actions.execution.jobs import run_action_job; "
            f"run_action_job({action.pk})",
        ]
    connection.close()  # the child writes to the same database
    with charge_held_open(env) as (charged, killed):
        child = subprocess.Popen(
            command, cwd=ROOT, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        reached = charged.wait(60)
        os.kill(child.pid, signal.SIGKILL)
        code = child.wait(30)
        stderr = child.stderr.read().decode(errors="replace")[-300:] if not reached else ""
        killed.set()
    action.refresh_from_db()
    after_kill = (
        action.state,
        action.claimed_at is not None,
        successful_charges(env.sandbox, invoice["id"]),
    )
    swept_early = actions_sweep()  # its worker might still be alive: leave it
    claims_age(Action, [action.pk], by=CLAIM_TIMEOUT + timedelta(minutes=1))
    swept = actions_sweep()
    jobs_run()
    action.refresh_from_db()
    charged_total = successful_charges(env.sandbox, invoice["id"])
    calls = collect_requests(env.sandbox, invoice["id"])
    row.events_lost = events_lost(e["id"] for e in events)
    row.double_charges = double_charges(env.sandbox, [invoice["id"]])
    row.behaved = (
        reached
        and code == -signal.SIGKILL
        and after_kill == (ActionState.SCHEDULED, True, 1)
        and swept_early == 0
        and swept == 1
        and action.state == ActionState.EXECUTED
        and (action.result or {}).get("replayed") is True
        and charged_total == 1
    )
    row.happened = (
        f"child killed mid-charge (exit {code}): action left {after_kill[0]} and claimed, "
        f"{after_kill[2]} charge; sweep left it while the claim was fresh ({swept_early}), "
        f"re-enqueued it after the timeout ({swept}); re-run {action.state}, replayed="
        f"{(action.result or {}).get('replayed')}; {calls} collect_payment calls, "
        f"{charged_total} charge" + (f"; child stderr: {stderr}" if stderr else "")
    )
    row.details = {"how": how}
    return row
