"""Logging in and out, the three roles, and the navigation each role sees."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_three_roles_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "collections agent",
        "collections manager",
        "admin",
    }


def test_user_logs_in_with_password_and_lands_on_the_overview(client, agent):
    response = client.post(
        reverse("login"),
        {"username": "alice.agent", "password": "correct horse battery staple"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Overview" in response.content.decode()
    assert "collections agent" in response.content.decode()


def test_wrong_password_is_refused_with_a_message(client, agent):
    response = client.post(reverse("login"), {"username": "alice.agent", "password": "nope"})

    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_logout_ends_the_session(client, agent):
    client.force_login(agent)

    client.post(reverse("logout"))

    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize(
    ("persona", "sees_event_log"),
    [("agent", False), ("manager", False), ("admin_user", True)],
)
def test_navigation_shows_each_role_only_what_it_may_use(client, request, persona, sees_event_log):
    client.force_login(request.getfixturevalue(persona))

    body = client.get(reverse("home")).content.decode()

    assert ("Event log" in body) is sees_event_log
    assert "Overview" in body


def log_in(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_five_wrong_passwords_lock_that_user_from_that_address(client, agent):
    statuses = [log_in(client, "alice.agent", "wrong").status_code for _ in range(5)]

    response = log_in(client, "alice.agent", "correct horse battery staple")

    assert statuses == [200, 200, 200, 200, 429]

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_a_locked_out_user_does_not_lock_out_others_behind_the_same_address(client, agent, manager):
    for _ in range(5):
        log_in(client, "alice.agent", "wrong")

    response = log_in(client, "mona.manager", "correct horse battery staple")

    assert response.status_code == 302  # logged in


def test_the_same_user_from_another_address_can_still_log_in(client, agent):
    for _ in range(5):
        log_in(client, "alice.agent", "wrong", ip="10.0.0.1")

    assert (
        log_in(client, "alice.agent", "correct horse battery staple", ip="10.0.0.2").status_code
        == 302
    )


def test_pages_carry_a_content_security_policy(client, agent):
    client.force_login(agent)
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
