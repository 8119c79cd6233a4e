"""Which adapter each interface uses, and each connector's non-secret settings.

One versioned document (``dunning.governance.config_versions``, key ``connections``), changed on the
Connections page by admins. Credentials are never in it: ``connector_secret`` reads
``DUNWELL_<NAME>_FILE`` (a mounted secret file) or ``DUNWELL_<NAME>`` when it is asked,
so a rotated secret is picked up without a restart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from dunning.governance.config_versions import ConfigKind, config_current, config_kind_register

VIEW_PERMISSION = "dunning.view_connections"
CHANGE_PERMISSION = "dunning.change_connections"

ESCALATION_CHOICES = ("local", "http", "salesforce", "hubspot", "zendesk")
SUPPORT_SIGNAL_CHOICES = ("none", "zendesk")
USAGE_SIGNAL_CHOICES = ("none", "sql")
CARD_UPDATER_CHOICES = ("default", "stripe")
SMS_CHOICES = ("webhook", "twilio")  # webhook: SMS_WEBHOOK_URL, or the local outbox
MAX_ROW_LIMIT = 10_000
MAX_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Secret:
    env: str  # without the DUNWELL_ prefix
    what: str  # what to paste, for the page and the docs


SECRETS: dict[str, tuple[Secret, ...]] = {
    "salesforce": (Secret("SALESFORCE_TOKEN", "an OAuth access token of the integration user"),),
    "hubspot": (Secret("HUBSPOT_TOKEN", "a private app's access token with the tickets scope"),),
    "zendesk": (
        Secret("ZENDESK_API_TOKEN", "an API token (Admin Center > Apps and integrations > APIs)"),
        Secret("ZENDESK_WEBHOOK_SECRET", "the signing secret of the Zendesk webhook (optional)"),
    ),
    "usage_sql": (Secret("USAGE_DSN", "a read-only URL: postgresql://reader:pw@host/db"),),
    "stripe": (
        Secret("STRIPE_SECRET_KEY", "a restricted key reading PaymentMethods and Events"),
        Secret("STRIPE_WEBHOOK_SECRET", "the endpoint's signing secret (whsec_...)"),
    ),
    "twilio": (
        Secret(
            "TWILIO_AUTH_TOKEN",
            "the account's auth token (Console > Account info); it signs the callbacks too",
        ),
    ),
}
# The email provider is Django's EMAIL_BACKEND, so its credentials are read at start-up
# (config/settings.py builds ANYMAIL from them): a rotated one needs a restart.
EMAIL_SECRETS: dict[str, tuple[Secret, ...]] = {
    "postmark": (Secret("POSTMARK_SERVER_TOKEN", "the server's API token (Server > API Tokens)"),),
    "sendgrid": (Secret("SENDGRID_API_KEY", "an API key with Mail Send (and Scopes read)"),),
    "mailgun": (
        Secret("MAILGUN_API_KEY", "a sending or account API key"),
        Secret("MAILGUN_WEBHOOK_SIGNING_KEY", "the HTTP webhook signing key"),
    ),
    "amazon_ses": (),  # boto3 reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a role
}
EMAIL_WEBHOOK_SECRET = Secret(
    "ANYMAIL_WEBHOOK_SECRET", "user:password the provider's webhooks send (Basic auth)"
)


def connector_secret(name: str) -> str:
    """``DUNWELL_<name>_FILE`` (its content) if set, else ``DUNWELL_<name>``, else ""."""
    path = os.environ.get(f"DUNWELL_{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError:
            return ""
    return os.environ.get(f"DUNWELL_{name}", "").strip()


def _defaults() -> dict:
    return {
        "escalation": "http" if settings.ESCALATION_WEBHOOK_URL else "local",
        "support_signals": "none",
        "usage_signals": "none",
        "card_updater": "default",
        "sms": "webhook",
        "salesforce": {"instance_url": "", "api_version": "v60.0", "case_origin": "Web"},
        "hubspot": {"base_url": "https://api.hubapi.com", "pipeline": "0", "stage": "1"},
        "zendesk": {"base_url": "", "email": ""},
        "usage_sql": {"query": "", "timeout_seconds": 5, "row_limit": 1000},
        "stripe": {"base_url": "https://api.stripe.com"},
        "twilio": {
            "base_url": "https://api.twilio.com",
            "account_sid": "",
            "from_number": "",
            "messaging_service_sid": "",
        },
    }


def _url_problem(value: object, label: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(str(value))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return f"{label} must be an http(s) URL"
    return None


def _problems(data: dict) -> list[str]:
    problems = []
    for key, choices in (
        ("escalation", ESCALATION_CHOICES),
        ("support_signals", SUPPORT_SIGNAL_CHOICES),
        ("usage_signals", USAGE_SIGNAL_CHOICES),
        ("card_updater", CARD_UPDATER_CHOICES),
        ("sms", SMS_CHOICES),
    ):
        if data.get(key) not in choices:
            problems.append(f"{key.replace('_', ' ')} must be one of {', '.join(choices)}")
    for section, key, label in (
        ("salesforce", "instance_url", "the Salesforce instance URL"),
        ("hubspot", "base_url", "the HubSpot API URL"),
        ("zendesk", "base_url", "the Zendesk URL"),
        ("stripe", "base_url", "the Stripe API URL"),
        ("twilio", "base_url", "the Twilio API URL"),
    ):
        if problem := _url_problem((data.get(section) or {}).get(key), label):
            problems.append(problem)
    usage = data.get("usage_sql") or {}
    if not isinstance(usage.get("row_limit"), int) or not 1 <= usage["row_limit"] <= MAX_ROW_LIMIT:
        problems.append(f"the usage row limit must be 1 to {MAX_ROW_LIMIT}")
    timeout = usage.get("timeout_seconds")
    if not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
        problems.append(f"the usage query timeout must be 1 to {MAX_TIMEOUT_SECONDS} seconds")
    if data.get("usage_signals") == "sql" and ":customer_id" not in str(usage.get("query", "")):
        problems.append("the usage query must use the :customer_id parameter")
    needs = {"salesforce": ("salesforce", "instance_url"), "zendesk": ("zendesk", "base_url")}
    for interface in ("escalation", "support_signals"):
        if data.get(interface) in needs:
            section, key = needs[data[interface]]
            if not (data.get(section) or {}).get(key):
                problems.append(f"{data[interface].title()} needs its URL to be used")
    problems.extend(_twilio_problems(data))
    return problems


def _twilio_problems(data: dict) -> list[str]:
    twilio = data.get("twilio") or {}
    sid = str(twilio.get("account_sid") or "")
    problems = []
    if sid and not (sid.startswith("AC") and len(sid) == 34):
        problems.append("the Twilio Account SID is AC followed by 32 characters")
    if data.get("sms") == "twilio":
        if not sid:
            problems.append("Twilio needs its Account SID to be used")
        if not (twilio.get("from_number") or twilio.get("messaging_service_sid")):
            problems.append("Twilio needs a From number or a Messaging Service SID")
    return problems


CONNECTIONS = config_kind_register(
    ConfigKind(
        key="connections",
        label="Connections",
        change_permission=CHANGE_PERMISSION,
        defaults=_defaults,
        problems=_problems,
    )
)


def connections_read() -> dict:
    """The settings in force (the defaults merged under the saved version, per section)."""
    saved = config_current(kind=CONNECTIONS)
    merged = _defaults()
    for key, value in saved.items():
        merged[key] = {**merged[key], **value} if isinstance(merged.get(key), dict) else value
    return merged
