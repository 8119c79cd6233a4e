"""Webhook ingest benchmark: how fast POST /webhooks/chargebee/ takes events, against a ceiling.

Measured on PostgreSQL + Redis (never the SQLite/fakeredis default), through gunicorn:

1. trivial view   POST /bench/trivial/ (bench/urls.py): same gunicorn, middleware and body
                  size as the webhook, a view that does nothing. The ceiling.
2. webhook ingest POST /webhooks/chargebee/ with the payment_failed fixture, a unique event id
                  (and unique customer, subscription, invoice and transaction ids) per request:
                  Basic auth, parse, card-data check, one INSERT ... ON CONFLICT in
                  autocommit, then one Redis nudge (SET NX; the first one enqueues a drain).
3. worker         one `manage.py rqworker ingest --burst` drains what ingest stored
                  (rq.SimpleWorker, as docs/operations.md recommends for the ingest queue;
                  --worker-class rq.Worker forks). The drain job claims 100 waiting events
                  at a time with SKIP LOCKED until none is left. events/s = processed
                  events / (last processed_at - first claimed_at), worker startup excluded;
                  p50/p99 = claim -> processed (a batch).

Phases 1 and 2 run --concurrency client processes (stdlib http.client, keep-alive) for
--seconds each, after a 1 s warm-up, against 2 gthread workers. Targets: ingest >= 50% of the
trivial view's req/s, and ingest p99 < 50 ms.

Beside req/s it prints gunicorn's CPU time per request in each phase (its master's and
workers' user + system time over the phase): on a shared machine the neighbours move req/s
a lot and the CPU a request costs much less.

Run from the repository root:

    .venv/bin/python bench/webhook_ingest.py [--seconds 10] [--concurrency 8]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/dunwell_bench (created and migrated
if missing, dropped at the end if this run created it, else only this run's rows are deleted);
REDIS_URL defaults to redis://127.0.0.1:6379/14, which is FLUSHED before and after the run.
Point them only at throwaway databases.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from base64 import b64encode
from pathlib import Path

import psycopg
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
FIXTURE = ROOT / "tests" / "fixtures" / "chargebee" / "payment_failed.json"
TRIVIAL, WEBHOOK = "/bench/trivial/", "/webhooks/chargebee/"
# Ids in the fixture, each replaced by a per-request one so every event is new to the mirror.
FIXTURE_IDS = {
    "ev_3Nl7oGgQqGG8UK4s": "ev_{tag}",
    "txn_3Nl7oGgQqGG8Pp4m": "txn_{tag}",
    "pm_3Nl7oGgQqGG6Jr42": "pm_{tag}",
    "3Nl7oGgQqGFprj9": "{tag}",  # the customer's and the subscription's id
    '"id":"6"': '"id":"inv_{tag}"',
    '"invoice_id":"6"': '"invoice_id":"inv_{tag}"',
}
MIRROR_TABLES = ("transaction", "invoice", "subscription", "paymentsource", "customer")


def body_template() -> str:
    text = json.dumps(json.loads(FIXTURE.read_text()), separators=(",", ":"))
    for old, new in FIXTURE_IDS.items():
        assert old in text, f"{old} not in {FIXTURE.name}"
        text = text.replace(old, new)
    return text


def client(job: tuple) -> tuple[list[float], int]:
    """One client: POST back to back until end_at. Returns latencies (s) and error count."""
    port, path, template, prefix, start_at, end_at = job
    credentials = f"{os.environ['CHARGEBEE_WEBHOOK_USERNAME']}:"
    credentials += os.environ["CHARGEBEE_WEBHOOK_PASSWORD"]
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Basic " + b64encode(credentials.encode()).decode(),
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors = [], 0
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < end_at:
        body = template.replace("{tag}", f"{prefix}{len(latencies)}")
        started = time.perf_counter()
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            ok = 200 <= response.status < 300
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
        latencies.append(time.perf_counter() - started)
        errors += not ok
    conn.close()
    return latencies, errors


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else 0


def server_cpu_seconds(server_pid: int) -> float:
    """CPU time (user + system) used so far by gunicorn's master and its workers."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(entry) == server_pid or int(fields[1]) == server_pid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def load(pool, port: int, path: str, phase: str, args, seconds: float, server_pid=None) -> dict:
    """Run args.concurrency clients against path for the given seconds."""
    start_at = time.time() + 0.3
    cpu_before = server_cpu_seconds(server_pid) if server_pid else 0.0
    template = body_template()
    jobs = [
        (port, path, template, f"{args.run}_{phase}{i}_", start_at, start_at + seconds)
        for i in range(args.concurrency)
    ]
    results = pool.map(client, jobs)
    latencies = [value for values, _ in results for value in values]
    server_cpu = server_cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    return {
        "cpu_ms": server_cpu * 1000 / len(latencies) if latencies else 0.0,
        "rate": len(latencies) / seconds,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "errors": sum(errors for _, errors in results),
        "requests": len(latencies),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [
        GUNICORN,
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "10",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT)
    deadline = time.time() + 120  # a busy machine takes a while to import Django twice
    while time.time() < deadline and server.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", TRIVIAL)
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def database_prepare(url: str) -> bool:
    """Create the database if missing (returns True if created), then migrate it."""
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    return not exists


def database_cleanup(url: str, created: bool, run: str) -> None:
    if created:
        with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
            name = conninfo_to_dict(url)["dbname"]
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        return
    with psycopg.connect(url) as db:  # a database we did not create: delete only our rows
        for table in MIRROR_TABLES:
            db.execute(f"DELETE FROM dunning_{table} WHERE strpos(cb_id, %s) > 0", [run])
        db.execute("DELETE FROM dunning_chargebeeevent WHERE strpos(event_id, %s) > 0", [run])


def worker_drain(url: str, run: str, worker_class: str) -> dict:
    """Time one burst-mode RQ worker on the ingest queue; read the results from the rows."""
    command = [
        sys.executable,
        "manage.py",
        "rqworker",
        "ingest",
        "--burst",
        "-v",
        "0",
        "--worker-class",
        worker_class,
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    with psycopg.connect(url) as db:
        mine = "FROM dunning_chargebeeevent WHERE strpos(event_id, %s) > 0"
        states = dict(db.execute(f"SELECT state, count(*) {mine} GROUP BY state", [run]))
        first, last, p50, p99 = db.execute(
            "SELECT extract(epoch FROM min(claimed_at)), extract(epoch FROM max(processed_at)),"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at"
            " - claimed_at)), percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM"
            f" processed_at - claimed_at)) {mine} AND state = 'processed'",
            [run],
        ).fetchone()
    processed = states.get("processed", 0)
    return {
        "rate": processed / float(last - first) if processed > 1 else 0.0,
        "p50": float(p50 or 0) * 1000,
        "p99": float(p99 or 0) * 1000,
        "errors": sum(states.values()) - processed,
        "processed": processed,
        "states": states,
        "wall": wall,
    }


def report(args, trivial: dict, ingest: dict, worker: dict, stored: int, queued: int) -> None:
    ratio = ingest["rate"] / trivial["rate"] if trivial["rate"] else 0.0
    met = {True: "met", False: "NOT met"}
    lines = [
        f"\nWebhook ingest benchmark: {args.seconds:g} s per load phase, {args.concurrency} client"
        f" processes, gunicorn {args.workers} gthread workers x {args.threads} threads",
        f"NOTE: this machine has {os.cpu_count()} cores, shared by the load generator, gunicorn,"
        " PostgreSQL and Redis: figures are a lower bound for a dedicated server.\n",
        f"{'':18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>9}",
        *(
            f"{label:18}{row['rate']:>10.1f}{row['p50']:>10.2f}{row['p99']:>10.2f}{row['errors']:>9}"
            for label, row in (
                ("trivial view", trivial),
                ("webhook ingest", ingest),
                ("worker (events/s)", worker),
            )
        ),
        f"\ningest / trivial throughput: {ratio:.0%}  (target >= 50%: {met[ratio >= 0.5]})",
        f"ingest p99: {ingest['p99']:.1f} ms  (target < 50 ms: {met[ingest['p99'] < 50]})",
        f"gunicorn's CPU per request (its workers' user + system time over the phase, which"
        f" neighbours on the machine move far less than req/s): trivial"
        f" {trivial['cpu_ms']:.2f} ms, ingest {ingest['cpu_ms']:.2f} ms.",
        "\nerrors = non-2xx or failed requests; for the worker, events not 'processed'.",
        f"ingest: {ingest['requests']} requests measured, {stored} events stored (warm-ups"
        f" included), {queued} jobs queued.",
        f"worker ({args.worker_class}): {worker['processed']} of {stored} events processed,"
        f" states {worker['states']}; p50/p99 = claim -> processed inside the job; with worker"
        f" startup: {worker['wall']:.1f} s wall, {worker['processed'] / worker['wall']:.1f}/s.",
    ]
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per load phase (10)")
    parser.add_argument("--concurrency", type=int, default=8, help="client processes (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--worker-class", default="rq.SimpleWorker", help="RQ worker class (rq.Worker)"
    )
    args = parser.parse_args()
    args.threads = max(1, -(-args.concurrency // args.workers))
    args.run = "bench_" + uuid.uuid4().hex[:8]

    os.chdir(ROOT)
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dunwell_bench")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("CHARGEBEE_WEBHOOK_USERNAME", "chargebee")
    os.environ.setdefault("CHARGEBEE_WEBHOOK_PASSWORD", "sandbox-webhook-secret")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings", DEBUG="False", DUNWELL_LOG_LEVEL="WARNING"
    )
    url, queue = os.environ["DATABASE_URL"], redis.Redis.from_url(os.environ["REDIS_URL"])
    queue.flushdb()
    created = database_prepare(url)
    server = None
    try:
        port = free_port()
        server = gunicorn_start(port, args.workers, args.threads)
        with multiprocessing.get_context("fork").Pool(args.concurrency) as pool:
            load(pool, port, TRIVIAL, "wt", args, 1.0)
            trivial = load(pool, port, TRIVIAL, "t", args, args.seconds, server.pid)
            load(pool, port, WEBHOOK, "wi", args, 1.0)
            ingest = load(pool, port, WEBHOOK, "i", args, args.seconds, server.pid)
        server.terminate()
        server.wait(15)
        server = None
        with psycopg.connect(url) as db:
            stored = db.execute(
                "SELECT count(*) FROM dunning_chargebeeevent WHERE strpos(event_id, %s) > 0",
                [args.run],
            ).fetchone()[0]
        queued = queue.llen("rq:queue:ingest")
        print(f"draining {queued} jobs with one worker...", flush=True)
        worker = worker_drain(url, args.run, args.worker_class)
        report(args, trivial, ingest, worker, stored, queued)
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)
        queue.flushdb()
        database_cleanup(url, created, args.run)


if __name__ == "__main__":
    main()
