"""Teams: creating them, their members, and which team a new case goes to."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import Group, User
from django.db import transaction

from collections_desk.access import team_grant
from collections_desk.models import Team
from dunning.governance.audit import audit_record

# The demo's two teams; the demo's ``agent`` works the second.
DEMO_TEAMS = (
    {"name": "Enterprise", "routing_order": 10, "segments": ["enterprise"]},
    {"name": "Self-serve & growth", "routing_order": 100, "segments": []},
)
DEMO_AGENT_TEAM = "Self-serve & growth"


@transaction.atomic
def team_create(
    *,
    name: str,
    segments: Sequence[str] = (),
    countries: Sequence[str] = (),
    routing_order: int = 100,
    user=None,
) -> Team:
    group, _ = Group.objects.get_or_create(name=f"team: {name}")
    team = Team.objects.create(
        name=name,
        group=group,
        routing_order=routing_order,
        segments=list(segments),
        countries=[c.upper() for c in countries],
    )
    team_grant(team=team)
    routing = {"segments": team.segments, "countries": team.countries, "order": routing_order}
    audit_record(
        action="team.created",
        actor=user,
        actor_label="" if user else "dunwell",
        target=team,
        data={"name": name, **routing},
    )
    return team


def team_member_add(*, team: Team, user: User) -> None:
    team.group.user_set.add(user)


def team_route(*, segment: str, country: str) -> Team | None:
    """The first team (by routing order) whose segments and countries both match.

    An empty list matches anything, so a team with neither is a catch-all. No match (or no
    team at all): the case is in the shared pool every agent works.
    """
    for team in Team.objects.all():
        if team.segments and segment not in team.segments:
            continue
        if team.countries and country.upper() not in team.countries:
            continue
        return team
    return None


def demo_teams_ensure() -> list[Team]:
    """The demo's teams, and the demo ``agent`` in one of them (called by ``manage.py demo``)."""
    teams = [
        Team.objects.filter(name=spec["name"]).first() or team_create(**spec) for spec in DEMO_TEAMS
    ]
    agent = User.objects.filter(username="agent").first()
    if agent is not None:
        team_member_add(team=Team.objects.get(name=DEMO_AGENT_TEAM), user=agent)
    return teams
