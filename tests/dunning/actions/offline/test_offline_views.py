"""The offline reminder schedule page: admins change it (versioned, with a reason) and roll
it back; managers read it; agents are refused."""

from __future__ import annotations

import pytest

from dunning.decisions.policy_settings.offline_reminders import (
    OFFLINE_REMINDERS,
    PAYMENT_INSTRUCTIONS,
)
from dunning.governance.config_versions import config_current
from dunning.models import AuditEntry, ConfigVersion

pytestmark = pytest.mark.django_db
URL = "/dunning/offline-reminders/"


def schedule(**changes) -> dict:
    return {
        "due": 0,
        "reminder_7": 7,
        "reminder_14": 14,
        "final": 21,
        "channel": "email",
        "payment_instructions": PAYMENT_INSTRUCTIONS,
        "note": "longer net terms",
        "based_on": 0,
        **changes,
    }


def test_admin_saves_a_new_schedule_with_a_reason_and_it_is_audited(client, admin_user):
    client.force_login(admin_user)

    response = client.post(URL, schedule(reminder_7=10, final=28))

    assert response.status_code == 302
    current = config_current(kind=OFFLINE_REMINDERS)
    assert (current["reminder_7"], current["final"]) == (10, 28)
    entry = AuditEntry.objects.get(action="config.changed")
    assert entry.data["diff"]["final"] == {"from": 21, "to": 28}
    page = client.get(URL).content.decode()
    assert "longer net terms" in page and "final: 21 → 28" in page


def test_admin_is_told_why_an_out_of_order_schedule_is_refused(client, admin_user):
    client.force_login(admin_user)

    response = client.post(URL, schedule(reminder_14=30))

    assert response.status_code == 400
    assert "each step must come on a later day than the one before" in response.content.decode()
    assert not ConfigVersion.objects.filter(key="offline_reminders").exists()


def test_admin_rolls_back_to_an_earlier_version(client, admin_user):
    client.force_login(admin_user)
    client.post(URL, schedule(reminder_7=10))
    client.post(URL, schedule(reminder_7=5, based_on=1, note="too slow"))

    refused = client.post(f"{URL}1/rollback/")
    assert refused.status_code == 400
    assert config_current(kind=OFFLINE_REMINDERS)["reminder_7"] == 5

    response = client.post(f"{URL}1/rollback/", {"reason": "5 days was too soon", "confirm": "yes"})

    assert response.status_code == 302
    assert config_current(kind=OFFLINE_REMINDERS)["reminder_7"] == 10
    assert ConfigVersion.objects.get(key="offline_reminders", active=True).version == 3


def test_manager_reads_the_schedule_but_cannot_change_it(client, manager):
    client.force_login(manager)

    assert client.get(URL).status_code == 200
    assert client.post(URL, schedule()).status_code == 403


def test_agent_cannot_open_the_schedule(client, agent):
    client.force_login(agent)

    assert client.get(URL).status_code == 403
