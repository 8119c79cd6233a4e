"""A web server's worker process is ready before its first request: every view imported,
and what start-up loaded frozen out of the garbage collector's walks (dunning.helpers.heap),
which had made one dashboard request in a few take 200 ms longer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_web_worker_loads_every_view_and_freezes_its_start_up_before_serving():
    probe = (
        "import gc, sys; import config.wsgi; "
        "print(gc.get_freeze_count(), 'analytics.dashboard_views' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    frozen, views_loaded = done.stdout.split()
    assert int(frozen) > 100_000
    assert views_loaded == "True"
