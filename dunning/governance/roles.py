"""The three roles, and the navigation each one sees.

Roles are Django groups (created by a data migration). Pages check permissions, not group
names; the navigation is built from the same permissions so nobody is shown a link that
would refuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.http import HttpRequest
from django.urls import reverse


class Role(StrEnum):
    AGENT = "collections agent"
    MANAGER = "collections manager"
    ADMIN = "admin"


# What each role may do today. Data migrations create these; roles_ensure() restores them
# where a test flushed the tables or a demo database was reset.
# The collections desk (collections_desk/migrations/0002_desk_roles.py): agents work their
# team's cases (a guardian permission on the team), managers every team's and reassign.
_DESK_AGENT = (
    "collections_desk.view_case",
    "collections_desk.add_casenote",
    "collections_desk.view_team",
)
_DESK_MANAGER = (*_DESK_AGENT, "collections_desk.work_all_cases", "collections_desk.assign_case")
_DECISION_READERS = (
    "dunning.view_decision",
    "dunning.view_action",
    "dunning.approve_action",
    "dunning.view_outboundmessage",
)
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.AGENT: (*_DECISION_READERS, *_DESK_AGENT),
    Role.MANAGER: (
        *_DECISION_READERS,
        *_DESK_MANAGER,
        "dunning.approve_high_risk_action",
        "dunning.view_guardrailpolicy",
        "dunning.view_gatewaypause",
        "dunning.view_prompttemplate",
        "analytics.view_dashboards",
        "dunning.view_channel_settings",
        "dunning.view_connections",
        "analytics.view_experiment",
        "analytics.run_experiment",
        "analytics.launch_campaign",
    ),
    Role.ADMIN: (
        "dunning.view_chargebeeevent",
        "dunning.reprocess_chargebeeevent",
        "dunning.view_rejectedwebhook",
        "dunning.view_auditentry",
        *_DECISION_READERS,
        "dunning.approve_high_risk_action",
        "dunning.view_guardrailpolicy",
        "dunning.change_guardrails",
        "dunning.view_gatewaypause",
        "dunning.view_modelversion",
        *_DESK_MANAGER,
        "collections_desk.add_team",
        "collections_desk.change_team",
        "collections_desk.view_escalationticket",
        "dunning.view_prompttemplate",
        "dunning.change_prompttemplate",
        "analytics.view_dashboards",
        "dunning.view_channel_settings",
        "dunning.change_channel_settings",
        "dunning.change_roles",
        "dunning.view_configversion",
        "dunning.connect_chargebee",
        "dunning.view_connections",
        "dunning.change_connections",
        "analytics.view_experiment",
        "analytics.run_experiment",
        "analytics.change_dunning_sequence",
        "analytics.launch_campaign",
    ),
}


def roles_ensure() -> None:
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def user_roles(user) -> list[Role]:
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    return [role for role in Role if role.value in names]


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None = None
    group: str = ""  # a menu in the top bar; "" for a link of its own

    def visible_to(self, user) -> bool:
        return self.permission is None or user.has_perm(self.permission)


# Menus in the order they appear; items inside a menu keep the order below.
NAV_GROUPS = ("Desk", "Analytics", "Automation", "System")
NAVIGATION = (
    NavItem("Overview", "home"),
    NavItem("Queue", "collections_desk:queue", "collections_desk.view_case", "Desk"),
    NavItem("My tasks today", "collections_desk:my_tasks", "collections_desk.view_case", "Desk"),
    NavItem("Approvals", "collections_desk:inbox", "dunning.approve_action", "Desk"),
    NavItem("Outbox", "dunning:outbox", "dunning.view_outboundmessage", "Desk"),
    NavItem("Recovery", "analytics:recovery", "analytics.view_dashboards", "Analytics"),
    NavItem("Cohorts", "analytics:cohorts", "analytics.view_dashboards", "Analytics"),
    NavItem("Forecast", "analytics:forecast", "analytics.view_dashboards", "Analytics"),
    NavItem("Experiments", "analytics:experiments", "analytics.view_experiment", "Analytics"),
    NavItem("AI impact", "analytics:impact", "analytics.view_dashboards", "Analytics"),
    NavItem("At risk", "analytics:at_risk", "analytics.view_dashboards", "Analytics"),
    NavItem("Decisions", "dunning:decision_list", "dunning.view_decision", "Automation"),
    NavItem("Guardrails", "dunning:guardrails", "dunning.view_guardrailpolicy", "Automation"),
    NavItem("Rollout", "dunning:rollout", "dunning.view_guardrailpolicy", "Automation"),
    NavItem("Prompts", "dunning:prompt_templates", "dunning.view_prompttemplate", "Automation"),
    NavItem(
        "Offline reminders",
        "dunning:offline_reminders",
        "dunning.view_guardrailpolicy",
        "Automation",
    ),
    NavItem("Event log", "dunning:event_list", "dunning.view_chargebeeevent", "System"),
    NavItem("Audit trail", "dunning:audit_list", "dunning.view_auditentry", "System"),
    NavItem("System status", "dunning:system_status", "dunning.view_chargebeeevent", "System"),
    NavItem("Channels", "dunning:channel_settings", "dunning.view_channel_settings", "System"),
    NavItem("People", "dunning:people", "dunning.change_roles", "System"),
    NavItem("Chargebee", "dunning:chargebee_connection", "dunning.connect_chargebee", "System"),
    NavItem("Connections", "dunning:connections", "dunning.view_connections", "System"),
    NavItem("Settings history", "dunning:settings_history", "dunning.view_configversion", "System"),
)


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    visible = [item for item in NAVIGATION if item.visible_to(user)]
    links = [
        {"label": item.label, "url": reverse(item.url_name), "current": False} for item in visible
    ]
    for link in links:
        link["current"] = link["url"] == request.path
    menus = []
    for group in ("", *NAV_GROUPS):
        members = [link for item, link in zip(visible, links, strict=True) if item.group == group]
        if group == "":
            menus.extend({"label": link["label"], "link": link} for link in members)
        elif members:
            current = any(link["current"] for link in members)
            menus.append({"label": group, "items": members, "current": current})
    roles = user_roles(user)
    return {
        "nav_items": links,
        "nav_menus": menus,
        "user_role_label": ", ".join(r.value for r in roles)
        or ("superuser" if user.is_superuser else "no role"),
    }
