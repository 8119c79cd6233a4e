"""Webhook bodies of the wrong shape: read as empty, never a server error.

The hypothesis fuzzing itself (random bytes, random JSON, event-shaped junk; never a 5xx,
every refusal kept with a reason, everything stored processable) is the
``fuzzed_webhooks`` fault scenario: tests/faults/test_fault_scenarios.py runs it with a
few hundred bodies, bench/faults.py with 10,000."""

from __future__ import annotations

import json

import pytest

from dunning.models import ChargebeeEvent
from dunning.sync.processing import event_process

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("odd", [[1, 2], "text", 7, True])
def test_nested_objects_of_the_wrong_type_are_read_as_empty(post_webhook, odd):
    payload = {
        "id": f"ev_odd_{odd!r}",
        "event_type": "payment_source_added",
        "api_version": "v2",
        "content": {
            "customer": {"id": "cus_1", "billing_address": odd, "payment_method": odd},
            "payment_source": {"id": "pm_1", "customer_id": "cus_1", "card": odd},
            "transaction": {
                "id": "txn_1",
                "customer_id": "cus_1",
                "error_detail": odd,
                "linked_invoices": odd,
            },
        },
    }
    post_webhook(json.dumps(payload))
    event = ChargebeeEvent.objects.get(event_id=payload["id"])

    assert event_process(event_pk=event.pk).value == "processed"
