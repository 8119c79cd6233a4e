"""Twilio: SMS through its REST API (2010-04-01), and its status callbacks' signature.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From`` (or
``MessagingServiceSid``), ``Body`` and ``StatusCallback``; Basic auth with the Account SID and
its auth token. Twilio's errors are ``{"code", "message", "more_info", "status"}``: a 400
names the number or the message (21211 invalid "To", 21610 the recipient replied STOP, ...)
and is refused for good; 429 and 5xx are tried again later, as are 401/403/404 (a
credential or an account to fix, not a bad message). The recipient's number goes only to
Twilio, which delivers it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.vendor_http import ConnectorError, vendor_call

CREDENTIAL = "DUNWELL_TWILIO_AUTH_TOKEN"
API_VERSION = "2010-04-01"


def twilio_error(body: object) -> str:
    if isinstance(body, dict) and body.get("message"):
        code = f"{body['code']} " if body.get("code") else ""
        return f"{code}{body['message']}".strip()
    return ""


class TwilioRefused(ConnectorError):
    """Twilio refused this message itself (a 400): sending it again cannot work."""


class TwilioSms:
    name = "twilio"

    def __init__(
        self,
        *,
        base_url: str = "https://api.twilio.com",
        account_sid: str = "",
        from_number: str = "",
        messaging_service_sid: str = "",
        token: str | None = None,
    ):
        self.base = f"{base_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}"
        self.account_sid = account_sid
        self.from_number, self.messaging_service_sid = from_number, messaging_service_sid
        self.token = connector_secret("TWILIO_AUTH_TOKEN") if token is None else token

    def _call(self, method: str, path: str, **request) -> dict:
        if not (self.account_sid and self.token):
            raise ConnectorError(f"Twilio needs the Account SID and {CREDENTIAL}")
        return vendor_call(
            connector=self.name,
            method=method,
            url=f"{self.base}{path}",
            credential=CREDENTIAL,
            detail=twilio_error,
            auth=(self.account_sid, self.token),
            headers={"Accept": "application/json"},
            **request,
        )

    def send(self, *, to: str, body: str, status_callback: str) -> str:
        """The message's SID (``SM…``); ``TwilioRefused`` for good, ``ConnectorError`` for now."""
        sender = (
            {"MessagingServiceSid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"From": self.from_number}
        )
        form = {"To": to, "Body": body, "StatusCallback": status_callback, **sender}
        try:
            answer = self._call("POST", "/Messages.json", data=form)
        except ConnectorError as error:
            if error.status == 400:
                raise TwilioRefused(str(error), status=400) from None
            raise
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not sid:
            raise ConnectorError(f"Twilio did not return the message SID: {answer!r}"[:300])
        return str(sid)

    def check(self) -> str:
        account = self._call("GET", ".json")
        return (
            f"Twilio answered: account {account.get('friendly_name') or self.account_sid} is "
            f"{account.get('status', 'unknown')}."
        )


def twilio_signature_valid(*, url: str, params: dict[str, str], signature: str, token: str) -> bool:
    """Twilio's scheme: base64 HMAC-SHA1 of the full URL followed by each POST parameter's
    name and value, sorted by name, with the account's auth token."""
    if not (token and signature):
        return False
    signed = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature)
