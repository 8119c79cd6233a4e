"""The embedded Redis: one in-process fakeredis server shared by every thread.

Used when ``REDIS_URL`` is unset. The web server, the RQ worker thread and the cache all
talk to the same ``FakeServer``, so jobs enqueued by a request are seen by the worker.
fakeredis needs ``lupa`` for the Lua scripts RQ runs.
"""

from __future__ import annotations

import threading

import fakeredis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_lock = threading.Lock()
_server: fakeredis.FakeServer | None = None


def embedded_server() -> fakeredis.FakeServer:
    global _server
    with _lock:
        if _server is None:
            _server = fakeredis.FakeServer()
        return _server


def embedded_connection() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=embedded_server())


class _EmbeddedCacheClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        return embedded_connection()


class EmbeddedRedisCache(RedisCache):
    """Django's Redis cache over the embedded server.

    django-rq's ``USE_REDIS_CACHE`` reads ``cache._client``, so the same object also gives
    django-rq (its admin pages and ``get_queue``) the embedded connection.
    """

    @cached_property
    def _cache(self):
        return _EmbeddedCacheClient(self._servers, **self._options)

    @property
    def _client(self):
        return embedded_connection()
