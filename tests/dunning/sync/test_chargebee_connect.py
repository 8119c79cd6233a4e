"""Connecting a Chargebee site, run whole against the sandbox: check, webhook, backfill."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from dunning.models import AuditEntry, BackfillRun, ChargebeeEvent, Invoice
from dunning.sync.site_connect import WEBHOOK_EVENT_TYPES
from tests.conftest import basic_auth, failed_renewal

PAGE = reverse("dunning:chargebee_connection")
HOOK_URL = "https://dunwell.example.com/webhooks/chargebee/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_in_dunning(sandbox):
    invoice = failed_renewal(sandbox)
    cancelled = failed_renewal(sandbox, name="Cy")
    sandbox.cancel_subscription(
        subscription_id=cancelled["subscription_id"], reason="not_paid", reason_code="Not Paid"
    )
    return invoice


def test_an_admin_connects_the_site_registers_the_webhook_and_replays_history(
    client, admin_user, sandbox, site_in_dunning, run_jobs, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)

    page = client.get(PAGE).content.decode()
    assert "connected" in page and "not connected" not in page
    assert "USD · base" in page
    assert "Not Paid" in page  # the reason codes the site's cancellations used

    created = client.post(PAGE, {"step": "webhook", "url": HOOK_URL}, follow=True)
    updated = client.post(PAGE, {"step": "webhook", "url": HOOK_URL}, follow=True)
    assert "created: " + HOOK_URL in created.content.decode()
    assert "updated: " + HOOK_URL in updated.content.decode()
    [endpoint] = sandbox.webhook_endpoints.values()
    assert (endpoint["url"], endpoint["api_version"]) == (HOOK_URL, "v2")
    assert set(endpoint["enabled_events"]) == set(WEBHOOK_EVENT_TYPES)
    # Chargebee sends with the pair Dunwell registered, and Dunwell takes it.
    delivered = client.post(
        reverse("chargebee_webhook"),
        data=sandbox.events[-1],
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(
            endpoint["basic_auth_username"], endpoint["basic_auth_password"]
        ),
    )
    assert delivered.status_code == 200

    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"step": "backfill", "since": since})
    [run] = BackfillRun.objects.all()
    running = client.get(PAGE, {"fragment": "backfills"}, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in running.content.decode()  # the page follows the run
    run_jobs()

    run.refresh_from_db()
    assert (run.state, run.fetched) == (BackfillRun.State.DONE, len(sandbox.events))
    assert run.stored == len(sandbox.events) - 1  # the webhook brought one already
    done = client.get(PAGE, {"fragment": "backfills"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Done" in done and "every 2s" not in done
    assert Invoice.objects.get(cb_id=site_in_dunning["id"]).dunning_status == "in_progress"
    assert ChargebeeEvent.objects.count() == len(sandbox.events)
    assert AuditEntry.objects.filter(action="chargebee.webhook_endpoint").count() == 2


def test_a_wrong_key_is_named_plainly(client, admin_user, sandbox, settings):
    settings.CHARGEBEE_API_KEY = "test_not_this_sites_key"
    client.force_login(admin_user)

    page = client.get(PAGE).content.decode()

    assert "Chargebee refused the API key for site &#x27;dunwell-test&#x27; (401)" in page
    with pytest.raises(CommandError, match="refused the API key"):
        call_command("chargebee_connect", "--check-only")


def test_a_site_that_does_not_exist_is_named_plainly(sandbox):
    sandbox.site_found = False

    with pytest.raises(CommandError, match=r"Chargebee knows no site 'dunwell-test' \(404"):
        call_command("chargebee_connect", "--check-only")


def test_a_key_of_another_site_is_caught(sandbox, settings):
    settings.CHARGEBEE_SITE = "acme-test"

    with pytest.raises(CommandError, match="This key belongs to site 'dunwell-test', not 'acme"):
        call_command("chargebee_connect", "--check-only")


def test_the_command_connects_and_backfills(sandbox, site_in_dunning, capsys, settings):
    settings.CHARGEBEE_CANCEL_REASON_CODE = "Unpaid"
    since = (timezone.now() - timedelta(days=1)).date().isoformat()

    call_command(
        "chargebee_connect", "--webhook-url", HOOK_URL, "--backfill-since", since, verbosity=0
    )

    out = capsys.readouterr().out
    assert "Site 'dunwell-test': the key works." in out
    assert "Currency USD (base)" in out and "Invoices in dunning now: 2" in out
    assert "'Unpaid', which none of the site's recent cancellations used (Not Paid)" in out
    assert "Created webhook endpoint whe_" in out
    assert f"Backfill: fetched {len(sandbox.events)}, {len(sandbox.events)} new" in out
    assert Invoice.objects.filter(cb_id=site_in_dunning["id"]).exists()


def test_only_admins_open_the_connection_page(client, manager, sandbox):
    client.force_login(manager)

    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"step": "webhook", "url": HOOK_URL}).status_code == 403
    assert sandbox.webhook_endpoints == {}
