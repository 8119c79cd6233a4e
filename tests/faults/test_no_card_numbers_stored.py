"""After a whole simulated business has been ingested, no card number is anywhere in the
database: every text column and every string inside every JSON column is scanned."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from dunning.helpers.pci import luhn_valid
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db

CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


# SHA-256 digests (the audit chain, text hashes) are hex: a digit run in one can pass Luhn.
DIGEST = re.compile(r"[0-9a-f]{40,128}")


def strings_in(value):
    if isinstance(value, str):
        if not DIGEST.fullmatch(value):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def card_numbers_in_database() -> list[tuple[str, str]]:
    found = []
    for model in apps.get_models():
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*[f.attname for f in fields]).iterator():
            for field, value in zip(fields, row, strict=True):
                for text in strings_in(value):
                    for match in CANDIDATE.finditer(text):
                        if luhn_valid(re.sub(r"\D", "", match.group(0))):
                            found.append((f"{model._meta.label}.{field.name}", match.group(0)))
    return found


def test_no_card_number_survives_a_full_simulation_and_a_leaky_payload(post_webhook):
    call_command("simulate", customers=40, months=3, seed=21, deliver="backfill", verbosity=0)
    leaky = load_sample("payment_failed")
    leaky["id"] = "ev_leaky"
    leaky["content"]["customer"]["cf_notes"] = "new card 5555 5555 5555 4444, cvv 123"
    leaky["content"]["transaction"]["number"] = "4111111111111111"
    post_webhook(leaky)
    post_webhook(
        b'{"id": "ev_bad", "event_type": "x", "content": "4111-1111-1111-1111"'
    )  # refused, kept

    assert card_numbers_in_database() == []
