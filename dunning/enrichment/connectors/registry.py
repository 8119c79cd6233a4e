"""The adapters the Connections settings choose, built from the settings in force."""

from __future__ import annotations

from dunning.enrichment.connectors.config import (
    EMAIL_SECRETS,
    EMAIL_WEBHOOK_SECRET,
    SECRETS,
    connections_read,
    connector_secret,
)
from dunning.enrichment.connectors.email_provider import email_provider, email_provider_check
from dunning.enrichment.connectors.hubspot import HubSpotEscalation
from dunning.enrichment.connectors.salesforce import SalesforceEscalation
from dunning.enrichment.connectors.stripe import StripeCardUpdater
from dunning.enrichment.connectors.twilio import TwilioSms
from dunning.enrichment.connectors.usage_sql import SqlUsageSignals
from dunning.enrichment.connectors.zendesk import ZendeskClient, ZendeskEscalation, ZendeskSignals

CONNECTORS = ("salesforce", "hubspot", "zendesk", "usage_sql", "stripe", "twilio", "email")


def escalation_connector(*, vendor: str, config: dict | None = None):
    """The vendor's escalation transport (``send``, ``status``, ``url_for``, ``check``)."""
    config = config or connections_read()
    if vendor == "salesforce":
        return SalesforceEscalation(**config["salesforce"])
    if vendor == "hubspot":
        return HubSpotEscalation(**config["hubspot"])
    if vendor == "zendesk":
        return ZendeskEscalation(**config["zendesk"])
    raise ValueError(f"no escalation connector {vendor!r}")


def signal_connectors(*, config: dict | None = None) -> list:
    config = config or connections_read()
    providers = []
    if config["support_signals"] == "zendesk":
        providers.append(ZendeskSignals(**config["zendesk"]))
    if config["usage_signals"] == "sql":
        providers.append(SqlUsageSignals(**config["usage_sql"]))
    return providers


def card_updater_connector(*, config: dict | None = None):
    config = config or connections_read()
    return StripeCardUpdater(**config["stripe"]) if config["card_updater"] == "stripe" else None


def connector_check(*, connector: str) -> str:
    """The test button: one read-only call; its answer in words (``ConnectorError`` if not)."""
    config = connections_read()
    if connector in ("salesforce", "hubspot"):
        return escalation_connector(vendor=connector, config=config).check()
    if connector == "zendesk":
        return ZendeskClient(**config["zendesk"]).check()
    if connector == "usage_sql":
        return SqlUsageSignals(**config["usage_sql"]).check()
    if connector == "stripe":
        return StripeCardUpdater(**config["stripe"]).check()
    if connector == "twilio":
        return TwilioSms(**config["twilio"]).check()
    if connector == "email":
        return email_provider_check()
    raise ValueError(f"no connector {connector!r}")


def secrets_present() -> dict[str, list[dict]]:
    """Per connector: each credential's variable, what to paste, and whether it is set."""
    email = (*EMAIL_SECRETS.get(email_provider(), ()), EMAIL_WEBHOOK_SECRET)
    return {
        connector: [
            {"env": f"DUNWELL_{s.env}", "what": s.what, "set": bool(connector_secret(s.env))}
            for s in secrets
        ]
        for connector, secrets in {**SECRETS, "email": email}.items()
    }
