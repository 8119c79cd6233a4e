"""The one versioning service behind every settings document (JSON documents, guardrails,
prompt templates): stale changes are refused, a rollback is a new version equal to an old
one, and the audit trail carries each version's diff."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from dunning.actions.channels.prompts import (
    DEFAULT_PROMPT,
    PromptChangedMeanwhile,
    PromptEditRefused,
    prompt_store,
)
from dunning.decisions.policy_settings.guardrail_edits import (
    GuardrailEditRefused,
    GuardrailsChangedMeanwhile,
)
from dunning.decisions.policy_settings.guardrails import GUARDRAILS
from dunning.governance.audit import audit_verify
from dunning.governance.config_versions import (
    ConfigChangedMeanwhile,
    ConfigEditRefused,
    ConfigKind,
    config_store,
)
from dunning.governance.versioning import (
    VersionChangedMeanwhile,
    VersionEditRefused,
    VersionedStore,
    version_active,
    version_rollback,
    version_save,
    versions_diff,
    versions_of,
)
from dunning.models import AuditEntry

pytestmark = pytest.mark.django_db

QUIET = ConfigKind(
    key="test_versioning_quiet",
    label="Quiet hours",
    change_permission="dunning.change_guardrails",
    defaults=lambda: {"quiet": {"start": "21:00"}, "sms": True},
)
WARMER = DEFAULT_PROMPT + "\nSign off warmly."
SHORTER = DEFAULT_PROMPT + "\nKeep it short."


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Case:
    store: VersionedStore
    first: dict
    second: dict
    merge: bool  # the guardrails are changed setting by setting
    stale_reason: str  # with the version saved meanwhile and the one the form showed
    rollback_diff: dict  # what the rollback from ``second`` to ``first`` records


CASES = {
    "a settings document": lambda: Case(
        store=config_store(kind=QUIET),
        first={"quiet": {"start": "20:00"}, "sms": True},
        second={"quiet": {"start": "22:00"}, "sms": False},
        merge=False,
        stale_reason="version {saved} was saved after you opened the page",
        rollback_diff={
            "quiet.start": {"from": "22:00", "to": "20:00"},
            "sms": {"from": False, "to": True},
        },
    ),
    "the guardrails": lambda: Case(
        store=GUARDRAILS,
        first={"contacts_per_week": 2},
        second={"contacts_per_week": 5, "segment_modes": {"growth": "approve"}},
        merge=True,
        stale_reason="ada.admin saved version {saved} while you were editing version {seen}",
        rollback_diff={
            "contacts_per_week": {"from": 5, "to": 2},
            "segment_modes": {"from": {"growth": "approve"}, "to": {}},
        },
    ),
    "a prompt template": lambda: Case(
        store=prompt_store(purpose="retry_scheduled", channel="email"),
        first={"text": WARMER},
        second={"text": SHORTER},
        merge=False,
        stale_reason="your text was not saved over it",
        rollback_diff={"text_sha256": {"from": sha(SHORTER), "to": sha(WARMER)}},
    ),
}


@pytest.fixture(params=list(CASES))
def case(request) -> Case:
    return CASES[request.param]()


def in_force(case: Case) -> int:
    """The version number in force before the test (0: the defaults)."""
    active = version_active(store=case.store)
    return active.version if active else 0


def save(case: Case, values: dict, *, user, note: str, based_on: int | None = None):
    return version_save(
        store=case.store,
        values=values,
        user=user,
        note=note,
        action="test.changed",
        based_on=based_on,
        merge=case.merge,
    )


def test_a_change_on_top_of_a_stale_version_is_refused_with_a_reason(case, admin_user):
    seen, count = in_force(case), versions_of(store=case.store).count()
    save(case, case.first, user=admin_user, note="first", based_on=seen)

    reason = case.stale_reason.format(saved=seen + 1, seen=seen)
    with pytest.raises(VersionChangedMeanwhile, match=reason):
        save(case, case.second, user=admin_user, note="from an old form", based_on=seen)

    assert versions_of(store=case.store).count() == count + 1
    assert version_active(store=case.store).note == "first"


def test_a_change_on_top_of_the_version_in_force_replaces_it(case, admin_user):
    first = save(case, case.first, user=admin_user, note="first", based_on=in_force(case))

    second = save(case, case.second, user=admin_user, note="second", based_on=first.version)

    first.refresh_from_db()
    assert (second.version, second.active, first.active) == (first.version + 1, True, False)
    assert version_active(store=case.store) == second


def test_a_rollback_is_a_new_version_equal_to_the_old_one_audited_with_its_diff(case, admin_user):
    first = save(case, case.first, user=admin_user, note="first")
    second = save(case, case.second, user=admin_user, note="second")

    restored = version_rollback(
        store=case.store,
        version=first.version,
        user=admin_user,
        note="the first worked better",
        action="test.rolled_back",
    )

    assert restored.version == second.version + 1 and version_active(store=case.store) == restored
    assert case.store.values(restored) == case.store.values(first)
    assert case.store.values(restored) != case.store.values(second)
    entry = AuditEntry.objects.get(action="test.rolled_back")
    assert entry.actor == admin_user and entry.data["note"] == "the first worked better"
    assert entry.data["version"] == restored.version
    assert entry.data["previous_version"] == second.version
    assert entry.data["restored_version"] == first.version
    assert entry.data["diff"] == case.rollback_diff
    assert audit_verify()[1] is None


def test_rolling_back_to_the_values_in_force_is_refused_with_the_reason_given(case, admin_user):
    first = save(case, case.first, user=admin_user, note="first")
    count = versions_of(store=case.store).count()

    with pytest.raises(VersionEditRefused, match="already in force"):
        version_rollback(
            store=case.store,
            version=first.version,
            user=admin_user,
            note="again",
            action="test.rolled_back",
            unchanged="already in force",
        )

    assert versions_of(store=case.store).count() == count


def test_rolling_back_to_a_version_there_never_was_is_not_found(case, admin_user):
    with pytest.raises(case.store.model.DoesNotExist):
        version_rollback(store=case.store, version=99, user=admin_user, note="x", action="test")


def test_a_prompt_text_reaches_the_audit_trail_only_as_its_hash(admin_user):
    case = CASES["a prompt template"]()

    save(case, case.first, user=admin_user, note="warmer")

    data = AuditEntry.objects.get(action="test.changed").data
    assert data["diff"] == {"text_sha256": {"from": sha(DEFAULT_PROMPT), "to": sha(WARMER)}}
    assert "Sign off warmly" not in str(data)


def test_the_diff_goes_into_nested_documents_or_takes_each_value_whole():
    before = {"quiet": {"start": "21:00", "end": "08:00"}, "sms": True}
    after = {"quiet": {"start": "20:00", "end": "08:00"}, "email": True}

    assert versions_diff(before=before, after=after) == {
        "email": {"from": None, "to": True},
        "quiet.start": {"from": "21:00", "to": "20:00"},
        "sms": {"from": True, "to": None},
    }
    assert set(versions_diff(before=before, after=after, nested=False)) == {"email", "quiet", "sms"}
    assert versions_diff(before=None, after={}) == {}


def test_every_document_raises_the_same_pair_so_either_name_catches_it():
    assert ConfigEditRefused is GuardrailEditRefused is PromptEditRefused is VersionEditRefused
    assert (
        ConfigChangedMeanwhile
        is GuardrailsChangedMeanwhile
        is PromptChangedMeanwhile
        is VersionChangedMeanwhile
    )
    assert issubclass(VersionChangedMeanwhile, VersionEditRefused)
