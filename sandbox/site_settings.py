"""The sandbox site's own settings, as Chargebee's API shows them, and its webhook endpoints.

Serves ``GET /configurations``, ``GET /currencies/list`` and the ``WebhookEndpoint`` API
(create, update, retrieve, list, delete) in the SDK's shapes. Also the limits Chargebee puts
on request parameters (``sandbox/spec/chargebee_constraints.json``, transcribed from
chargebee-node's generated schemas), so the sandbox refuses what Chargebee refuses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from chargebee.models.enums import EventType

from sandbox.store import Sandbox, SandboxError

CONSTRAINTS = json.loads(
    (Path(__file__).parent / "spec" / "chargebee_constraints.json").read_text()
)
REQUEST_LIMITS: dict[str, dict[str, dict]] = CONSTRAINTS["request_limits"]

# Event types a webhook endpoint may subscribe to: the SDK's own list.
EVENT_TYPES = frozenset(member.value for member in EventType)


def _one(params: dict, key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def params_within_limits(operation: str, params: dict[str, list[str]]) -> None:
    """Refuse a parameter over Chargebee's limit as Chargebee does (400 param_wrong_value)."""
    for key, limits in REQUEST_LIMITS.get(operation, {}).items():
        for value in params.get(key, []):
            if "max_length" in limits and len(value) > limits["max_length"]:
                raise SandboxError(
                    400,
                    "param_wrong_value",
                    f"{key} : cannot be more than {limits['max_length']} characters",
                    param=key,
                )
            if "min" in limits and value.lstrip("-").isdigit() and int(value) < limits["min"]:
                raise SandboxError(
                    400,
                    "param_wrong_value",
                    f"{key} : cannot be less than {limits['min']}",
                    param=key,
                )


def _listed(params: dict, key: str) -> list[str] | None:
    """A list parameter as the SDK sends it (``key[0]``, ``key[1]`` …), or None if absent."""
    indexed = sorted(
        (int(m.group(1)), values[0])
        for name, values in params.items()
        if (m := re.fullmatch(rf"{re.escape(key)}\[(\d+)\]", name))
    )
    return [value for _, value in indexed] if indexed else None


def _flag(params: dict, key: str) -> bool | None:
    value = _one(params, key)
    return None if value is None else value == "true"


class SiteAPI:
    def __init__(self, sandbox: Sandbox):
        self.sb = sandbox

    def routes(self) -> list[tuple]:
        r = re.compile
        return [
            ("GET", r(r"^/api/v2/configurations$"), self.configuration_list),
            ("GET", r(r"^/api/v2/currencies/list$"), self.currency_list),
            ("GET", r(r"^/api/v2/webhook_endpoints$"), self.endpoint_list),
            ("POST", r(r"^/api/v2/webhook_endpoints$"), self.endpoint_create),
            ("GET", r(r"^/api/v2/webhook_endpoints/([^/]+)$"), self.endpoint_retrieve),
            ("POST", r(r"^/api/v2/webhook_endpoints/([^/]+)/delete$"), self.endpoint_delete),
            ("POST", r(r"^/api/v2/webhook_endpoints/([^/]+)$"), self.endpoint_update),
        ]

    def configuration_list(self, params):
        return {
            "configurations": [
                {
                    "domain": self.sb.site,
                    "product_catalog_version": self.sb.product_catalog_version,
                    "chargebee_response_schema_type": "items"
                    if self.sb.product_catalog_version == "v2"
                    else "plans_addons",
                }
            ]
        }

    def currency_list(self, params):
        return {"list": [{"currency": dict(c)} for c in self.sb.currencies]}

    # --- webhook endpoints -------------------------------------------------------------
    def _endpoint(self, endpoint_id: str) -> dict:
        return self.sb.get(self.sb.webhook_endpoints, endpoint_id, "webhook_endpoint")

    @staticmethod
    def shown(endpoint: dict) -> dict:
        # Chargebee never answers with the Basic-auth pair it was given.
        return {k: v for k, v in endpoint.items() if not k.startswith("basic_auth_")}

    def endpoint_list(self, params):
        return {
            "list": [
                {"webhook_endpoint": self.shown(e)} for e in self.sb.webhook_endpoints.values()
            ]
        }

    def endpoint_retrieve(self, params, endpoint_id):
        return {"webhook_endpoint": self.shown(self._endpoint(endpoint_id))}

    def _apply(self, endpoint: dict, params: dict) -> None:
        for key in ("name", "url", "basic_auth_username", "basic_auth_password"):
            if (value := _one(params, key)) is not None:
                endpoint[key] = value
        if (version := _one(params, "api_version")) is not None:
            if version not in ("v1", "v2"):
                raise SandboxError(
                    400, "param_wrong_value", "api_version : invalid value", param="api_version"
                )
            endpoint["api_version"] = version
        for key in ("disabled", "primary_url", "send_card_resource"):
            if (flag := _flag(params, key)) is not None:
                endpoint[key] = flag
        events = _listed(params, "enabled_events")
        if events is not None:
            unknown = [e for e in events if e not in EVENT_TYPES]
            if unknown:
                raise SandboxError(
                    400,
                    "param_wrong_value",
                    f"enabled_events : {unknown[0]} is not a valid event type",
                    param="enabled_events",
                )
            endpoint["enabled_events"] = events

    def endpoint_create(self, params):
        for key in ("name", "url"):
            if not _one(params, key):
                raise SandboxError(400, "param_wrong_value", f"{key} : cannot be blank", param=key)
        endpoint = {
            "id": self.sb.new_id("whe"),
            "disabled": False,
            "primary_url": False,
            "send_card_resource": False,
            "api_version": "v2",
            "chargebee_response_schema_type": "items",
            "object": "webhook_endpoint",
        }
        self._apply(endpoint, params)
        self.sb.webhook_endpoints[endpoint["id"]] = endpoint
        return {"webhook_endpoint": self.shown(endpoint)}

    def endpoint_update(self, params, endpoint_id):
        endpoint = self._endpoint(endpoint_id)
        self._apply(endpoint, params)
        return {"webhook_endpoint": self.shown(endpoint)}

    def endpoint_delete(self, params, endpoint_id):
        endpoint = self.sb.webhook_endpoints.pop(self._endpoint(endpoint_id)["id"])
        return {"webhook_endpoint": self.shown(endpoint)}
