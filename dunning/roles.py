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

    def visible_to(self, user) -> bool:
        return self.permission is None or user.has_perm(self.permission)


NAVIGATION = (
    NavItem("Overview", "home"),
    NavItem("Event log", "dunning:event_list", "dunning.view_chargebeeevent"),
)


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        {"label": item.label, "url": reverse(item.url_name)}
        for item in NAVIGATION
        if item.visible_to(user)
    ]
    roles = user_roles(user)
    return {
        "nav_items": items,
        "user_role_label": ", ".join(r.value for r in roles)
        or ("superuser" if user.is_superuser else "no role"),
    }
