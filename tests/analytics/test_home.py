"""The overview every role lands on: what is in dunning now and the latest failures."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dunning.sync.ingest import event_store
from dunning.sync.processing import event_process
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db


def test_overview_shows_revenue_in_dunning_and_the_latest_failed_payment(client, agent):
    event = event_store(payload=load_sample("payment_failed")).event
    event_process(event_pk=event.pk)
    client.force_login(agent)

    body = client.get(reverse("home")).content.decode()

    assert "USD 2.24" in body  # amount due on invoice 6, in dunning
    assert "Joe Ross" in body
    assert "Insufficient funds" in body


def test_empty_overview_says_so(client, agent):
    client.force_login(agent)

    body = client.get(reverse("home")).content.decode()

    assert "No invoices are in dunning." in body
    assert "No failed payments yet." in body
