"""Bench-only settings: the project's settings, plus a trivial view for the throughput ceiling.

Used by bench/webhook_ingest.py (DJANGO_SETTINGS_MODULE=bench.settings); never in production.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
