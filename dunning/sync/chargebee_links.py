"""Links to an object in Chargebee's web app for the configured site (for people, not the API)."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

APP_PATHS = {"customer": "customers", "invoice": "invoices", "subscription": "subscriptions"}


def chargebee_app_url(*, kind: str, cb_id: str) -> str:
    """``https://<site>.chargebee.com/d/<kind>s/<id>``: the object's page in Chargebee."""
    return f"https://{settings.CHARGEBEE_SITE}.chargebee.com/d/{APP_PATHS[kind]}/{quote(cb_id)}"
