"""Where jobs go: RQ queues on Redis, or on the embedded server when REDIS_URL is unset."""

from __future__ import annotations

import functools

import django_rq
from django.conf import settings
from redis import ConnectionPool, Redis
from rq import Queue
from rq.job import JobStatus

from dunning.helpers.embedded_redis import embedded_connection

QUEUE_NAMES = ("ingest", "actions", "default", "backfill")


@functools.cache
def _client(url: str) -> Redis:
    # One pool per process and URL: opening a connection per enqueue doubled ingest time.
    # One client too: building one sets up its ~170 reply parsers, a fifth of a webhook's CPU.
    pool = ConnectionPool.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    return Redis(connection_pool=pool)


def redis_connection() -> Redis:
    if settings.REDIS_URL:
        return _client(settings.REDIS_URL)
    return embedded_connection()


def get_queue(name: str = "default") -> Queue:
    # commit_mode "auto": callers decide when to enqueue (always after their own commit).
    return django_rq.get_queue(name, connection=redis_connection(), commit_mode="auto")


def job_on_its_way(*, queue: Queue, job_id: str) -> bool:
    """A job of this id waits on ``queue`` or runs: enqueuing it again would run it twice."""
    existing = queue.fetch_job(job_id)
    return existing is not None and existing.get_status() in (JobStatus.QUEUED, JobStatus.STARTED)
