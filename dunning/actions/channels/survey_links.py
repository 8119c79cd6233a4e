"""The signed link a satisfaction survey message carries (the desk's public survey page).

It names only the action, is signed with the site's secret and expires after
``LINK_VALID``; the desk (``collections_desk.csat``) opens it and records the one answer.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from dunning.models import Action

SALT = "dunwell.csat.survey"
LINK_VALID = timedelta(days=30)


def csat_token(*, action: Action) -> str:
    return signing.dumps({"action": action.pk}, salt=SALT)


def csat_link(*, action: Action) -> str:
    path = reverse("collections_desk:csat_answer", args=[csat_token(action=action)])
    return f"{settings.PUBLIC_BASE_URL}{path}"
