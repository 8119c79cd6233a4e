"""Fault table: inject each fault into the real parts and print what happened.

Runs the scenarios of tests/faults/scenarios/ (the same code the fault tests assert on) at
bench size — hundreds of concurrent duplicate deliveries, 10,000 fuzzed webhook bodies, a
storm larger than Chargebee's per-minute budget — against a throwaway test database, an
in-process Chargebee sandbox over HTTP and the configured Redis (the embedded one by
default). Prints one row per fault: what was injected, what was expected, what happened,
and the three counts that must be zero (events lost, double charges, 5xx answers to bad
input). Writes the table as markdown to var/faults-<database>.md. Exits 1 if any row failed.

    .venv/bin/python bench/faults.py [--quick] [--only duplicate,fuzz]
    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/faults.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The script's own folder would come first and its queue.py would hide the standard library's.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DUNWELL_TESTING", "True")
# The faults are deliberate: their warnings (refused webhooks, Redis down) would bury the table.
os.environ.setdefault("DUNWELL_LOG_LEVEL", "CRITICAL")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from dunning.helpers.queueing import redis_connection  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from tests.faults.scenarios import SCENARIOS, Env, Row  # noqa: E402


def table(rows: list[Row], *, where: str) -> str:
    lines = [
        f"Fault suite, {where}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| fault | injected | expected | happened | events lost | double charges "
        "| 5xx to bad input | other counts that must be 0 | result |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        result = "skipped: " + row.skipped if row.skipped else ("pass" if row.passed else "FAIL")
        cells = [
            row.name,
            row.injected,
            row.expected,
            row.happened or "-",
            *("n/a" if count is None else f"{count:,}" for count in row.counts),
            "; ".join(f"{name} {n:,}" for name, n in row.other_zeros.items()) or "-",
            f"{result} ({row.seconds:.1f} s)",
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the test suite's sizes")
    parser.add_argument("--only", default="", help="comma-separated parts of scenario names")
    parser.add_argument("--keepdb", action="store_true", help="reuse the test database, keep it")
    args = parser.parse_args()
    wanted = [w for w in args.only.split(",") if w]
    scenarios = [s for s in SCENARIOS if not wanted or any(w in s.__name__ for w in wanted)]

    setup_test_environment()  # the test client's host, locmem email
    if connection.vendor == "sqlite":  # not the test suite's file: both may run at once
        connection.settings_dict["TEST"]["NAME"] = str(ROOT / "var" / "bench-faults.sqlite3")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keepdb)
    # The schedule's audit checkpoints of a throwaway database stay out of the real file.
    settings.AUDIT_CHECKPOINT_PATH = Path(tempfile.mkdtemp()) / "bench-audit-checkpoints.jsonl"
    server = SandboxServer().start()
    settings.CHARGEBEE_API_BASE, settings.CHARGEBEE_API_KEY = server.url, server.sandbox.api_key
    redis = (
        "Redis " + settings.REDIS_URL.rsplit("@", 1)[-1]
        if settings.REDIS_URL
        else ("embedded Redis")
    )
    where = f"{connection.vendor} + {redis}"
    rows: list[Row] = []
    try:
        redis_connection().flushdb()
        env = Env(server=server, bench=not args.quick)
        for scenario in scenarios:
            print(f"-- {scenario.__name__} ...", flush=True)
            try:
                row = scenario(env)
            except Exception as error:  # a crash is a failed row, not a lost table
                row = Row(
                    name=scenario.__name__,
                    injected="-",
                    expected="-",
                    happened=f"crashed: {error!r}"[:300],
                )
            rows.append(row)
            print(
                f"   {'pass' if row.passed else 'FAIL'} in {row.seconds:.1f} s: {row.happened}",
                flush=True,
            )
    finally:
        server.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=args.keepdb)
    text = table(rows, where=where)
    print()
    print(text)
    out = ROOT / "var" / f"faults-{connection.vendor}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
