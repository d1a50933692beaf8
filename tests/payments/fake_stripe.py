"""A local stand-in for the part of Stripe's HTTP API the shop calls.

It speaks Stripe's wire format (form-encoded requests with bracketed keys,
JSON answers, errors under ``error``, ``Idempotency-Key`` replays, bearer
secret keys), so the real ``stripe`` client talks to it unchanged. It
implements the PaymentIntent (create, retrieve, cancel) and Refund (create)
endpoints, and helps tests play the part of the shopper's bank: a payment
succeeds or fails, and the webhook event Stripe would send is built and
signed the way Stripe signs it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_kervan"
PUBLISHABLE_KEY = "pk_test_kervan"
WEBHOOK_SECRET = "whsec_kervan"


def form_decode(body: str) -> dict[str, Any]:
    """``metadata[order]=K1&amount=100`` → ``{"metadata": {"order": "K1"}, "amount": "100"}``."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


def signature_header(
    payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    """The ``Stripe-Signature`` header: ``t=<unix time>,v1=<HMAC-SHA256 of "t.payload">``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


class StripeError(Exception):
    def __init__(self, status: int, kind: str, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.code = status, kind, message, code


@dataclass
class FakeStripe:
    url: str = ""
    secret_key: str = SECRET_KEY
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer next
    _replays: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):08d}kervan"

    # What the tests make happen at the shopper's bank.

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """The shopper paid: the intent succeeds with a charge; returns the intent."""
        intent = self.intents[intent_id]
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=self._id("ch"),
            last_payment_error=None,
        )
        return json.loads(json.dumps(intent))

    def fail(self, intent_id: str, message: str = "Your card was declined.") -> dict[str, Any]:
        intent = self.intents[intent_id]
        intent.update(
            status="requires_payment_method",
            last_payment_error={"code": "card_declined", "message": message},
        )
        return json.loads(json.dumps(intent))

    def event(self, kind: str, data: dict[str, Any], *, created: int | None = None) -> str:
        """A webhook event's body, as Stripe posts it."""
        return json.dumps(
            {
                "id": self._id("evt"),
                "object": "event",
                "api_version": "2025-01-27.acacia",
                "created": int(time.time()) if created is None else created,
                "livemode": False,
                "pending_webhooks": 1,
                "type": kind,
                "data": {"object": data},
            }
        )

    def charge(self, intent_id: str, *, refunded: int = 0) -> dict[str, Any]:
        intent = self.intents[intent_id]
        return {
            "id": intent["latest_charge"] or self._id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": refunded,
            "currency": intent["currency"],
            "payment_intent": intent_id,
            "refunded": refunded >= intent["amount"],
        }

    # The HTTP API.

    def handle(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((method, path, params, headers))
            if self.fail_next:
                status = self.fail_next.pop(0)
                raise StripeError(status, "api_error", "Something went wrong on Stripe's end.")
            if headers.get("authorization") != f"Bearer {self.secret_key}":
                raise StripeError(401, "invalid_request_error", "Invalid API Key provided.")
            key = headers.get("idempotency-key")
            if method == "POST" and key:
                replay = self._replays.get(key)
                fingerprint = json.dumps([path, params], sort_keys=True)
                if replay is not None:
                    if replay[0] != fingerprint:
                        raise StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        )
                    return replay[1], replay[2]
                status, answer = self._route(method, path, params)
                self._replays[key] = (fingerprint, status, answer)
                return status, answer
            return self._route(method, path, params)

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/payment_intents":
            return 200, self._intent_create(params)
        match = re.fullmatch(r"/v1/payment_intents/([\w]+)(/cancel)?", path)
        if match:
            intent = self.intents.get(match.group(1))
            if intent is None:
                raise StripeError(
                    404,
                    "invalid_request_error",
                    f"No such payment_intent: '{match.group(1)}'",
                    "resource_missing",
                )
            if match.group(2) and method == "POST":
                return 200, self._intent_cancel(intent)
            if method == "GET":
                return 200, intent
        if method == "POST" and path == "/v1/refunds":
            return 200, self._refund_create(params)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({path}).")

    def _intent_create(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = params.get("amount", "")
        currency = params.get("currency", "")
        if not amount.isdigit() or int(amount) < 1:
            raise StripeError(
                400,
                "invalid_request_error",
                "Invalid positive integer",
                "parameter_invalid_integer",
            )
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeError(400, "invalid_request_error", "Invalid currency", "parameter_invalid")
        intent_id = self._id("pi")
        secret = hashlib.sha256(intent_id.encode()).hexdigest()[:16]
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(amount),
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secret}",
            "metadata": params.get("metadata", {}),
            "description": params.get("description"),
            "receipt_email": params.get("receipt_email"),
            "automatic_payment_methods": {"enabled": True},
            "latest_charge": None,
            "last_payment_error": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        return intent

    def _intent_cancel(self, intent: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] in {"succeeded", "canceled"}:
            raise StripeError(
                400,
                "invalid_request_error",
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                "payment_intent_unexpected_state",
            )
        intent["status"] = "canceled"
        return intent

    def _refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            raise StripeError(
                400,
                "invalid_request_error",
                "This PaymentIntent does not have a successful charge to refund.",
                "charge_not_refundable",
            )
        refunded = sum(
            refund["amount"]
            for refund in self.refunds.values()
            if refund["payment_intent"] == intent["id"]
        )
        remaining = intent["amount_received"] - refunded
        amount = int(params["amount"]) if "amount" in params else remaining
        if amount < 1 or amount > remaining:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                "amount_too_large",
            )
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "charge": intent["latest_charge"],
            "payment_intent": intent["id"],
            "metadata": params.get("metadata", {}),
            "reason": params.get("reason"),
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return refund


@contextmanager
def fake_stripe_server() -> Iterator[FakeStripe]:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            params = form_decode(body if method == "POST" else query)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                status, answer = fake.handle(method, path, params, headers)
            except StripeError as error:
                status = error.status
                answer = {"error": {"type": error.kind, "message": error.message}}
                if error.code:
                    answer["error"]["code"] = error.code
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{len(fake.requests)}")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
