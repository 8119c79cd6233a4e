"""Who holds which role and works in which team, as a versioned settings document.

The document (``dunning.governance.config_versions``, key ``roles``) is
``{"people": {username: {"roles": [...], "teams": [...]}}}``. Saving a version applies it
to the Django groups (the three role groups and each team's group) in the same
transaction, so the document and the groups never disagree for long; rolling back
re-applies an old version. What each role may do (``ROLE_PERMISSIONS``) is code and
migrations, not part of this document.

A change made in Django's /admin/ bypasses this: ``people_record_outside`` notices it
(the groups differ from the active version) and records it as a version of its own,
labelled "changed outside Dunwell", when the People page is opened or a change is saved.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from collections_desk.models import Team
from dunning.governance.config_versions import (
    ConfigEditRefused,
    ConfigKind,
    config_active,
    config_current,
    config_kind_register,
    config_record_outside,
    config_rollback,
    config_update,
)
from dunning.governance.roles import Role
from dunning.models import ConfigVersion

CHANGE_PERMISSION = "dunning.change_roles"
OUTSIDE_NOTE = "changed outside Dunwell (Django admin or a shell)"
ROLE_NAMES = tuple(role.value for role in Role)


def _team_groups() -> dict[str, int]:
    return dict(Team.objects.values_list("name", "group_id"))


def people_actual() -> dict:
    """Role and team membership as the groups hold it now."""
    teams = {group_id: name for name, group_id in _team_groups().items()}
    members = get_user_model().groups.through.objects.filter(
        group__name__in=ROLE_NAMES
    ) | get_user_model().groups.through.objects.filter(group_id__in=teams)
    people: dict[str, dict[str, list[str]]] = {}
    for username, group_id, group_name in members.values_list(
        "user__username", "group_id", "group__name"
    ):
        person = people.setdefault(username, {"roles": [], "teams": []})
        if group_id in teams:
            person["teams"].append(teams[group_id])
        else:
            person["roles"].append(group_name)
    for person in people.values():
        person["roles"].sort(key=ROLE_NAMES.index)
        person["teams"].sort()
    return {"people": dict(sorted(people.items()))}


def _admins(data: dict) -> set[str]:
    named = {name for name, p in data["people"].items() if Role.ADMIN.value in p.get("roles", [])}
    return set(
        get_user_model()
        .objects.filter(username__in=named, is_active=True)
        .values_list("username", flat=True)
    )


def _problems(data: dict) -> list[str]:
    people = data.get("people")
    if not isinstance(people, dict):
        return ["the document must list people"]
    problems = []
    known = set(
        get_user_model().objects.filter(username__in=people).values_list("username", flat=True)
    )
    if unknown := sorted(set(people) - known):
        problems.append(f"no such person: {', '.join(unknown)}")
    teams = set(_team_groups())
    for name, person in people.items():
        if bad := sorted(set(person.get("roles", [])) - set(ROLE_NAMES)):
            problems.append(f"{name}: no such role {', '.join(bad)}")
        if bad := sorted(set(person.get("teams", [])) - teams):
            problems.append(f"{name}: no such team {', '.join(bad)}")
    if not problems and not _admins(data):
        problems.append("at least one active person must stay an admin")
    return problems


ROLES = config_kind_register(
    ConfigKind(
        key="roles",
        label="People and roles",
        change_permission=CHANGE_PERMISSION,
        defaults=people_actual,
        problems=_problems,
    )
)


def people_apply(*, data: dict) -> None:
    """Make the role and team groups hold exactly what ``data`` says."""
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLE_NAMES}
    team_groups = {
        name: Group.objects.get(pk=group_id) for name, group_id in _team_groups().items()
    }
    managed = [*groups.values(), *team_groups.values()]
    wanted = data["people"]
    users = get_user_model().objects.filter(username__in=wanted) | get_user_model().objects.filter(
        groups__in=managed
    )
    for user in users.distinct():
        person = wanted.get(user.get_username(), {})
        keep = [groups[r] for r in person.get("roles", [])]
        keep += [team_groups[t] for t in person.get("teams", [])]
        user.groups.remove(*[g for g in managed if g not in keep])
        user.groups.add(*keep)


def people_record_outside() -> ConfigVersion | None:
    """Record membership changed outside Dunwell (the groups differ from the active version)."""
    with transaction.atomic():
        active = config_active(kind=ROLES)
        if active is None:
            return None  # nothing saved yet: the groups themselves are the current document
        actual = people_actual()
        if actual == active.data:
            return None
        return config_record_outside(kind=ROLES, data=actual, note=OUTSIDE_NOTE)


def people_person(*, username: str) -> dict:
    person = config_current(kind=ROLES)["people"].get(username, {})
    return {"roles": person.get("roles", []), "teams": person.get("teams", [])}


def people_update(
    *, user, username: str, roles: list[str], teams: list[str], note: str, based_on: int
) -> ConfigVersion:
    """Give ``username`` these roles and teams (a new version, applied to the groups)."""
    if not get_user_model().objects.filter(username=username).exists():
        raise ConfigEditRefused(f"there is nobody called {username!r}")
    with transaction.atomic():
        people_record_outside()
        data = config_current(kind=ROLES)
        people = dict(data["people"])
        roles = [r for r in ROLE_NAMES if r in roles]
        if roles or teams:
            people[username] = {"roles": roles, "teams": sorted(teams)}
        else:
            people.pop(username, None)
        proposed = {"people": dict(sorted(people.items()))}
        if (
            user is not None
            and username == user.get_username()
            and Role.ADMIN.value not in roles
            and not _admins(proposed)
        ):
            raise ConfigEditRefused(
                "you are the only admin: make someone else an admin before you step down"
            )
        saved = config_update(kind=ROLES, data=proposed, user=user, note=note, based_on=based_on)
        people_apply(data=saved.data)
    return saved


def people_rollback(*, user, version: int, note: str = "") -> ConfigVersion:
    """Make an earlier version's membership current again, and apply it to the groups."""
    with transaction.atomic():
        people_record_outside()
        saved = config_rollback(kind=ROLES, version=version, user=user, note=note)
        people_apply(data=saved.data)
    return saved
