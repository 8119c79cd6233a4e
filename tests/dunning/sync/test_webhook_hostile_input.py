"""JSON a client can send that a database cannot hold: refused at parse with a 400 and a
reason, the body kept; never a 5xx, never "deliver again" for a body that will always fail.

Runs on whichever database the suite runs on (SQLite by default, PostgreSQL with
DATABASE_URL): PostgreSQL's jsonb is the stricter of the two."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dunning.models import ChargebeeEvent, RejectedWebhook
from dunning.sync.ingest import MAX_JSON_DEPTH, database_error_is_transient
from tests.conftest import basic_auth, load_sample

pytestmark = pytest.mark.django_db

WEBHOOK_URL = "/webhooks/chargebee/"
NON_FINITE = ["1e999", "-1e999", "2.5E+400", "NaN", "Infinity", "-Infinity"]
LONE_SURROGATES = ["\\ud800", "\\udfff", "\\udbff!", "x\\udc00", "\\ud800\\ud800"]
PAIRED_SURROGATES = ["\\ud83d\\ude00", "\\udbff\\udfff"]


def _envelope(event_id: str, content: str) -> bytes:
    return f'{{"id": "{event_id}", "event_type": "payment_failed", "content": {content}}}'.encode()


def _nested(depth: int) -> str:
    # ``depth`` levels in all, counting the envelope and ``content``.
    inner = depth - 2
    return "[" * inner + "1" + "]" * inner


# (body, expected status, a fragment of the reason when refused)
hostile_bodies = st.one_of(
    st.sampled_from(NON_FINITE).map(lambda number: (f'{{"amount": {number}}}', 400, "number")),
    st.sampled_from(LONE_SURROGATES).map(
        lambda text: (f'{{"note": "{text}"}}', 400, "unpaired UTF-16 surrogate")
    ),
    st.sampled_from(LONE_SURROGATES).map(
        lambda text: (f'{{"{text}": 1}}', 400, "unpaired UTF-16 surrogate")
    ),
    st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=50_000).map(
        lambda depth: (f'{{"items": {_nested(depth)}}}', 400, "nests deeper")
    ),
    # What looks close but is fine: kept and acknowledged.
    st.sampled_from(PAIRED_SURROGATES).map(lambda text: (f'{{"note": "{text}"}}', 200, "")),
    st.floats(allow_nan=False, allow_infinity=False).map(
        lambda number: (f'{{"amount": {json.dumps(number)}}}', 200, "")
    ),
    st.integers(min_value=3, max_value=MAX_JSON_DEPTH).map(
        lambda depth: (f'{{"items": {_nested(depth)}}}', 200, "")
    ),
)


def _as_numbers(value):
    # jsonb keeps a number, not its spelling: 4.124354373169967e+16 comes back as an integer.
    return json.loads(json.dumps(value), parse_int=float)


def _post(client, body: bytes, **extra):
    auth = basic_auth(settings.CHARGEBEE_WEBHOOK_USERNAME, settings.CHARGEBEE_WEBHOOK_PASSWORD)
    return client.generic(
        "POST",
        WEBHOOK_URL,
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
        **extra,
    )


def test_hostile_json_is_refused_at_parse_and_kept_while_its_lookalikes_are_stored(client):
    examples = iter(range(10**6))

    @hypothesis_settings(
        max_examples=80,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=hostile_bodies)
    def deliver(case):
        content, expected_status, reason = case
        event_id = f"ev_hostile_{next(examples)}"
        body = _envelope(event_id, content)

        response = _post(client, body)

        assert response.status_code == expected_status, (content[:80], response.content[:200])
        stored = ChargebeeEvent.objects.filter(event_id=event_id)
        if expected_status == 200:
            assert _as_numbers(stored.get().payload) == _as_numbers(json.loads(body))
        else:
            assert reason in response.json()["error"]
            assert not stored.exists()
            kept = RejectedWebhook.objects.filter(body=body.decode()).get()
            assert (kept.status_code, kept.content_length) == (400, len(body))
            assert reason in kept.reason

    deliver()


def test_body_sent_chunked_without_content_length_is_read_and_stored(client):
    body = json.dumps(load_sample("payment_failed")).encode()
    # What gunicorn hands over for Transfer-Encoding: chunked: no CONTENT_LENGTH, a stream
    # that ends with the body, and wsgi.input_terminated set.
    response = _post(
        client,
        b"",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )

    assert response.status_code == 200, response.content
    assert ChargebeeEvent.objects.get().event_id == "ev_3Nl7oGgQqGG8UK4s"


def test_chunked_body_over_the_bound_is_refused_with_413_after_reading_one_byte_more(client):
    event = load_sample("payment_failed")
    event["content"]["padding"] = "x" * settings.WEBHOOK_MAX_BODY_BYTES
    stream = io.BytesIO(json.dumps(event).encode())

    response = _post(
        client,
        b"",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": stream, "wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert stream.tell() == settings.WEBHOOK_MAX_BODY_BYTES + 1
    assert not ChargebeeEvent.objects.exists()
    assert RejectedWebhook.objects.get().content_length is None


@pytest.mark.parametrize("declared", [2**31, 2**40, 2**63 - 1])
def test_a_content_length_beyond_two_to_the_31_is_recorded_as_declared(client, declared):
    response = _post(client, b"{}", CONTENT_LENGTH=str(declared))

    assert response.status_code == 413
    kept = RejectedWebhook.objects.get()
    assert (kept.content_length, kept.content_length_header) == (declared, str(declared))


def test_a_content_length_beyond_any_integer_column_keeps_the_header_text(client):
    response = _post(client, b"{}", CONTENT_LENGTH="9" * 30)

    assert response.status_code == 413
    kept = RejectedWebhook.objects.get()
    assert (kept.content_length, kept.content_length_header) == (None, "9" * 30)


@pytest.mark.parametrize("header", ["-5", "12abc", "1e3"])
def test_a_content_length_that_is_not_a_byte_count_gets_400(client, header):
    response = _post(client, b"{}", CONTENT_LENGTH=header)

    assert response.status_code == 400
    assert "Content-Length" in response.json()["error"]
    assert RejectedWebhook.objects.get().content_length_header == header


def test_a_refusal_keeps_the_whole_body_not_only_an_excerpt(client):
    body = _envelope("ev_long", '{"amount": 1e999, "note": "' + "n" * 5000 + '"}')

    _post(client, body)

    kept = RejectedWebhook.objects.get()
    assert kept.body == body.decode()
    assert len(kept.body_excerpt) < len(kept.body)


@pytest.mark.django_db(transaction=True)
def test_only_an_unreachable_database_counts_as_transient(database_outage):
    ChargebeeEvent.objects.create(
        event_id="ev_dup", event_type="x", occurred_at="2026-11-01T00:00Z", payload={}
    )
    with pytest.raises(IntegrityError) as duplicate:
        ChargebeeEvent.objects.create(
            event_id="ev_dup", event_type="x", occurred_at="2026-11-01T00:00Z", payload={}
        )
    with database_outage, pytest.raises(OperationalError) as unreachable:
        connection.ensure_connection()

    assert not database_error_is_transient(duplicate.value)
    assert database_error_is_transient(unreachable.value)


def test_a_missing_static_file_is_404(client):
    assert client.get("/static/css/no-such-file.css").status_code == 404
    assert client.get("/static/css/dunwell.css").status_code == 200
