"""Sending one message on a channel: email through Django, SMS through Twilio or over HTTP.

Email goes through ``django.core.mail`` and whatever ``EMAIL_BACKEND`` is configured
(SMTP, anymail's ESP backends, or the default: files under ``var/outbox/email``). SMS goes
to Twilio when the Connections page says so (docs/connectors.md), its status callback
pointing back at Dunwell. Otherwise SMS and in-app messages are POSTed as JSON to
``SMS_WEBHOOK_URL`` / ``INAPP_WEBHOOK_URL`` (the interface is in docs/channels.md); with no
URL set they stay in the local outbox, shown on the Outbox page. Every webhook send carries
the message's idempotency key so a provider can drop a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid
from urllib.parse import urlsplit

import httpx
from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from dunning.enrichment.connectors.config import connections_read
from dunning.enrichment.connectors.twilio import TwilioRefused, TwilioSms
from dunning.enrichment.connectors.vendor_http import ConnectorError
from dunning.models import Channel

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
LOCAL_OUTBOX = "local outbox"


class ChannelUnavailable(Exception):
    """The provider did not take the message; sending it again later may work."""


class ChannelRejected(Exception):
    """The provider refused this message for good (a 4xx such as an invalid number)."""


@dataclass(frozen=True)
class Outgoing:
    channel: str
    recipient: str
    subject: str
    body: str
    idempotency_key: str
    customer_id: str
    purpose: str
    sender: str = ""  # "Name <address>" for email; empty: DEFAULT_FROM_EMAIL


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_id: str


def channel_send(outgoing: Outgoing) -> Sent:
    if outgoing.channel == Channel.EMAIL:
        return _email_send(outgoing)
    if outgoing.channel == Channel.SMS:
        connections = connections_read()
        if connections["sms"] == "twilio":
            return _twilio_send(outgoing, TwilioSms(**connections["twilio"]))
    url, token = {
        Channel.SMS: (settings.SMS_WEBHOOK_URL, settings.SMS_WEBHOOK_TOKEN),
        Channel.IN_APP: (settings.INAPP_WEBHOOK_URL, settings.INAPP_WEBHOOK_TOKEN),
    }[outgoing.channel]
    if not url:
        return Sent(provider=LOCAL_OUTBOX, provider_id=outgoing.idempotency_key)
    return _webhook_send(outgoing, url=url, token=token)


def _email_send(outgoing: Outgoing) -> Sent:
    message_id = make_msgid(idstring=outgoing.idempotency_key, domain="dunwell.invalid")
    email = EmailMessage(
        subject=outgoing.subject,
        body=outgoing.body,
        from_email=outgoing.sender or None,
        to=[outgoing.recipient],
        headers={"Message-ID": message_id, "X-Dunwell-Message": outgoing.idempotency_key},
    )
    try:
        email.send(fail_silently=False)
    except AnymailRecipientsRefused:  # the ESP knows the address is bad or blocked
        recipients = getattr(getattr(email, "anymail_status", None), "recipients", None) or {}
        said = ", ".join(sorted({str(r.status) for r in recipients.values()})) or "refused"
        raise ChannelRejected(f"the email provider refused the recipient ({said})") from None
    except Exception as error:  # SMTP, ESP and file errors share no base class
        raise ChannelUnavailable(f"the email backend refused: {type(error).__name__}") from error
    # anymail reports the ESP's own id; other backends keep ours.
    status = getattr(email, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) or message_id
    return Sent(provider=settings.EMAIL_BACKEND.rsplit(".", 2)[-2], provider_id=str(provider_id))


def _twilio_send(outgoing: Outgoing, twilio: TwilioSms) -> Sent:
    callback = f"{settings.PUBLIC_BASE_URL}{reverse('twilio_status')}"
    try:
        sid = twilio.send(to=outgoing.recipient, body=outgoing.body, status_callback=callback)
    except TwilioRefused as refused:
        raise ChannelRejected(str(refused)) from None
    except ConnectorError as error:  # 401/403/404, 429, 5xx, no answer: later, once fixed
        raise ChannelUnavailable(str(error)) from None
    return Sent(provider="twilio", provider_id=sid)


def _webhook_send(outgoing: Outgoing, *, url: str, token: str) -> Sent:
    headers = {"Idempotency-Key": outgoing.idempotency_key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = {
        "channel": outgoing.channel,
        "to": outgoing.recipient,
        "body": outgoing.body,
        "customer_id": outgoing.customer_id,
        "purpose": outgoing.purpose,
        "idempotency_key": outgoing.idempotency_key,
    }
    try:
        response = httpx.post(url, json=payload, headers=headers, timeout=HTTP_TIMEOUT)
    except httpx.HTTPError as error:
        raise ChannelUnavailable(f"{outgoing.channel} endpoint unreachable: {error}") from error
    if 400 <= response.status_code < 500 and response.status_code not in (408, 409, 429):
        raise ChannelRejected(f"{outgoing.channel} endpoint refused it: {response.status_code}")
    if response.status_code >= 300:
        raise ChannelUnavailable(f"{outgoing.channel} endpoint answered {response.status_code}")
    try:
        provider_id = str(response.json().get("id") or "")
    except ValueError:
        provider_id = ""
    return Sent(provider=urlsplit(url).netloc, provider_id=provider_id or outgoing.idempotency_key)
