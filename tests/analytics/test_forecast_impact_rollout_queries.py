"""The forecast, AI impact and rollout pages ask the database a bounded number of queries,
however many invoices and decisions there are (each figure is one aggregate query)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.analytics.forecast_data import decide, hard_decline_history, three_open_invoices
from tests.analytics.mirror import days_ago, failed_invoice
from tests.analytics.test_shadow import shadow_decision

pytestmark = pytest.mark.django_db

# What each page asks cold (18, 22 and 13 queries), with room for a new figure, not for
# a query per row.
MAX_QUERIES = {
    "analytics:forecast": 20,
    "analytics:impact": 24,
    "dunning:rollout": 15,
}


def _history(invoices: int) -> None:
    hard_decline_history(first=900)
    three_open_invoices()
    for n in range(10, 10 + invoices):
        decide(failed_invoice(n, failed_at=days_ago(2 + n % 5)), score=0.1 * (n % 10))
        shadow_decision(
            1_000 + n,
            paid_after=timedelta(days=n % 9) if n % 2 else None,
            score=0.05 * (n % 20),
            retry_in=timedelta(days=1),
            chargebee_retry_in=timedelta(days=1, hours=n % 30),
        )


def _queries(client, django_assert_max_num_queries, url: str, bound: int) -> None:
    cache.clear()  # cold: every figure computed
    with django_assert_max_num_queries(bound):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("page", sorted(MAX_QUERIES))
def test_the_page_asks_as_many_queries_for_many_invoices_as_for_few(
    client, manager, django_assert_max_num_queries, page
):
    client.force_login(manager)
    url = reverse(page)
    _history(invoices=2)
    _queries(client, django_assert_max_num_queries, url, MAX_QUERIES[page])

    for n in range(20, 60):  # twenty times as many
        decide(failed_invoice(n, failed_at=days_ago(1 + n % 7)), score=None)
        shadow_decision(2_000 + n, paid_after=timedelta(days=2), score=0.7)
    _queries(client, django_assert_max_num_queries, url, MAX_QUERIES[page])
