"""Calling Chargebee politely: back off on 429 and 5xx, honour Retry-After, give up clearly."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from chargebee import APIError

from dunning.sync.chargebee_budget import Priority, budget_acquire

logger = logging.getLogger("dunwell.chargebee")

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_DELAY_SECONDS = 60.0


class ChargebeeUnavailable(Exception):
    """Chargebee kept answering 429/5xx after every retry."""


def retry_after_seconds(error: APIError) -> float | None:
    headers = getattr(error, "http_headers", None) or {}
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def call_with_backoff(
    call: Callable[[], T],
    *,
    priority: Priority = Priority.ENRICH,
    max_attempts: int = 5,
    base_delay: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call`` within the shared request budget; on 429/5xx wait (Retry-After, else
    capped exponential with jitter) and retry.

    Any other API error (a 4xx such as a declined payment) is raised at once: retrying it
    would not change the answer.
    """
    for attempt in range(1, max_attempts + 1):
        budget_acquire(priority=priority, sleep=sleep)
        try:
            return call()
        except APIError as error:
            status = getattr(error, "http_status_code", None)
            if status not in RETRYABLE_STATUS:
                raise
            if attempt == max_attempts:
                raise ChargebeeUnavailable(
                    f"Chargebee answered {status} {getattr(error, 'api_error_code', '')} "
                    f"{max_attempts} times; giving up for now"
                ) from error
            delay = retry_after_seconds(error)
            if delay is None:
                # "Equal jitter": half the exponential step fixed, half random.
                step = base_delay * 2 ** (attempt - 1)
                delay = step / 2 + random.random() * step / 2
            delay = min(delay, MAX_DELAY_SECONDS)
            logger.warning("Chargebee answered %s; retrying in %.1fs", status, delay)
            sleep(delay)
    raise AssertionError("unreachable")
