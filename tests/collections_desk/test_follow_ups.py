"""Follow-up tasks on a case and the agent's "my tasks today"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from collections_desk.models import FollowUpTask

pytestmark = pytest.mark.django_db


def add_task(client, case, *, title="Call back about the transfer", days=0, **extra):
    due = timezone.now().date() + timedelta(days=days)
    return client.post(
        f"/collections/cases/{case.pk}/tasks/", {"title": title, "due_on": due.isoformat(), **extra}
    )


def test_a_task_due_today_is_on_my_tasks_today_and_one_due_later_is_not(
    client, general_case, agent
):
    client.force_login(agent)
    add_task(client, general_case)
    add_task(client, general_case, title="Check the second instalment", days=7)

    page = client.get("/collections/tasks/").content.decode()

    assert "Call back about the transfer" in page
    assert "Check the second instalment" not in page
    assert "Ana Lima 1" in page


def test_an_overdue_task_comes_first_and_says_so(client, general_case, agent):
    client.force_login(agent)
    add_task(client, general_case, title="Today's call")
    task = FollowUpTask.objects.create(
        case=general_case,
        title="Yesterday's call",
        assignee=agent,
        created_by=agent,
        due_on=timezone.now().date() - timedelta(days=1),
    )

    page = client.get("/collections/tasks/").content.decode()

    assert page.index("Yesterday&#x27;s call") < page.index("Today&#x27;s call")
    assert "1 task overdue" in page
    assert task.pk


def test_marking_a_task_done_takes_it_off_the_list(client, general_case, agent):
    client.force_login(agent)
    add_task(client, general_case)
    task = FollowUpTask.objects.get()

    response = client.post(f"/collections/tasks/{task.pk}/done/")

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.done_by == agent
    page = client.get("/collections/tasks/").content.decode()
    assert "Done: Call back about the transfer" in page  # the message after the redirect
    assert "Nothing due today" in page


def test_a_manager_gives_a_task_to_an_agent_of_the_team(client, general_case, manager, agent):
    client.force_login(manager)

    add_task(client, general_case, assignee=agent.username)

    assert FollowUpTask.objects.get().assignee == agent
    client.force_login(agent)
    assert "Call back about the transfer" in client.get("/collections/tasks/").content.decode()


def test_a_task_for_someone_outside_the_team_is_refused(client, general_case, manager, other_agent):
    client.force_login(manager)

    response = add_task(client, general_case, assignee=other_agent.username)

    assert response.status_code == 409
    assert "does not work this case&#x27;s team" in response.content.decode()
    assert not FollowUpTask.objects.exists()


def test_another_teams_agent_cannot_complete_the_task(client, general_case, agent, other_agent):
    client.force_login(agent)
    add_task(client, general_case)
    task = FollowUpTask.objects.get()
    client.force_login(other_agent)

    assert client.post(f"/collections/tasks/{task.pk}/done/").status_code == 404
    task.refresh_from_db()
    assert task.done_at is None
