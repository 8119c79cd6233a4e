"""A customer with a failed payment, message actions about it, and local HTTP endpoints
standing in for an OpenAI-compatible model server and an SMS/in-app provider."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dunning.models import Action, ActionKind, Customer, Invoice, PaymentSource, Subscription
from tests.dunning.decided import decided_invoice

EMAIL = "ana.lima@example.org"
PHONE = "+4915112345678"
PAY_LINK = "https://pay.example.test/hp_8f2k"


@pytest.fixture(autouse=True)
def channel_settings(settings, tmp_path):
    settings.QUIET_HOURS = ""  # tests about quiet hours set their own
    settings.DRAFTER = "builtin"
    settings.SMS_WEBHOOK_URL = settings.INAPP_WEBHOOK_URL = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


@pytest.fixture
def customer_case(db):
    """Ana Lima (Germany) on the Pro plan; her Visa ending 4242 was declined for 49.00 EUR."""

    def make(n: int = 1, *, decline_code: str = "51", country: str = "DE"):
        decision = decided_invoice(n, decline_code=decline_code, country=country)
        Customer.objects.filter(cb_id=f"cus_{n}").update(
            email=EMAIL, raw={"phone": PHONE}, last_name="Lima", company="Limaworks GmbH"
        )
        Subscription.objects.create(
            cb_id=f"sub_{n}",
            customer_id=f"cus_{n}",
            plan_id="pro-EUR-monthly",
            status="active",
            resource_version=1,
        )
        Invoice.objects.filter(cb_id=f"inv_{n}").update(subscription_id=f"sub_{n}")
        PaymentSource.objects.filter(cb_id=f"pm_{n}").update(card_last4="4242")
        return decision

    return make


def message_action(decision, *, kind=ActionKind.MESSAGE, channel="email", params=None) -> Action:
    return Action.objects.create(
        decision=decision,
        invoice_id=decision.invoice_id,
        customer_id=decision.customer_id,
        kind=kind,
        channel=channel,
        scheduled_for=decision.as_of,
        mode=decision.mode,
        params=params
        if params is not None
        else {
            "template": "payment_failed_retry_scheduled",
            "retry_at": "2030-11-06T09:00:00+00:00",
            "payment_method_link": True,
        },
        state="scheduled",
    )


class RecordingServer:
    """An HTTP server in a thread that records every request body and answers as told."""

    def __init__(self, answer):
        self.requests: list[dict] = []
        self.raw: list[bytes] = []
        self.answer = answer  # (path, body) -> (status, dict)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.raw.append(raw)
                body = json.loads(raw or b"{}")
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        **body,
                    }
                )
                status, reply = server.answer(self.path, body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def chat_completion(content: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "local-test-model",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
    }


@pytest.fixture
def llm_server(settings):
    """A local OpenAI-compatible endpoint; ``server.content`` is what the model answers."""

    def answer(path, body):
        if server.status != 200:
            return server.status, {"error": {"message": "overloaded", "type": "server_error"}}
        content = server.content(body) if callable(server.content) else server.content
        return 200, chat_completion(content)

    server = RecordingServer(answer)
    server.status = 200
    server.content = json.dumps({"subject": "", "body": ""})
    settings.DRAFTER = "llm"
    settings.LLM_BASE_URL = f"{server.url}/v1"
    settings.LLM_MODEL = "local-test-model"
    settings.LLM_API_KEY = "test-key"
    settings.LLM_TIMEOUT_SECONDS = 5
    yield server
    server.close()


@pytest.fixture
def provider_server():
    """A local SMS / in-app provider: answers 201 with its own id unless told otherwise."""

    def answer(path, body):
        return server.status, {"id": f"prov_{len(server.requests)}"}

    server = RecordingServer(answer)
    server.status = 201
    yield server
    server.close()
