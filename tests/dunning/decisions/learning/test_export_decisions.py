"""manage.py export_decisions: one record per action, in the documented format."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from dunning.decisions.learning.export import FIELDS
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import Action
from tests.dunning.decided import FAILED_AT, decided_invoice

pytestmark = pytest.mark.django_db


def export(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_decisions", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_each_action_is_one_json_line_with_the_documented_fields():
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="x")
    decision = decided_invoice(1, decline_code="04")
    action, reminder = decision.actions.order_by("scheduled_for")

    lines = export("--since", "2026-11-01", "--format", "jsonl").splitlines()

    assert len(lines) == 2  # the payment-method link now, and its reminder
    assert json.loads(lines[1])["action_id"] == reminder.pk
    record = json.loads(lines[0])
    assert tuple(record) == FIELDS
    assert record == {
        "invoice_id": "inv_1",
        "customer_id": "cus_1",
        "action_id": action.pk,
        "action_type": "payment_method_link",
        "scheduled_for": "2026-11-02T12:00:00Z",
        "channel": "email",
        "recovery_score": None,
        "retry_score": None,
        "model_version": "rules and the prior v1 (no trained model)",
        "mode": "approve",
        "state": "proposed",
        "risk": action.risk,
        "needs_approval": True,
        "segment": "self_serve",
        "guardrail_version": 2,
        "decision_id": decision.pk,
        "decided_at": "2026-11-02T12:00:00Z",
    }


def test_since_leaves_out_older_decisions_and_until_later_ones():
    decided_invoice(1, at=FAILED_AT - timedelta(days=10))
    decided_invoice(2, at=FAILED_AT)
    decided_invoice(3, at=FAILED_AT + timedelta(days=10))

    lines = export("--since", "2026-11-01", "--until", "2026-11-05T00:00:00+01:00").splitlines()

    assert {json.loads(line)["invoice_id"] for line in lines} == {"inv_2"}


def test_scheduled_times_are_utc_whatever_the_customers_zone():
    decided_invoice(1, country="JP")
    record = json.loads(export("--since", "2026-11-01").splitlines()[0])
    scheduled = datetime.fromisoformat(record["scheduled_for"].replace("Z", "+00:00"))
    assert record["scheduled_for"].endswith("Z")
    assert scheduled == Action.objects.get(pk=record["action_id"]).scheduled_for


def test_csv_has_a_header_and_the_same_fields():
    decided_invoice(1)
    decided_invoice(2)

    rows = list(csv.DictReader(io.StringIO(export("--since", "2026-11-01", "--format", "csv"))))

    invoices = [row["invoice_id"] for row in rows]
    assert sorted(set(invoices)) == ["inv_1", "inv_2"] and invoices == sorted(invoices)
    assert tuple(rows[0]) == FIELDS and rows[0]["recovery_score"] == ""


def test_output_file_is_written_whole(tmp_path):
    decided_invoice(1)
    target = tmp_path / "decisions.jsonl"

    out = export("--since", "2026-11-01", "--output", str(target))

    assert out == ""
    lines = target.read_text().splitlines()
    assert lines and all(json.loads(line)["invoice_id"] == "inv_1" for line in lines)
    assert [p.name for p in tmp_path.iterdir()] == ["decisions.jsonl"]  # no temporary left


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--since", "last tuesday"], "is not a date"),
        (["--since", "2026-02-30"], "is not a real date"),
        (["--since", "2026-11-01", "--format", "xml"], "is not supported"),
        (["--since", "2026-11-01", "--until", "2026-10-01"], "must be later"),
        (["--since", "2026-11-01", "--output", "/nonexistent/dir/x.jsonl"], "does not exist"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(args, reason):
    with pytest.raises(CommandError, match=reason):
        export(*args)
