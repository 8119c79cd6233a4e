"""One request budget for every Chargebee call, from every worker: a token bucket in Redis.

Chargebee limits requests per minute per site (150 on test sites). All processes share one
bucket, refilled continuously. Priorities keep live work ahead of bulk work: a call may
only take a token if enough would be left for the calls above it, so an approved charge
can always go, enrichment keeps a fifth in hand for it, and a backfill keeps half.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from django.conf import settings
from redis.exceptions import RedisError

from dunning.helpers.queueing import redis_connection

logger = logging.getLogger("dunwell.chargebee")

KEY = "dunwell:chargebee:budget"
USAGE_KEY = "dunwell:chargebee:used:{priority}:{minute}"


class Priority(IntEnum):
    EXECUTE = 0  # carrying out an approved action: a charge, a write-back
    ENRICH = 1  # reading Chargebee to decide about a live failure
    BACKFILL = 2  # history and reconciliation


# Share of the bucket a call must leave untouched for higher priorities.
RESERVE = {Priority.EXECUTE: 0.0, Priority.ENRICH: 0.2, Priority.BACKFILL: 0.5}

_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local reserve = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens - 1 >= reserve then
    tokens = tokens - 1
else
    wait = (reserve + 1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""


class BudgetExhausted(Exception):
    """No token came free within the timeout."""


@dataclass(frozen=True)
class BudgetStatus:
    per_minute: int
    tokens: float
    used_last_minute: dict[str, int]


def _limits() -> tuple[float, float]:
    per_minute = settings.CHARGEBEE_REQUESTS_PER_MINUTE
    return float(per_minute), per_minute / 60.0


def budget_take(*, priority: Priority, now: float | None = None) -> float:
    """Take a token if one is free for ``priority``; else return the seconds to wait (> 0)."""
    capacity, rate = _limits()
    now = time.time() if now is None else now
    connection = redis_connection()
    wait = float(connection.eval(_TAKE, 1, KEY, capacity, rate, now, RESERVE[priority] * capacity))
    if wait == 0:
        minute = int(now // 60)
        usage = USAGE_KEY.format(priority=priority.name.lower(), minute=minute)
        connection.incr(usage)
        connection.expire(usage, 180)
    return wait


def budget_acquire(
    *,
    priority: Priority,
    timeout: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> float:
    """Wait (sleeping) until a token is free for ``priority``; returns the seconds waited."""
    started = clock()
    while True:
        try:
            wait = budget_take(priority=priority, now=clock())
        except RedisError as error:
            # The budget is a courtesy to Chargebee; its 429 handling still protects the site.
            logger.warning("request budget unavailable (%s); calling Chargebee anyway", error)
            return 0.0
        if wait == 0:
            return clock() - started
        if clock() - started + wait > timeout:
            raise BudgetExhausted(
                f"no Chargebee request budget for {priority.name.lower()} within {timeout:.0f} s"
            )
        sleep(wait)


def budget_status(*, now: float | None = None) -> BudgetStatus:
    capacity, rate = _limits()
    now = time.time() if now is None else now
    connection = redis_connection()
    stored, at = connection.hmget(KEY, "tokens", "at")
    tokens = capacity if stored is None else min(capacity, float(stored) + (now - float(at)) * rate)
    minute = int(now // 60)
    used = {}
    for priority in Priority:
        keys = [
            USAGE_KEY.format(priority=priority.name.lower(), minute=m) for m in (minute - 1, minute)
        ]
        used[priority.name.lower()] = sum(int(v or 0) for v in connection.mget(keys))
    return BudgetStatus(per_minute=int(capacity), tokens=round(tokens, 1), used_last_minute=used)
