"""Versioned settings: who may change them, the diff each version records, rollback."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from dunning.governance.audit import audit_verify
from dunning.governance.config_versions import (
    ConfigChangedMeanwhile,
    ConfigEditRefused,
    ConfigKind,
    config_current,
    config_history,
    config_rollback,
    config_update,
)
from dunning.models import AuditEntry

pytestmark = pytest.mark.django_db

QUIET = ConfigKind(
    key="test_quiet_hours",
    label="Quiet hours",
    change_permission="dunning.change_guardrails",
    defaults=lambda: {"quiet": {"start": "21:00", "end": "08:00"}, "sms": True},
    problems=lambda data: [] if data.get("quiet", {}).get("start") else ["a start is needed"],
)


def test_nobody_has_saved_yet_so_the_defaults_are_in_force():
    assert config_current(kind=QUIET) == {"quiet": {"start": "21:00", "end": "08:00"}, "sms": True}


def test_admin_change_records_who_why_and_a_diff_in_the_audit_trail(admin_user):
    saved = config_update(
        kind=QUIET,
        data={"quiet": {"start": "20:00", "end": "08:00"}, "sms": True},
        user=admin_user,
        note="customers complained about late texts",
    )

    assert config_current(kind=QUIET)["quiet"]["start"] == "20:00"
    entry = AuditEntry.objects.get(action="config.changed")
    assert entry.actor == admin_user
    assert entry.data["diff"] == {"quiet.start": {"from": "21:00", "to": "20:00"}}
    assert entry.data["note"] == "customers complained about late texts"
    assert saved.version == 1 and saved.created_by == admin_user


def test_agent_cannot_change_settings(agent):
    with pytest.raises(PermissionDenied):
        config_update(kind=QUIET, data={"quiet": {"start": "1"}}, user=agent, note="why not")

    assert config_current(kind=QUIET)["quiet"]["start"] == "21:00"


@pytest.mark.parametrize(
    ("data", "note", "reason"),
    [
        ({"quiet": {"start": "20:00", "end": "08:00"}, "sms": True}, "", "say why"),
        ({"quiet": {}, "sms": True}, "tidy", "a start is needed"),
    ],
)
def test_a_change_without_a_reason_or_with_a_bad_value_is_refused(admin_user, data, note, reason):
    with pytest.raises(ConfigEditRefused, match=reason):
        config_update(kind=QUIET, data=data, user=admin_user, note=note)


def test_saving_the_same_document_again_is_refused(admin_user):
    data = {"quiet": {"start": "20:00", "end": "08:00"}, "sms": True}
    config_update(kind=QUIET, data=data, user=admin_user, note="earlier")

    with pytest.raises(ConfigEditRefused, match="nothing changed"):
        config_update(kind=QUIET, data=data, user=admin_user, note="again")


def test_a_stale_form_does_not_overwrite_a_newer_version(admin_user):
    config_update(kind=QUIET, data={"quiet": {"start": "20:00"}}, user=admin_user, note="a")

    with pytest.raises(ConfigChangedMeanwhile):
        config_update(
            kind=QUIET, data={"quiet": {"start": "19:00"}}, user=admin_user, note="b", based_on=0
        )


def test_rollback_restores_old_values_as_a_new_audited_version(admin_user):
    config_update(
        kind=QUIET, data={"quiet": {"start": "20:00"}, "sms": True}, user=admin_user, note="first"
    )
    config_update(
        kind=QUIET, data={"quiet": {"start": "22:00"}, "sms": False}, user=admin_user, note="second"
    )

    restored = config_rollback(kind=QUIET, version=1, user=admin_user)

    assert restored.version == 3
    assert config_current(kind=QUIET) == {"quiet": {"start": "20:00"}, "sms": True}
    history = config_history(kind=QUIET)
    assert [row.version.version for row in history] == [3, 2, 1]
    assert {c.path for c in history[0].changes} == {"quiet.start", "sms"}
    assert AuditEntry.objects.get(action="config.rolled_back").data["restored_version"] == 1
    assert audit_verify()[1] is None
