"""Dunwell against a real Chargebee site: writes the site would refuse, and connecting it
with the wrong key, the wrong site and then the right one."""

from __future__ import annotations

import io

from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from collections_desk.end_of_dunning import end_of_dunning_propose
from dunning.actions.state_machine import action_approve, action_fingerprint
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import ActionKind, ActionState
from tests.conftest import basic_auth, failed_renewal, load_sample
from tests.dunning.actions.execution.conftest import mirror_from_sandbox, propose
from tests.dunning.actions.execution.test_chargebee_limits import LONG_REASONING, decisions_page
from tests.faults.scenarios.core import Env, Row, jobs_run, person, timed

NOTES_LIMIT = 1000  # Chargebee's limit on a comment's notes
REFUSAL = "notes : contains characters that are not allowed"
MISSING_REASON_CODE = "Unpaid is not a reason code configured on this site"


def _renewal(env: Env, name: str):
    return mirror_from_sandbox(env.sandbox, failed_renewal(env.sandbox, name=name)["id"])


def _approved(action, manager) -> None:
    action_approve(action=action, user=manager, fingerprint=action_fingerprint(action))


@timed
def writes_within_chargebee_limits(env: Env) -> Row:
    count = env.n(test=1, bench=20)
    row = Row(
        name="writes Chargebee would refuse",
        injected=f"{count} approved retries whose reasoning is {len(LONG_REASONING):,} "
        f"characters; {count} whose comment Chargebee refuses (400); {count} approved "
        "cancellations with a reason code the site lacks",
        expected=f"notes cut to {NOTES_LIMIT:,} characters, linking to the full reasoning kept "
        "in Dunwell; each refusal shown on its action with Chargebee's message",
    )
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="fault suite")
    manager = person("fault.manager", role="collections manager")
    agent = person("fault.agent", role="collections agent")
    client = Client()

    long, refused, cancels = [], [], []
    for n in range(count):
        invoice = _renewal(env, f"Long{n}")
        retry = propose(invoice, ActionKind.RETRY, reasoning=LONG_REASONING)
        _approved(retry, manager)
        jobs_run()
        notes = [c["notes"] for c in env.sandbox.comments if c["entity_id"] == invoice.cb_id]
        long.append((invoice, retry, notes[-1] if notes else ""))

        invoice = _renewal(env, f"Refused{n}")
        retry = propose(invoice, ActionKind.RETRY)
        _approved(retry, manager)
        env.sandbox.refuse_next(
            path="/api/v2/comments",
            status=400,
            api_error_code="param_wrong_value",
            message=REFUSAL,
            param="notes",
        )
        jobs_run()
        refused.append((invoice, retry))

        invoice = _renewal(env, f"Cancel{n}")
        with override_settings(CHARGEBEE_CANCEL_REASON_CODE="Unpaid"):
            cancel, *_ = end_of_dunning_propose(
                invoice=invoice, user=agent, subscription="cancel", invoice_action="leave_unpaid"
            )
            _approved(cancel.action, manager)
            jobs_run()
        cancels.append((invoice, cancel.action))

    cut = linked = kept = 0
    for invoice, retry, notes in long:
        retry.refresh_from_db()
        cut += retry.state == ActionState.EXECUTED and len(notes) <= NOTES_LIMIT
        linked += notes.endswith(
            f"/invoices/{invoice.cb_id}/decisions/#decision-{retry.decision_id}"
        )
        kept += LONG_REASONING.strip() in decisions_page(client, manager, invoice)
    shown_comment = 0
    for invoice, retry in refused:
        retry.refresh_from_db()
        on_action = any(
            r.get("param") == "notes" for r in retry.result.get("chargebee_refused", [])
        )
        on_page = f"Chargebee refused the comment: {REFUSAL}" in decisions_page(
            client, manager, invoice
        )
        shown_comment += on_action and on_page and retry.result.get("charged") is True
    shown_cancel = still_active = 0
    for invoice, action in cancels:
        action.refresh_from_db()
        active = env.sandbox.subscriptions[invoice.subscription_id]["status"] == "active"
        still_active += active
        on_page = MISSING_REASON_CODE in decisions_page(client, manager, invoice)
        shown_cancel += action.state == ActionState.FAILED and on_page and active
    swallowed = 2 * count - shown_comment - shown_cancel
    row.other_zeros = {"notes over the limit": count - cut, "refusals swallowed": swallowed}
    row.behaved = cut == linked == kept == count and not swallowed
    row.happened = (
        f"{cut}/{count} long notes sent within {NOTES_LIMIT:,} characters, {linked} linking to "
        f"the decision, {kept} full reasonings on the decisions page; {shown_comment}/{count} "
        f"refused comments shown on their executed retries with Chargebee's message; "
        f"{shown_cancel}/{count} cancellations failed with Chargebee's message, "
        f"{still_active} subscriptions left active"
    )
    return row


