"""The email provider behind anymail: which one it is, and its test button.

anymail sends and parses webhooks but has no "is this credential good" call, so the test
uses each ESP's documented read-only endpoint with the credential anymail sends with:
Postmark ``GET /server`` (``X-Postmark-Server-Token``), SendGrid ``GET /v3/scopes`` (and
whether ``mail.send`` is among them), Mailgun ``GET /v3/domains/{domain}``. Amazon SES goes
through boto3 and AWS's own credentials: only sending tests it.
"""

from __future__ import annotations

from django.conf import settings

from dunning.enrichment.connectors.vendor_http import ConnectorError, vendor_call

DEFAULT_URLS = {
    "postmark": "https://api.postmarkapp.com/",
    "sendgrid": "https://api.sendgrid.com/v3/",
    "mailgun": "https://api.mailgun.net/v3",
}
CREDENTIALS = {
    "postmark": "DUNWELL_POSTMARK_SERVER_TOKEN",
    "sendgrid": "DUNWELL_SENDGRID_API_KEY",
    "mailgun": "DUNWELL_MAILGUN_API_KEY",
}


def email_provider() -> str:
    """The ESP anymail sends through ("postmark", ...), or "" for any other email backend."""
    parts = settings.EMAIL_BACKEND.split(".")
    if len(parts) == 4 and parts[:2] == ["anymail", "backends"]:
        return parts[2]
    return ""


def _setting(name: str) -> str:
    return str((getattr(settings, "ANYMAIL", None) or {}).get(name) or "")


def esp_error(body: object) -> str:
    if not isinstance(body, dict):
        return ""
    if body.get("Message"):  # Postmark: {"ErrorCode": 10, "Message": "..."}
        return f"{body.get('ErrorCode', '')} {body['Message']}".strip()
    errors = body.get("errors")  # SendGrid: {"errors": [{"field": ..., "message": ...}]}
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", ""))
    return str(body.get("message", ""))  # Mailgun: {"message": "..."}


def email_provider_check() -> str:
    provider = email_provider()
    if not provider:
        return (
            f"Email goes through {settings.EMAIL_BACKEND}, not an email provider: "
            "set EMAIL_PROVIDER to test one."
        )
    if provider not in DEFAULT_URLS:
        return f"{provider} has no read-only check: only sending an email tests it."
    base = (_setting(f"{provider.upper()}_API_URL") or DEFAULT_URLS[provider]).rstrip("/")
    call = {
        "connector": "email",
        "method": "GET",
        "credential": CREDENTIALS[provider],
        "detail": esp_error,
    }
    if provider == "postmark":
        token = _setting("POSTMARK_SERVER_TOKEN")
        if not token:
            raise ConnectorError(f"Postmark has no server token: set {CREDENTIALS[provider]}")
        server = vendor_call(
            url=f"{base}/server",
            **call,
            headers={"X-Postmark-Server-Token": token, "Accept": "application/json"},
        )
        return f"Postmark answered: server {server.get('Name', '?')} (id {server.get('ID', '?')})."
    if provider == "sendgrid":
        key = _setting("SENDGRID_API_KEY")
        if not key:
            raise ConnectorError(f"SendGrid has no API key: set {CREDENTIALS[provider]}")
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        scopes = vendor_call(url=f"{base}/scopes", **call, headers=headers).get("scopes") or []
        if "mail.send" not in scopes:
            raise ConnectorError("SendGrid accepted the key, but it may not send mail (mail.send)")
        return f"SendGrid answered: the key may send mail ({len(scopes)} scopes)."
    key, domain = _setting("MAILGUN_API_KEY"), _setting("MAILGUN_SENDER_DOMAIN")
    if not (key and domain):
        raise ConnectorError(f"Mailgun needs {CREDENTIALS[provider]} and MAILGUN_SENDER_DOMAIN")
    answer = vendor_call(url=f"{base}/domains/{domain}", **call, auth=("api", key))
    state = (answer.get("domain") or {}).get("state", "unknown")
    return f"Mailgun answered: domain {domain} is {state}."
