"""HubSpot: an escalation becomes a ticket (CRM v3 objects API, a private app's token).

Errors are ``{"status": "error", "message", "category", "correlationId"}``; a 429 carries
``X-HubSpot-RateLimit-*`` headers (and ``Retry-After`` on some limits).
"""

from __future__ import annotations

from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.escalation_text import (
    TicketStatus,
    escalation_body,
    escalation_subject,
)
from dunning.enrichment.connectors.vendor_http import ConnectorError, bearer_call

CREDENTIAL = "DUNWELL_HUBSPOT_TOKEN"


def hubspot_error(body: object) -> str:
    if isinstance(body, dict) and body.get("message"):
        return f"{body.get('category', 'error')}: {body['message']}"
    return ""


class HubSpotEscalation:
    name = "hubspot"

    def __init__(
        self,
        *,
        base_url: str = "https://api.hubapi.com",
        pipeline: str = "0",
        stage: str = "1",
        token: str | None = None,
    ):
        self.base = f"{base_url.rstrip('/')}/crm/v3/objects/tickets"
        self.pipeline, self.stage = pipeline, stage
        self.token = connector_secret("HUBSPOT_TOKEN") if token is None else token

    def _call(self, method: str, url: str, **request):
        return bearer_call(
            connector=self.name,
            token=self.token,
            credential=CREDENTIAL,
            method=method,
            url=url,
            detail=hubspot_error,
            **request,
        )

    def send(self, *, summary: dict) -> str:
        properties = {
            "subject": escalation_subject(summary),
            "content": escalation_body(summary),
            "hs_pipeline": self.pipeline,
            "hs_pipeline_stage": self.stage,
            "hs_ticket_priority": "HIGH",
        }
        answer = self._call("POST", self.base, json={"properties": properties})
        if not isinstance(answer, dict) or not answer.get("id"):
            raise ConnectorError(f"HubSpot did not return the ticket id: {answer!r}"[:300])
        return str(answer["id"])[:200]

    def url_for(self, external_id: str) -> str:
        return ""  # HubSpot's record URL needs the portal id, which the token does not tell

    def status(self, *, external_id: str) -> TicketStatus:
        answer = self._call(
            "GET",
            f"{self.base}/{external_id}",
            params={"properties": "hs_pipeline_stage,closed_date"},
        )
        properties = answer.get("properties") or {}
        return TicketStatus(
            status=f"stage {properties.get('hs_pipeline_stage', '?')}"[:60],
            closed=bool(properties.get("closed_date")),
        )

    def check(self) -> str:
        answer = self._call("GET", self.base, params={"limit": 1})
        seen = len(answer.get("results") or []) if isinstance(answer, dict) else 0
        return f"HubSpot answered: tickets are readable ({seen} read)."
