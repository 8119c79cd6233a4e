"""Backoff around Chargebee calls: 429/5xx wait and retry, other errors surface at once."""

from __future__ import annotations

import pytest
from chargebee import InvalidRequestError

from dunning.sync.chargebee_calls import ChargebeeUnavailable, call_with_backoff
from dunning.sync.chargebee_client import chargebee_client


def test_rate_limit_is_retried_honouring_retry_after(sandbox):
    customer = sandbox.create_customer(first_name="Ana", last_name="Lima", email="a@x.test")
    sandbox.inject_failures(status=429, count=2, retry_after=7)
    waits: list[float] = []
    client = chargebee_client()

    response = call_with_backoff(
        lambda: client.Customer.retrieve(customer["id"]), sleep=waits.append
    )

    assert response.customer.first_name == "Ana"
    assert waits == [7.0, 7.0]


def test_server_errors_back_off_then_give_up_with_a_clear_error(sandbox):
    sandbox.inject_failures(status=503, count=10)
    waits: list[float] = []
    client = chargebee_client()

    with pytest.raises(ChargebeeUnavailable, match="answered 503"):
        call_with_backoff(
            lambda: client.Invoice.retrieve("inv_x"), sleep=waits.append, max_attempts=3
        )

    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1 <= waits[1] <= 2  # exponential, with jitter


def test_client_errors_are_not_retried(sandbox):
    waits: list[float] = []
    client = chargebee_client()

    with pytest.raises(InvalidRequestError) as raised:
        call_with_backoff(lambda: client.Invoice.retrieve("inv_missing"), sleep=waits.append)

    assert raised.value.api_error_code == "resource_not_found"
    assert waits == []
