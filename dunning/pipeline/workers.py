"""RQ worker classes for production queues: ``manage.py rqworker ... --worker-class ...``.

``rq.Worker`` forks a work horse for every job. A decision needs the active models, and a
fresh child has none of its parent's module caches: every job imported the decision path
and unpickled both models again (0.7-3.5 s a decision). ``DecisionWorker`` loads the
models and imports the job modules once, at start-up, and runs each job in its own
process, as ``rq.SimpleWorker`` does; the loaded models then serve every job, and
``dunning.decisions.learning.scoring`` still notices a newly activated version within 30 s.
What start-up loaded is then frozen out of the garbage collector's walks
(``dunning.helpers.heap``).
"""

from __future__ import annotations

import logging

from django.db import connections
from rq import SimpleWorker
from threadpoolctl import threadpool_limits

from dunning.decisions.learning.scoring import scorers_warm
from dunning.helpers.heap import startup_heap_freeze

logger = logging.getLogger("dunwell.worker")


class DecisionWorker(SimpleWorker):
    """A worker for the ``default`` queue (decisions) that keeps its models loaded.

    Job timeouts still apply (SIGALRM on the worker's own process). Before each job, a
    database connection that broke or outlived ``CONN_MAX_AGE`` is dropped, as Django
    does around every request (a worker has no requests). One OpenMP thread per worker:
    a decision is one small predict call, and scaling out is by worker processes.
    """

    def work(self, *args, **kwargs):
        threadpool_limits(limits=1)
        loaded = scorers_warm()
        logger.info("models loaded before the first job: %s", loaded or "none active")
        frozen = startup_heap_freeze()  # the models and the decision path, out of the GC's walk
        logger.info("%s objects of start-up frozen", frozen)
        connections_refresh()
        return super().work(*args, **kwargs)

    def execute_job(self, job, queue):
        connections_refresh()
        try:
            return super().execute_job(job, queue)
        finally:
            connections_refresh()


def connections_refresh() -> None:
    """Django's ``close_old_connections``, except for a connection inside a transaction
    (a job never runs inside one; a test that runs a worker does)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
