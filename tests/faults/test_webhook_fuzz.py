"""Fuzzed webhooks: whatever arrives, the answer is a 2xx or a 4xx with a reason, never a 5xx,
and whatever is stored can be processed without an unexpected error."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning.models import ChargebeeEvent, EventState
from dunning.processing import event_process

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
ids = st.text(min_size=1, max_size=40) | st.integers() | st.none()
resource = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "customer_id": ids,
        "subscription_id": ids,
        "payment_source_id": ids,
        "resource_version": st.integers() | st.text(max_size=5),
        "updated_at": st.integers() | st.floats(allow_nan=False),
        "status": json_values,
        "amount_due": json_values,
        "date": st.integers(min_value=-(2**40), max_value=2**40),
        "linked_invoices": json_values,
        "subscription_items": json_values,
        "error_detail": json_values,
        "card": json_values,
        "billing_address": json_values,
        "payment_method": json_values,
    },
)
events = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=40),
        "event_type": st.sampled_from(
            [
                "payment_failed",
                "invoice_updated",
                "payment_source_added",
                "card_updated",
                "customer_deleted",
                "made_up",
            ]
        ),
        "content": st.dictionaries(
            st.sampled_from(
                [
                    "customer",
                    "invoice",
                    "subscription",
                    "transaction",
                    "payment_source",
                    "card",
                    "other",
                ]
            ),
            resource | json_values,
            max_size=4,
        ),
    },
    optional={
        "occurred_at": st.integers(min_value=-10, max_value=2**35) | json_values,
        "api_version": st.sampled_from(["v2", "v1", ""]),
    },
)


@FUZZ
@given(body=st.binary(max_size=300))
def test_random_bytes_never_cause_a_server_error(post_webhook, body):
    assert post_webhook(body).status_code in (200, 400)


@FUZZ
@given(payload=json_values)
def test_random_json_never_causes_a_server_error(post_webhook, payload):
    assert post_webhook(json.dumps(payload)).status_code in (200, 400)


@FUZZ
@given(payload=events)
def test_event_shaped_bodies_are_stored_or_refused_and_always_processable(post_webhook, payload):
    response = post_webhook(json.dumps(payload))

    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        event = ChargebeeEvent.objects.get(event_id=payload["id"])
        event_process(event_pk=event.pk)  # must not raise
        event.refresh_from_db()
        assert event.state in (
            EventState.PROCESSED,
            EventState.STALE,
            EventState.IGNORED,
            EventState.FAILED,
        )
        if event.state == EventState.FAILED:
            assert event.next_attempt_at is None, (
                f"unexpected error, would be retried: {event.last_error}"
            )


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
