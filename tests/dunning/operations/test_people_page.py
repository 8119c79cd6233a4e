"""People and roles (admins only): a change is a version applied to the groups at once, so
it changes what the person may open; rollback re-applies; the last admin stays."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from collections_desk.access import teams_of
from collections_desk.teams import team_create
from dunning.models import AuditEntry, ConfigVersion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CONFIRMED = {"reason": "the old values worked better", "confirm": "yes"}
PEOPLE = reverse("dunning:people")
RECOVERY = reverse("analytics:recovery")


def change(client, username, *, roles=(), teams=(), note="covering for Mona", based_on=0):
    return client.post(
        PEOPLE,
        {
            "username": username,
            "roles": list(roles),
            "teams": list(teams),
            "note": note,
            "based_on": based_on,
        },
    )


def groups_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_agent_and_manager_cannot_open_people_and_roles(client, agent, manager):
    for person in (agent, manager):
        client.force_login(person)
        assert client.get(PEOPLE).status_code == 403
        assert change(client, person.username, roles=["admin"]).status_code == 403
        assert (
            client.post(reverse("dunning:people_rollback", args=[1]), CONFIRMED).status_code == 403
        )
    assert "admin" not in groups_of(agent) and not ConfigVersion.objects.exists()


def test_admin_makes_an_agent_a_manager_and_they_may_open_the_dashboards(client, admin_user, agent):
    client.force_login(agent)
    assert client.get(RECOVERY).status_code == 403
    client.force_login(admin_user)

    response = change(client, agent.username, roles=["collections manager"])

    assert response.status_code == 302
    assert groups_of(agent) == {"collections manager"}
    entry = AuditEntry.objects.get(action="config.changed", data__key="roles")
    assert entry.actor == admin_user and entry.data["note"] == "covering for Mona"
    assert entry.data["diff"] == {
        "people.alice.agent.roles": {"from": ["collections agent"], "to": ["collections manager"]}
    }
    client.force_login(agent)
    assert client.get(RECOVERY).status_code == 200


def test_admin_puts_an_agent_in_a_team_and_the_agent_works_its_cases(client, admin_user, agent):
    team = team_create(name="Enterprise", segments=["enterprise"])
    client.force_login(admin_user)

    change(client, agent.username, roles=["collections agent"], teams=["Enterprise"])

    assert list(teams_of(agent)) == [team]
    page = client.get(PEOPLE).content.decode()
    assert "Enterprise" in page and "v1" in page


def test_taking_every_role_away_takes_the_person_off_the_list(client, admin_user, agent):
    client.force_login(admin_user)

    change(client, agent.username)

    assert groups_of(agent) == set()
    client.force_login(agent)
    assert client.get(reverse("dunning:outbox")).status_code == 403


def test_the_only_admin_cannot_step_down(client, admin_user, agent):
    client.force_login(admin_user)

    response = change(client, admin_user.username, roles=["collections manager"])

    assert response.status_code == 400
    assert "you are the only admin" in response.content.decode()
    assert groups_of(admin_user) == {"admin"} and not ConfigVersion.objects.exists()


def test_an_admin_steps_down_once_another_admin_is_there(client, admin_user, agent):
    client.force_login(admin_user)
    change(client, agent.username, roles=["admin"], note="second admin")

    response = change(client, admin_user.username, roles=["collections manager"], based_on=1)

    assert response.status_code == 302
    assert groups_of(admin_user) == {"collections manager"} and groups_of(agent) == {"admin"}


def test_a_rollback_that_would_leave_no_active_admin_is_refused(client, admin_user):
    otto = UserFactory(username="otto.other", role="admin")
    client.force_login(admin_user)
    change(client, admin_user.username, roles=["collections manager"], note="otto runs it")  # v1
    client.force_login(otto)
    change(client, admin_user.username, roles=["admin"], based_on=1, note="ada is back")  # v2
    otto.is_active = False  # otto has left; v1's only admin is otto
    otto.save()
    client.force_login(admin_user)

    response = client.post(reverse("dunning:people_rollback", args=[1]), CONFIRMED, follow=True)

    assert "at least one active person must stay an admin" in response.content.decode()
    assert groups_of(admin_user) == {"admin"}
    assert ConfigVersion.objects.filter(key="roles").count() == 2


def test_an_unknown_person_is_a_form_error(client, admin_user):
    client.force_login(admin_user)

    response = change(client, "nobody.here", roles=["admin"])

    assert response.status_code == 400
    assert "There is nobody called “nobody.here”." in response.content.decode()
    assert not ConfigVersion.objects.exists()


def test_a_stale_people_form_is_refused(client, admin_user, agent, manager):
    client.force_login(admin_user)
    change(client, agent.username, roles=["collections manager"])  # version 1

    response = change(client, manager.username, roles=["admin"], based_on=0)

    assert response.status_code == 409
    assert groups_of(manager) == {"collections manager"}


def test_admin_rolls_roles_back_and_the_groups_follow(client, admin_user, agent):
    client.force_login(admin_user)
    change(client, agent.username, roles=["collections manager"])  # v1
    change(client, agent.username, roles=["collections manager", "admin"], based_on=1)  # v2
    assert groups_of(agent) == {"collections manager", "admin"}

    response = client.post(reverse("dunning:people_rollback", args=[1]), CONFIRMED, follow=True)

    assert "Version 1 is in force again, as version 3." in response.content.decode()
    assert groups_of(agent) == {"collections manager"}
    entry = AuditEntry.objects.get(action="config.rolled_back")
    assert entry.data["diff"] == {
        "people.alice.agent.roles": {
            "from": ["collections manager", "admin"],
            "to": ["collections manager"],
        }
    }


def test_a_change_made_in_django_admin_is_recorded_as_changed_outside_dunwell(
    client, admin_user, agent
):
    client.force_login(admin_user)
    change(client, agent.username, roles=["collections manager"])  # v1
    agent.groups.add(Group.objects.get(name="admin"))  # as Django's /admin/ would

    first = client.get(PEOPLE)
    again = client.get(PEOPLE)

    assert "changed outside Dunwell" in first.content.decode()
    outside = ConfigVersion.objects.get(key="roles", version=2)
    assert outside.created_by is None and outside.active
    entry = AuditEntry.objects.get(action="config.changed_outside")
    assert entry.data["diff"] == {
        "people.alice.agent.roles": {
            "from": ["collections manager"],
            "to": ["collections manager", "admin"],
        }
    }
    assert ConfigVersion.objects.filter(key="roles").count() == 2  # seen once, recorded once
    assert "Roles were changed outside Dunwell" not in again.content.decode()
