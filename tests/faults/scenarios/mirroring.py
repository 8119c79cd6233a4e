"""Real Chargebee payloads in older shapes, and one object among good ones that cannot be
read: what parses is mirrored, the event says what did not, and can be processed again."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from dunning.models import ChargebeeEvent, EventState
from dunning.sync.processing import event_reprocess
from tests.conftest import load_sample
from tests.dunning.sync.test_partial_mirroring import (
    MODELS,
    SAMPLE_FILES,
    card_without_payment_source_id,
    with_an_unreadable_invoice,
)
from tests.faults.scenarios.core import (
    Env,
    Row,
    events_lost,
    jobs_run,
    person,
    timed,
    webhook_post,
)

CARD_WITHOUT_SOURCE = "content.card has no payment_source_id"
NO_API_VERSION = "no api_version: read as v2"
BROKEN_INVOICE = "content.invoice.customer_id is missing: invoice not mirrored"


def _without_api_version() -> dict:
    payload = load_sample("payment_failed")
    del payload["api_version"]
    return payload


def _shapes() -> list[tuple[str, dict, str]]:
    """(name, payload, the warning it must carry or "" for none)."""
    samples = [(f"sample {p.stem}", json.loads(p.read_text()), "") for p in SAMPLE_FILES]
    return [
        *samples,
        ("card without payment_source_id", card_without_payment_source_id(), CARD_WITHOUT_SOURCE),
        ("no api_version", _without_api_version(), NO_API_VERSION),
        ("one unreadable invoice", with_an_unreadable_invoice(), BROKEN_INVOICE),
    ]


def _copy(payload: dict, tag: str) -> dict:
    """The payload with its event and object ids made unique (references follow)."""
    ids = {payload["id"]} | {
        obj["id"] for obj in payload["content"].values() if isinstance(obj, dict) and "id" in obj
    }
    text = json.dumps(payload)
    for old in ids:
        text = text.replace(json.dumps(old), json.dumps(f"{old}-{tag}"))
    return json.loads(text)


def _expected_objects(payload: dict) -> list[tuple[type, str]]:
    """The mirrorable objects of the event that can be read."""
    content = payload["content"]
    return [
        (MODELS[key], obj["id"])
        for key, obj in content.items()
        if key in MODELS and (key == "customer" or "customer_id" in obj)
    ]


def _mirrored(model, cb_id: str) -> bool:
    return model.objects.filter(cb_id=cb_id, resource_version__gt=0).exists()


@timed
def partial_mirroring(env: Env) -> Row:
    copies = env.n(test=1, bench=40)
    shapes = _shapes()
    row = Row(
        name="legacy shapes and an unreadable object",
        injected=f"{copies} x {len(shapes)} events over HTTP: {len(SAMPLE_FILES)} Chargebee "
        "sample events (Product Catalog 1.0 subscriptions), a card without payment_source_id, no api_version, and a "
        "payment_failed whose invoice has no customer_id among good objects",
        expected="what parses is mirrored; the event 'processed with warnings' with its reasons "
        "in the event log; fixed and reprocessed, the rest is mirrored",
    )
    sent: list[tuple[dict, str]] = []
    statuses = []
    for n in range(copies):
        for i, (_name, payload, warning) in enumerate(shapes):
            event = _copy(payload, f"f{i}x{n}")
            statuses.append(webhook_post(event).status_code)
            sent.append((event, warning))
    jobs_run()

    objects = lost = wrong_state = 0
    broken: list[ChargebeeEvent] = []
    for payload, warning in sent:
        event = ChargebeeEvent.objects.get(event_id=payload["id"])
        expected_state = EventState.PARTIAL if warning else EventState.PROCESSED
        if event.state != expected_state or warning not in (event.last_error or ""):
            wrong_state += 1
        for model, cb_id in _expected_objects(payload):
            objects += 1
            lost += not _mirrored(model, cb_id)
        if warning == BROKEN_INVOICE:
            broken.append(event)

    admin = person("fault.admin", role="admin")
    client = Client()
    client.force_login(admin)
    listing = client.get(reverse("dunning:event_list"), {"state": "partial"}).content.decode()
    detail = client.get(reverse("dunning:event_detail", args=[broken[0].pk])).content.decode()
    shown = "Processed with warnings" in listing and BROKEN_INVOICE in detail

    repaired = not_repaired = 0
    for event in broken:
        invoice = event.payload["content"]["invoice"]
        invoice["customer_id"] = event.payload["content"]["customer"]["id"]
        event.save(update_fields=["payload"])
        event_reprocess(event=event, user=admin)
        event.refresh_from_db()
        fixed = event.state == EventState.PROCESSED and _mirrored(MODELS["invoice"], invoice["id"])
        repaired += fixed
        not_repaired += not fixed

    row.events_lost = events_lost((p["id"] for p, _ in sent), also_final=(EventState.PARTIAL,))
    row.bad_input_5xx = sum(1 for s in statuses if s >= 500)
    row.other_zeros = {"objects lost": lost + not_repaired}
    row.behaved = set(statuses) == {200} and not wrong_state and shown and not not_repaired
    with_warnings = sum(1 for _, w in sent if w)
    row.happened = (
        f"{statuses.count(200)}/{len(statuses)} answered 200; {objects - lost}/{objects} "
        f"readable objects mirrored; {len(sent) - with_warnings - wrong_state} events processed "
        f"and {with_warnings} processed with warnings, naming the reason ({wrong_state} in "
        f"another state); warnings {'shown' if shown else 'NOT shown'} in the event log; "
        f"{repaired}/{len(broken)} unreadable invoices mirrored after fixing and reprocessing"
    )
    return row
