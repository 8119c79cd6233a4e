"""The channel settings page (admins edit, managers read, agents are refused) and the
settings history (admins): every change versioned with who, when, why and a diff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dunning.actions.channels.prompts import DEFAULT_PROMPT, prompt_template_update
from dunning.decisions.policy_settings.channel_settings import (
    CHANNEL_SETTINGS,
    channel_settings_read,
)
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.governance.audit import audit_verify
from dunning.governance.config_versions import config_current
from dunning.models import AuditEntry, ConfigVersion
from dunning.operations.role_assignments import people_update

pytestmark = pytest.mark.django_db

CONFIRMED = {"reason": "the old values worked better", "confirm": "yes"}
CHANNELS = reverse("dunning:channel_settings")
HISTORY = reverse("dunning:settings_history")


def form_values(**overrides) -> dict:
    values = {
        "quiet_hours": "21:00-08:00",
        "email": "on",
        "sms": "on",
        "in_app": "on",
        "sender_name": "Billing",
        "sender_address": "billing@dunwell.invalid",
        "csat_survey": "on",
        "note": "texts at 8 am woke people",
        "based_on": "0",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


@pytest.fixture(autouse=True)
def server_defaults(settings):
    settings.QUIET_HOURS = "21:00-08:00"
    settings.DEFAULT_FROM_EMAIL = "Billing <billing@dunwell.invalid>"


def test_agent_cannot_open_the_channel_settings(client, agent):
    client.force_login(agent)

    assert client.get(CHANNELS).status_code == 403
    assert client.post(CHANNELS, form_values(quiet_hours="")).status_code == 403
    assert not ConfigVersion.objects.exists()


def test_manager_reads_the_channel_settings_but_cannot_change_them(client, manager):
    client.force_login(manager)

    page = client.get(CHANNELS)
    refused = client.post(CHANNELS, form_values(quiet_hours=""))

    assert page.status_code == 200
    body = page.content.decode()
    assert "only an admin can change them" in body and "21:00-08:00" in body
    assert "Save as a new version" not in body
    assert f'href="{CHANNELS}"' in body  # in the navigation
    assert refused.status_code == 403 and not ConfigVersion.objects.exists()
    rollback = client.post(reverse("dunning:channel_settings_rollback", args=[1]), CONFIRMED)
    assert rollback.status_code == 403


def test_admin_changes_quiet_hours_and_the_version_and_audit_carry_the_diff(client, admin_user):
    client.force_login(admin_user)

    response = client.post(CHANNELS, form_values(quiet_hours="20:00-08:00", sms=None), follow=True)

    assert "Saved as version 1." in response.content.decode()
    current = channel_settings_read()
    assert current.quiet.start.hour == 20 and not current.is_on("sms")
    entry = AuditEntry.objects.get(action="config.changed")
    assert entry.actor == admin_user and entry.data["key"] == "channels"
    assert entry.data["note"] == "texts at 8 am woke people"
    assert entry.data["diff"] == {
        "quiet_hours": {"from": "21:00-08:00", "to": "20:00-08:00"},
        "enabled.sms": {"from": True, "to": False},
    }
    body = client.get(CHANNELS).content.decode()
    assert "v1" in body and "<del>on</del> → <ins>off</ins>" in body


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"quiet_hours": "nightly"}, "quiet hours must look like"),
        ({"email": None, "sms": None, "in_app": None}, "at least one channel must stay on"),
        ({"sender_address": "billing"}, "Enter a valid email address"),
        ({"note": " "}, "This field is required"),
        ({}, "nothing changed"),
    ],
)
def test_admin_gets_the_reason_when_channel_settings_are_refused(
    client, admin_user, overrides, reason
):
    client.force_login(admin_user)
    if reason == "nothing changed":  # a version exists; the same values again change nothing
        client.post(CHANNELS, form_values(quiet_hours="20:00-08:00"))
        overrides = {"quiet_hours": "20:00-08:00", "based_on": "1"}

    response = client.post(CHANNELS, form_values(**overrides))

    assert response.status_code == 400
    assert reason in response.content.decode()


def test_a_stale_channel_settings_form_is_refused_and_nothing_is_overwritten(client, admin_user):
    client.force_login(admin_user)
    client.post(CHANNELS, form_values(quiet_hours="20:00-08:00"))  # saved as version 1

    response = client.post(CHANNELS, form_values(quiet_hours="23:00-06:00", based_on="0"))

    assert response.status_code == 409
    assert "version 1 was saved after you opened the page" in response.content.decode()
    assert config_current(kind=CHANNEL_SETTINGS)["quiet_hours"] == "20:00-08:00"


def test_admin_rolls_channel_settings_back_and_it_is_audited(client, admin_user):
    client.force_login(admin_user)
    client.post(CHANNELS, form_values(quiet_hours="20:00-08:00"))
    client.post(CHANNELS, form_values(quiet_hours="", based_on="1", note="no quiet hours"))
    assert channel_settings_read().quiet is None

    response = client.post(
        reverse("dunning:channel_settings_rollback", args=[1]), CONFIRMED, follow=True
    )

    assert "Version 1 is in force again, as version 3." in response.content.decode()
    assert channel_settings_read().quiet.start.hour == 20
    entry = AuditEntry.objects.get(action="config.rolled_back")
    assert entry.data["restored_version"] == 1 and entry.actor == admin_user
    assert entry.data["diff"] == {"quiet_hours": {"from": "", "to": "20:00-08:00"}}
    assert audit_verify()[1] is None


def test_rolling_back_to_an_unknown_version_is_not_found(client, admin_user):
    client.force_login(admin_user)
    assert (
        client.post(reverse("dunning:channel_settings_rollback", args=[9]), CONFIRMED).status_code
        == 404
    )


# --- settings history ------------------------------------------------------------------
def test_agent_and_manager_cannot_open_the_settings_history(client, agent, manager):
    for person in (agent, manager):
        client.force_login(person)
        assert client.get(HISTORY).status_code == 403


def test_the_settings_history_lists_every_kind_of_change_newest_first(client, admin_user, agent):
    guardrails_update(changes={"contacts_per_week": 2}, user=admin_user, note="fewer contacts")
    prompt_template_update(
        purpose="retry_scheduled",
        channel="email",
        text=DEFAULT_PROMPT + "\nBe brief.",
        user=admin_user,
        note="shorter emails",
        based_on=0,
    )
    client.force_login(admin_user)
    client.post(CHANNELS, form_values(quiet_hours="20:00-08:00"))
    people_update(
        user=admin_user,
        username=agent.username,
        roles=["collections manager"],
        teams=[],
        note="promoted",
        based_on=0,
    )

    body = client.get(HISTORY).content.decode()

    order = ["promoted", "texts at 8 am woke people", "shorter emails", "fewer contacts"]
    positions = [body.index(note) for note in order]
    assert positions == sorted(positions)
    assert "Guardrails v" in body and "Prompt template: " in body
    assert "Channel settings v1" in body and "People and roles v1" in body
    assert "<del>21:00-08:00</del> → <ins>20:00-08:00</ins>" in body
    assert "<del>collections agent</del> → <ins>collections manager</ins>" in body
    for url in (CHANNELS, reverse("dunning:people"), reverse("dunning:guardrails")):
        assert f'href="{url}"' in body


def test_the_settings_history_filters_by_kind_and_pages(client, admin_user):
    client.force_login(admin_user)
    for n in range(27):
        guardrails_update(changes={"contacts_per_week": n % 5}, user=admin_user, note=f"g{n}")
    client.post(CHANNELS, form_values(quiet_hours="20:00-08:00"))

    channels_only = client.get(HISTORY, {"what": "channels"}).content.decode()
    first = client.get(HISTORY).content.decode()
    second = client.get(HISTORY, {"page": 2}, headers={"HX-Request": "true"})

    assert "Channel settings v1" in channels_only and "Guardrails v" not in channels_only
    assert "Page 1 of 2" in first and "28 changes" in first
    assert second.status_code == 200 and "<h1>" not in second.content.decode()
    assert "g0" in second.content.decode()
    assert client.get(HISTORY, {"what": "nonsense"}).status_code == 400


def test_a_bad_settings_history_filter_gets_a_400_with_the_reason(client, admin_user):
    client.force_login(admin_user)

    response = client.get(HISTORY, {"what": "nonsense"})

    assert response.status_code == 400
    assert "Select a valid choice. nonsense is not one of" in response.content.decode()


def test_a_settings_rollback_needs_a_reason_and_a_confirmation(client, admin_user):
    client.force_login(admin_user)
    client.post(CHANNELS, form_values(quiet_hours="20:00-08:00"))
    client.post(CHANNELS, form_values(quiet_hours="", based_on="1", note="no quiet hours"))

    refused = client.post(reverse("dunning:channel_settings_rollback", args=[1]))

    assert refused.status_code == 400
    assert "needs a reason and a confirmation" in refused.content.decode()
    assert ConfigVersion.objects.filter(key="channels").count() == 2
    history = client.get(reverse("dunning:settings_history")).content.decode()
    assert 'href="/dunning/settings/channels/#version-2"' in history
