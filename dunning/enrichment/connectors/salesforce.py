"""Salesforce: an escalation becomes a Case (REST API ``sobjects/Case``, OAuth bearer token).

Errors come back as a JSON list of ``{"message", "errorCode"}``; 401 is
``INVALID_SESSION_ID`` (an expired or wrong token).
"""

from __future__ import annotations

from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.escalation_text import (
    TicketStatus,
    escalation_body,
    escalation_subject,
)
from dunning.enrichment.connectors.vendor_http import ConnectorError, bearer_call

CREDENTIAL = "DUNWELL_SALESFORCE_TOKEN"


def salesforce_errors(body: object) -> str:
    if isinstance(body, list):
        return "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in body[:3])
    return ""


class SalesforceEscalation:
    name = "salesforce"

    def __init__(
        self,
        *,
        instance_url: str,
        api_version: str = "v60.0",
        case_origin: str = "Web",
        token: str | None = None,
    ):
        self.instance_url = instance_url.rstrip("/")
        self.base = f"{self.instance_url}/services/data/{api_version}/sobjects/Case"
        self.origin = case_origin
        self.token = connector_secret("SALESFORCE_TOKEN") if token is None else token

    def _call(self, method: str, url: str, **request):
        return bearer_call(
            connector=self.name,
            token=self.token,
            credential=CREDENTIAL,
            method=method,
            url=url,
            detail=salesforce_errors,
            **request,
        )

    def send(self, *, summary: dict) -> str:
        body = {
            "Subject": escalation_subject(summary),
            "Description": escalation_body(summary),
            "Origin": self.origin,
            "Priority": "High",
        }
        answer = self._call("POST", f"{self.base}/", json=body)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise ConnectorError(f"Salesforce did not return the Case id: {answer!r}"[:300])
        return str(answer["id"])[:200]

    def url_for(self, external_id: str) -> str:
        return f"{self.instance_url}/lightning/r/Case/{external_id}/view"

    def status(self, *, external_id: str) -> TicketStatus:
        answer = self._call(
            "GET", f"{self.base}/{external_id}", params={"fields": "Status,IsClosed"}
        )
        return TicketStatus(
            status=str(answer.get("Status", ""))[:60], closed=bool(answer.get("IsClosed"))
        )

    def check(self) -> str:
        answer = self._call("GET", f"{self.base}/describe")
        fields = answer.get("fields") if isinstance(answer, dict) else None
        return f"Salesforce answered: the Case object is readable ({len(fields or [])} fields)."
