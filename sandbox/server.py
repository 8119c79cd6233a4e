"""The sandbox's HTTP face: Chargebee API v2 routes over a threading HTTP server."""

from __future__ import annotations

import ast
import base64
import bisect
import json
import logging
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sandbox import card_updater, payment_schedules
from sandbox.site_settings import SiteAPI, params_within_limits
from sandbox.store import Sandbox, SandboxError

logger = logging.getLogger("sandbox.server")

Route = tuple[str, re.Pattern, Callable]


def _one(params: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = params.get(key)
    return values[0] if values else default


def _int(params: dict, key: str, default: int | None = None) -> int | None:
    value = _one(params, key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SandboxError(
            400, "param_wrong_value", f"{key} must be an integer", param=key
        ) from None


def _list_filter(value: str) -> list[str]:
    # The SDK sends list filters as a Python-repr'd list ("['a', 'b']"); Chargebee accepts JSON.
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value.split(",")
    return [str(v) for v in (parsed if isinstance(parsed, list | tuple) else [parsed])]


def _matches_filters(obj: dict, params: dict, fields: tuple[str, ...]) -> bool:
    for name in fields:
        for op in ("is", "in", "after", "before"):
            raw = _one(params, f"{name}[{op}]")
            if raw is None:
                continue
            value = obj.get(name)
            if op == "is" and str(value) != raw:
                return False
            if op == "in" and str(value) not in _list_filter(raw):
                return False
            if op == "after" and not (value is not None and int(value) > int(raw)):
                return False
            if op == "before" and not (value is not None and int(value) < int(raw)):
                return False
    return True


class SandboxAPI:
    """Maps (method, path) to store operations and shapes the JSON responses."""

    def __init__(self, sandbox: Sandbox, base_url_getter: Callable[[], str]):
        self.sb = sandbox
        self.base_url = base_url_getter
        r = re.compile
        self.routes: list[Route] = [
            ("GET", r(r"^/api/v2/customers/([^/]+)$"), self.customer_retrieve),
            ("GET", r(r"^/api/v2/customers/([^/]+)/transactions$"), self.customer_transactions),
            ("GET", r(r"^/api/v2/subscriptions$"), self.subscription_list),
            ("GET", r(r"^/api/v2/subscriptions/([^/]+)$"), self.subscription_retrieve),
            ("GET", r(r"^/api/v2/invoices$"), self.invoice_list),
            ("GET", r(r"^/api/v2/invoices/([^/]+)$"), self.invoice_retrieve),
            ("GET", r(r"^/api/v2/invoices/([^/]+)/payments$"), self.invoice_payments),
            ("GET", r(r"^/api/v2/transactions$"), self.transaction_list),
            ("GET", r(r"^/api/v2/payment_sources$"), self.payment_source_list),
            ("GET", r(r"^/api/v2/payment_sources/([^/]+)$"), self.payment_source_retrieve),
            ("GET", r(r"^/api/v2/events$"), self.event_list),
            ("GET", r(r"^/api/v2/events/([^/]+)$"), self.event_retrieve),
            ("POST", r(r"^/api/v2/invoices/([^/]+)/collect_payment$"), self.collect_payment),
            ("POST", r(r"^/api/v2/invoices/([^/]+)/record_payment$"), self.record_payment),
            ("POST", r(r"^/api/v2/invoices/([^/]+)/pause_dunning$"), self.pause_dunning),
            ("POST", r(r"^/api/v2/invoices/([^/]+)/resume_dunning$"), self.resume_dunning),
            ("POST", r(r"^/api/v2/invoices/([^/]+)/stop_dunning$"), self.stop_dunning),
            ("POST", r(r"^/api/v2/invoices/([^/]+)/write_off$"), self.write_off),
            ("POST", r(r"^/api/v2/invoices/([^/]+)/void$"), self.void_invoice),
            ("POST", r(r"^/api/v2/subscriptions/([^/]+)/cancel_for_items$"), self.cancel),
            ("POST", r(r"^/api/v2/subscriptions/([^/]+)/cancel$"), self.cancel),
            ("POST", r(r"^/api/v2/comments$"), self.comment_create),
            (
                "POST",
                r(r"^/api/v2/hosted_pages/update_payment_method$"),
                self.hosted_update_payment_method,
            ),
            ("POST", r(r"^/api/v2/hosted_pages/collect_now$"), self.hosted_collect_now),
            # Outside Chargebee: a helpdesk and a product-analytics API (see docs/signals.md).
            ("GET", r(r"^/signals/v1/tickets$"), self.ticket_list),
            ("GET", r(r"^/signals/v1/usage$"), self.usage_list),
            *SiteAPI(sandbox).routes(),
            *card_updater.routes(sandbox),  # outside Chargebee too: docs/card_updater.md
            *payment_schedules.routes(sandbox),
        ]

    # --- reads -------------------------------------------------------------------------
    def customer_retrieve(self, params, cid):
        return {"customer": self.sb.get(self.sb.customers, cid, "customer")}

    def subscription_retrieve(self, params, sid):
        subscription = self.sb.get(self.sb.subscriptions, sid, "subscription")
        return {
            "subscription": subscription,
            "customer": self.sb.customers[subscription["customer_id"]],
        }

    def invoice_retrieve(self, params, iid):
        return {"invoice": self.sb.get(self.sb.invoices, iid, "invoice")}

    def payment_source_retrieve(self, params, pid):
        return {"payment_source": self.sb.get(self.sb.payment_sources, pid, "payment_source")}

    def _paged(self, items: list[dict], params: dict, key: str) -> dict:
        limit = min(max(_int(params, "limit", 10), 1), 100)
        offset = _int(params, "offset", 0)
        page = items[offset : offset + limit]
        body: dict = {"list": [{key: item} for item in page]}
        if offset + limit < len(items):
            body["next_offset"] = str(offset + limit)
        return body

    def subscription_list(self, params):
        fields = ("status", "customer_id", "cancel_reason_code")
        items = [s for s in self.sb.subscriptions.values() if _matches_filters(s, params, fields)]
        body = self._paged(items, params, "subscription")
        for entry in body["list"]:
            entry["customer"] = self.sb.customers[entry["subscription"]["customer_id"]]
        return body

    def invoice_list(self, params):
        fields = ("status", "dunning_status", "customer_id", "subscription_id", "date")
        items = [i for i in self.sb.invoices.values() if _matches_filters(i, params, fields)]
        return self._paged(items, params, "invoice")

    def transaction_list(self, params):
        fields = ("customer_id", "subscription_id", "status", "type", "date")
        items = [t for t in self.sb.transactions.values() if _matches_filters(t, params, fields)]
        items.sort(
            key=lambda t: (t["date"], t["id"]), reverse=_one(params, "sort_by[desc]") == "date"
        )
        return self._paged(items, params, "transaction")

    def customer_transactions(self, params, cid):
        self.sb.get(self.sb.customers, cid, "customer")
        items = [t for t in self.sb.transactions.values() if t.get("customer_id") == cid]
        return self._paged(
            sorted(items, key=lambda t: t["date"], reverse=True), params, "transaction"
        )

    def invoice_payments(self, params, iid):
        invoice = self.sb.get(self.sb.invoices, iid, "invoice")
        txn_ids = [p["txn_id"] for p in invoice.get("linked_payments", [])]
        return self._paged([self.sb.transactions[t] for t in txn_ids], params, "transaction")

    def payment_source_list(self, params):
        fields = ("customer_id", "type", "status")
        items = [p for p in self.sb.payment_sources.values() if _matches_filters(p, params, fields)]
        return self._paged(items, params, "payment_source")

    def event_list(self, params):
        oldest_first = _one(params, "sort_by[asc]") == "occurred_at"
        if not (oldest_first and self.sb.events_in_order):
            fields = ("occurred_at", "event_type", "source", "id")
            items = [e for e in self.sb.events if _matches_filters(e, params, fields)]
            items.sort(key=lambda e: (e["occurred_at"], e["id"]), reverse=not oldest_first)
            return self._paged(items, params, "event")
        # The common backfill query, answered without scanning history: events are kept in
        # time order, so the start is a binary search and next_offset is a position.
        events, limit = self.sb.events, min(max(_int(params, "limit", 10), 1), 100)
        start = _int(params, "offset")
        if start is None:
            after = _int(params, "occurred_at[after]")
            start = (
                0
                if after is None
                else bisect.bisect_right(events, after, key=lambda e: e["occurred_at"])
            )
        fields = ("occurred_at", "event_type", "source", "id")
        page, position = [], start
        while position < len(events) and len(page) < limit:
            if _matches_filters(events[position], params, fields):
                page.append(events[position])
            position += 1
        body: dict = {"list": [{"event": event} for event in page]}
        if position < len(events):
            body["next_offset"] = str(position)
        return body

    def event_retrieve(self, params, eid):
        for event in self.sb.events:
            if event["id"] == eid:
                return {"event": event}
        raise SandboxError(
            404, "resource_not_found", f"Sorry, we couldn't find that resource: event {eid}"
        )

    def ticket_list(self, params):
        fields = ("customer_id", "created_at", "topic")
        items = [t for t in self.sb.tickets if _matches_filters(t, params, fields)]
        return self._paged(items, params, "ticket")

    def usage_list(self, params):
        customer_id = _one(params, "customer_id[is]")
        if not customer_id:
            raise SandboxError(
                400, "param_wrong_value", "customer_id[is] is required", param="customer_id[is]"
            )
        months = [
            m
            for m in self.sb.usage.get(customer_id, [])
            if _matches_filters(m, params, ("month_start",))
        ]
        return self._paged(months, params, "usage")

    # --- writes ------------------------------------------------------------------------
    def collect_payment(self, params, iid):
        invoice, txn = self.sb.charge(
            invoice_id=iid,
            amount=_int(params, "amount"),
            payment_source_id=_one(params, "payment_source_id"),
            source="api",
        )
        if _one(params, "comment"):
            self.sb.add_comment(entity_type="invoice", entity_id=iid, notes=_one(params, "comment"))
        if txn["status"] != "success":
            raise SandboxError(
                400,
                "payment_processing_failed",
                f"Payment declined: {txn['error_text']}",
                "payment",
            )
        return {"invoice": invoice, "transaction": txn}

    def record_payment(self, params, iid):
        amount = _int(params, "transaction[amount]")
        if amount is None:
            raise SandboxError(
                400,
                "param_wrong_value",
                "transaction[amount] cannot be blank",
                param="transaction[amount]",
            )
        invoice, txn = self.sb.record_payment(
            invoice_id=iid,
            amount=amount,
            payment_method=_one(params, "transaction[payment_method]", "other"),
            reference_number=_one(params, "transaction[reference_number]", ""),
            comment=_one(params, "comment", ""),
        )
        return {"invoice": invoice, "transaction": txn}

    def pause_dunning(self, params, iid):
        return {
            "invoice": self.sb.set_dunning(
                invoice_id=iid,
                action="pause",
                expected_payment_date=_int(params, "expected_payment_date"),
                comment=_one(params, "comment", ""),
            )
        }

    def resume_dunning(self, params, iid):
        return {
            "invoice": self.sb.set_dunning(
                invoice_id=iid, action="resume", comment=_one(params, "comment", "")
            )
        }

    def stop_dunning(self, params, iid):
        return {
            "invoice": self.sb.set_dunning(
                invoice_id=iid, action="stop", comment=_one(params, "comment", "")
            )
        }

    def _close(self, params, iid, action):
        invoice = self.sb.get(self.sb.invoices, iid, "invoice")
        if invoice["status"] not in ("payment_due", "posted", "not_paid"):
            raise SandboxError(
                409,
                "invalid_state_for_request",
                f"Invoice {iid} is {invoice['status']}: it cannot be closed that way",
            )
        amount = invoice["amount_due"]
        invoice = self.sb.close_invoice(invoice_id=iid, action=action, source="api")
        if _one(params, "comment"):
            self.sb.add_comment(entity_type="invoice", entity_id=iid, notes=_one(params, "comment"))
        if action == "void":
            return {"invoice": invoice}
        # Chargebee writes an invoice off with an adjustment credit note for what was due.
        credit_note = {
            "id": self.sb.new_id("cn"),
            "customer_id": invoice["customer_id"],
            "reference_invoice_id": iid,
            "type": "adjustment",
            "reason_code": "write_off",
            "status": "adjusted",
            "price_type": invoice["price_type"],
            "sub_total": amount,
            "total": amount,
            "deleted": False,
            "currency_code": invoice["currency_code"],
            "date": self.sb.now(),
            "object": "credit_note",
        }
        return {"invoice": invoice, "credit_note": credit_note}

    def write_off(self, params, iid):
        return self._close(params, iid, "write_off")

    def void_invoice(self, params, iid):
        return self._close(params, iid, "void")

    def cancel(self, params, sid):
        subscription = self.sb.get(self.sb.subscriptions, sid, "subscription")
        if subscription["status"] == "cancelled":
            raise SandboxError(
                409, "invalid_state_for_request", f"Subscription {sid} is already cancelled"
            )
        reason_code = _one(params, "cancel_reason_code")
        if reason_code and reason_code not in self.sb.cancel_reason_codes:
            raise SandboxError(
                400,
                "param_wrong_value",
                f"cancel_reason_code : {reason_code} is not a reason code configured on this site",
                param="cancel_reason_code",
            )
        subscription = self.sb.cancel_subscription(
            subscription_id=sid, source="api", reason_code=reason_code
        )
        return {
            "subscription": subscription,
            "customer": self.sb.customers[subscription["customer_id"]],
        }

    def comment_create(self, params):
        for key in ("entity_type", "entity_id", "notes"):
            if not _one(params, key):
                raise SandboxError(400, "param_wrong_value", f"{key} cannot be blank", param=key)
        return {
            "comment": self.sb.add_comment(
                entity_type=_one(params, "entity_type"),
                entity_id=_one(params, "entity_id"),
                notes=_one(params, "notes"),
                added_by=_one(params, "added_by", ""),
            )
        }

    def _hosted(self, params, kind):
        customer_id = _one(params, "customer[id]")
        if not customer_id:
            raise SandboxError(
                400, "param_wrong_value", "customer[id] cannot be blank", param="customer[id]"
            )
        return {
            "hosted_page": self.sb.hosted_page(
                kind=kind,
                customer_id=customer_id,
                redirect_url=_one(params, "redirect_url", ""),
                base_url=self.base_url(),
            )
        }

    def hosted_update_payment_method(self, params):
        return self._hosted(params, "update_payment_method")

    def hosted_collect_now(self, params):
        return self._hosted(params, "collect_now")

    # --- dispatch ----------------------------------------------------------------------
    # The operation each write route is (for the limits in sandbox/spec).
    OPERATIONS = {
        "collect_payment": "invoice.collect_payment",
        "record_payment": "invoice.record_payment",
        "pause_dunning": "invoice.pause_dunning",
        "resume_dunning": "invoice.resume_dunning",
        "stop_dunning": "invoice.stop_dunning",
        "write_off": "invoice.write_off",
        "void_invoice": "invoice.void_invoice",
        "cancel": "subscription.cancel_for_items",
        "comment_create": "comment.create",
        "hosted_collect_now": "hosted_page.collect_now",
        "hosted_update_payment_method": "hosted_page.update_payment_method",
        "endpoint_create": "webhook_endpoint.create",
        "endpoint_update": "webhook_endpoint.update",
    }

    def handle(self, method: str, path: str, params: dict, headers: dict) -> tuple[int, dict, dict]:
        auth = headers.get("authorization", "")
        try:
            key = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":", 1)[0] if auth else ""
        except (ValueError, IndexError):
            key = ""
        with self.sb.lock:
            self.sb.request_log.append((method, path))
            try:
                if not self.sb.site_found:
                    raise SandboxError(
                        404, "site_not_found", f"Sorry, the site {self.sb.site} is not found"
                    )
                if key != self.sb.api_key:
                    raise SandboxError(
                        401,
                        "api_authentication_failed",
                        "Sorry, authentication failed. Invalid api key",
                        "untyped",
                    )
                if path in self.sb.refusals:
                    raise self.sb.refusals.pop(path)
                if self.sb.injected_failures:
                    _status, failure = self.sb.injected_failures.pop(0)
                    raise failure["error"]
                idempotency_key = headers.get("chargebee-idempotency-key")
                if method == "POST" and idempotency_key:
                    cached = self.sb.idempotent_responses.get((path, idempotency_key))
                    if cached:
                        return cached[0], cached[1], {"chargebee-idempotency-replayed": "true"}
                for route_method, pattern, view in self.routes:
                    match = pattern.match(path)
                    if route_method == method and match:
                        try:
                            operation = self.OPERATIONS.get(getattr(view, "__name__", ""))
                            if operation:
                                params_within_limits(operation, params)
                            body = view(params, *match.groups())
                            status = 200
                        except SandboxError as error:
                            if not (method == "POST" and idempotency_key):
                                raise
                            status, body = error.status, error.body
                        if method == "POST" and idempotency_key:
                            self.sb.idempotent_responses[(path, idempotency_key)] = (status, body)
                        return status, body, {}
                raise SandboxError(404, "resource_not_found", f"No such route: {method} {path}")
            except SandboxError as error:
                return error.status, error.body, error.headers


class _Handler(BaseHTTPRequestHandler):
    api: SandboxAPI
    protocol_version = "HTTP/1.1"
    # Without it, a reused connection waits ~40 ms on Nagle + delayed ACK per request.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        logger.debug(format, *args)

    def _respond(self, status: int, body: dict, headers: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params.update(card_updater.json_params(raw))  # the card updater's requests
            else:
                params.update(parse_qs(raw, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body, extra = self.api.handle(method, parts.path, params, headers)
        self._respond(status, body, extra)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")


class SandboxServer:
    """Run a sandbox on 127.0.0.1 in a background thread."""

    def __init__(self, sandbox: Sandbox | None = None, *, port: int = 0):
        self.sandbox = sandbox or Sandbox()
        self.api = api = SandboxAPI(self.sandbox, lambda: self.url)
        handler = type("SandboxHandler", (_Handler,), {"api": api})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    def add_route(self, method: str, path: str, view: Callable[[dict], dict]) -> None:
        """Serve an extra endpoint (the standalone sandbox's control routes)."""
        self.api.routes.append((method, re.compile(f"^{re.escape(path)}$"), view))

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="chargebee-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
