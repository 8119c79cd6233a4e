"""Whatever arrives at the webhook: a 2xx or a 4xx with a reason, never a 5xx; whatever is
stored processes without an unexpected error. The strategies are shared with the
per-example tests in tests/faults/test_webhook_fuzz.py."""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dunning.models import ChargebeeEvent, EventState, RejectedWebhook
from dunning.sync.processing import event_process
from tests.faults.scenarios.core import Env, Row, timed, webhook_post

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
# Valid JSON no database holds: non-finite numbers, unpaired surrogates, deep nesting.
hostile_json = st.one_of(
    st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-Infinity"]),
    st.sampled_from(['"\\ud800"', '"x\\udfff"', '{"\\udbff": 1}']),
    st.integers(min_value=65, max_value=20_000).map(lambda depth: "[" * depth + "]" * depth),
).map(
    lambda value: (
        '{"id": "ev_hostile", "event_type": "payment_failed", "content": {"x": ' + value + "}}"
    ).encode()
)
# Everything a webhook body can be: raw bytes, any JSON, something shaped like an event,
# or JSON a database refuses.
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda value: json.dumps(value).encode())
    | events.map(lambda value: json.dumps(value).encode())
    | hostile_json
)


def fuzz_settings(examples: int, *, seed: int | None = None):
    return hypothesis_settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],
        derandomize=seed is not None,
    )


@timed
def fuzzed_webhooks(env: Env) -> Row:
    examples = env.n(test=200, bench=10_000)
    row = Row(
        name="fuzzed webhook bodies",
        injected=f"{examples:,} hypothesis bodies (random bytes, random JSON, event-shaped junk, "
        "non-finite numbers, lone surrogates, deep nesting)",
        expected="never a 5xx; every refusal a 4xx with a reason, kept; every stored event "
        "processes without an unexpected error",
    )
    statuses: Counter[int] = Counter()
    without_reason = missing = 0
    rejected_before = RejectedWebhook.objects.count()
    stored: set[int] = set()

    @fuzz_settings(examples, seed=1)
    @given(body=bodies)
    def deliver(body: bytes) -> None:
        nonlocal without_reason, missing
        response = webhook_post(body)
        statuses[response.status_code] += 1
        if 400 <= response.status_code < 500 and not response.json().get("error"):
            without_reason += 1
        if response.status_code == 200:
            event = ChargebeeEvent.objects.filter(event_id=response.json()["event"]).first()
            if event is None:
                missing += 1
            else:
                stored.add(event.pk)

    deliver()
    refused = sum(n for status, n in statuses.items() if 400 <= status < 500)
    kept = RejectedWebhook.objects.count() - rejected_before
    unexpected = []
    for pk in sorted(stored):
        try:
            event_process(event_pk=pk)
        except Exception as error:  # counted: an exception here is a bug
            unexpected.append(repr(error)[:100])
    retried = ChargebeeEvent.objects.filter(
        pk__in=stored, state=EventState.FAILED, next_attempt_at__isnull=False
    ).count()
    row.events_lost = missing  # acknowledged with 200 but not stored
    row.bad_input_5xx = sum(n for status, n in statuses.items() if status >= 500)
    row.behaved = not without_reason and kept == refused and not unexpected and not retried
    row.happened = (
        f"{sum(statuses.values()):,} bodies: "
        + ", ".join(f"{n:,} x {status}" for status, n in sorted(statuses.items()))
        + f"; {kept:,} refusals kept with a reason ({without_reason} without); "
        f"{len(stored):,} stored events processed, {len(unexpected)} unexpected errors, "
        f"{retried} left retrying"
    )
    return row
