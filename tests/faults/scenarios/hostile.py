"""JSON a client can send that a database cannot hold, bodies without a length, lengths no
column holds, and a static file that is not there: each answered 2xx or 4xx with a reason,
the refused body kept, never a 5xx."""

from __future__ import annotations

import io
import json

from django.conf import settings
from django.test import Client

from dunning.models import ChargebeeEvent, RejectedWebhook
from tests.conftest import load_sample
from tests.dunning.sync.test_webhook_hostile_input import _envelope, _nested, _post
from tests.faults.scenarios.core import Env, Row, timed

DEPTH = 10_000


def _chunked(body: bytes) -> dict:
    """What gunicorn hands over for Transfer-Encoding: chunked: no Content-Length."""
    return {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
    }


def _cases(n: int) -> list[tuple[str, bytes, dict, int, bool]]:
    """(class, body, extra WSGI environ, expected status, whether the body is kept whole)."""
    event = load_sample("payment_failed")
    event["id"] = f"ev_chunked_{n}"
    too_big = {**event, "id": f"ev_chunked_big_{n}"}
    too_big["content"] = {**event["content"], "padding": "x" * settings.WEBHOOK_MAX_BODY_BYTES}
    cases = [
        (
            f"number {number}",
            _envelope(f"ev_nf_{number}_{n}", f'{{"amount": {number}}}'),
            {},
            400,
            True,
        )
        for number in ("1e999", "-1e999", "NaN", "Infinity")
    ] + [
        ("lone surrogate", _envelope(f"ev_ls_{n}", '{"note": "x\\ud800"}'), {}, 400, True),
        ("lone surrogate key", _envelope(f"ev_lk_{n}", '{"\\udfff": 1}'), {}, 400, True),
        (f"{DEPTH:,}-deep nesting", _envelope(f"ev_deep_{n}", _nested(DEPTH)), {}, 400, True),
        ("chunked body", b"", _chunked(json.dumps(event).encode()), 200, False),
        ("chunked body over 1 MiB", b"", _chunked(json.dumps(too_big).encode()), 413, False),
    ]
    lengths = {"2^31": 2**31, "2^40": 2**40, "2^63-1": 2**63 - 1, "of 30 digits": int("9" * 30)}
    for label, declared in lengths.items():
        cases.append(
            (f"Content-Length {label}", b"{}", {"CONTENT_LENGTH": str(declared)}, 413, False)
        )
    return cases


@timed
def hostile_json(env: Env) -> Row:
    copies = env.n(test=1, bench=50)
    classes = [name for name, *_ in _cases(0)] + ["missing static file"]
    row = Row(
        name="hostile JSON and lengths",
        injected=f"{copies} x {len(classes)}: " + ", ".join(classes),
        expected="refused at parse with 400 and a reason (413 beyond the bound, the declared "
        "length recorded as sent), the body kept; the chunked body read and stored; the missing "
        "static file 404; never a 5xx",
    )
    client = Client()
    wrong = without_reason = not_kept = 0
    statuses: dict[int, int] = {}
    stored = 0
    for n in range(copies):
        for _name, body, extra, expected, whole in _cases(n):
            kept_before = RejectedWebhook.objects.count()
            response = _post(client, body, **extra)
            status = response.status_code
            statuses[status] = statuses.get(status, 0) + 1
            wrong += status != expected
            if status == 200:
                stored += ChargebeeEvent.objects.filter(event_id=response.json()["event"]).exists()
                continue
            without_reason += not (400 <= status < 500 and response.json().get("error"))
            kept = RejectedWebhook.objects.order_by("-pk").first()
            kept_now = RejectedWebhook.objects.count() - kept_before == 1
            declared = extra.get("CONTENT_LENGTH")
            not_kept += (
                not kept_now
                or (whole and kept.body != body.decode())
                or bool(declared and kept.content_length_header != declared)
            )
        status = client.get("/static/css/no-such-file.css").status_code
        statuses[status] = statuses.get(status, 0) + 1
        wrong += status != 404
    answers = sum(statuses.values())
    row.bad_input_5xx = sum(count for status, count in statuses.items() if status >= 500)
    row.events_lost = copies - stored  # the chunked events answered 200
    row.other_zeros = {"refusals not kept": not_kept}
    row.behaved = not wrong and not without_reason
    row.happened = (
        f"{answers:,} answers: "
        + ", ".join(f"{count:,} x {status}" for status, count in sorted(statuses.items()))
        + f"; {wrong} other than expected, {without_reason} refusals without a reason, "
        f"{not_kept} not kept; {stored}/{copies} chunked events stored"
    )
    return row