def _connect(*args: str) -> tuple[str, str]:
    """``manage.py chargebee_connect``: what it printed, or the error it stopped with."""
    out = io.StringIO()
    try:
        call_command("chargebee_connect", *args, stdout=out, verbosity=0)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), ""


@timed
def site_connect_mistakes(env: Env) -> Row:
    rounds = env.n(test=2, bench=10)
    url = "https://dunwell.example.com/webhooks/chargebee/"
    row = Row(
        name="connecting a site: wrong key, wrong site, then the right one",
        injected=f"{rounds} rounds of manage.py chargebee_connect with a key Chargebee refuses "
        "(401), a site it does not know (404), another site's key, then the right pair "
        "registering the webhook",
        expected="each mistake named plainly and nothing created; the right pair creates the "
        "webhook endpoint once and updates it on every later run; Chargebee's deliveries with "
        "the registered pair accepted",
    )
    messages = {
        "401": "refused the API key",
        "404": "knows no site",
        "other site": "This key belongs to site",
    }
    plain = created = updated = created_by_mistakes = 0
    for _ in range(rounds):
        before = len(env.sandbox.webhook_endpoints)
        with override_settings(CHARGEBEE_API_KEY="test_not_this_sites_key"):
            _, error_401 = _connect("--webhook-url", url)
        env.sandbox.site_found = False
        try:
            _, error_404 = _connect("--webhook-url", url)
        finally:
            env.sandbox.site_found = True
        with override_settings(CHARGEBEE_SITE="acme-test"):
            _, error_site = _connect("--webhook-url", url)
        errors = dict(zip(messages, (error_401, error_404, error_site), strict=True))
        plain += sum(messages[k] in errors[k] for k in messages)
        created_by_mistakes += len(env.sandbox.webhook_endpoints) - before
        out, error = _connect("--webhook-url", url)
        created += "Created webhook endpoint" in out and not error
        updated += "Updated webhook endpoint" in out and not error
    endpoints = [e for e in env.sandbox.webhook_endpoints.values() if e["url"] == url]
    [endpoint] = endpoints or [None]
    delivered = 0
    if endpoint:
        auth = basic_auth(endpoint["basic_auth_username"], endpoint["basic_auth_password"])
        answer = Client().post(
            url.split("example.com", 1)[1],
            data=load_sample("payment_failed"),
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )
        delivered = answer.status_code
    mistakes = 3 * rounds
    row.other_zeros = {
        "mistakes not named": mistakes - plain,
        "extra endpoints": max(0, len(endpoints) - 1),
    }
    row.behaved = (
        plain == mistakes
        and not created_by_mistakes
        and created == 1
        and updated == rounds - 1
        and len(endpoints) == 1
        and delivered == 200
    )
    row.happened = (
        f"{plain}/{mistakes} mistakes named (401: {error_401[:60]!r}; 404: {error_404[:50]!r}; "
        f"{error_site[:50]!r}), {created_by_mistakes} endpoints created by them; the right pair: created {created}x, "
        f"updated {updated}x, {len(endpoints)} endpoint for Dunwell's URL; a delivery with its "
        f"Basic-auth pair answered {delivered}"
    )
    return row
