"""The quote when tax services fail or are slow: a Stripe Tax outage is a problem of the
quote (never an exception), and VIES is asked once per number, not on every quote."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from django.test import override_settings

from orders.cart import CheckoutAddress
from orders.errors import OrderNotPlaceable
from orders.quote import cart_quote
from payments.selectors import checkout_quote, payment_methods_for
from payments.services import cart_payment_method_set, checkout_complete
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")

PARIS_COMPANY = CheckoutAddress(
    first_name="Marie",
    last_name="Curie",
    email="achats@example.fr",
    company="Exemple SA",
    vat_number="FR40303265045",
    line1="1 rue de Rivoli",
    city="Paris",
    postal_code="75001",
    country="FR",
)


@dataclass
class FakeServices:
    url: str
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def services() -> Iterator[FakeServices]:
    """A local server: VIES's REST API says every number is registered; Stripe Tax is down."""
    state = FakeServices(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.paths.append(self.path)
            if self.path == "/vies/check-vat-number":
                query = json.loads(body)
                status, answer = 200, {**query, "valid": True, "name": "---", "address": "---"}
            else:
                status, answer = (
                    503,
                    {"error": {"type": "api_error", "message": "Service unavailable"}},
                )
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Stripe-Should-Retry", "false")
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_a_tax_engine_outage_is_a_problem_of_the_quote(
    services: FakeServices, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    cart = shipped(cart_of({"KRV-TEE-M": 1}), BERLIN)
    monkeypatch.setattr(stripe, "api_base", stripe.api_base)  # restored after the test
    caplog.set_level(logging.ERROR)

    with override_settings(
        TAX_ENGINE="stripe", STRIPE_SECRET_KEY="sk_test_kervan", STRIPE_API_BASE=services.url
    ):
        quote = cart_quote(cart=cart)
        methods = payment_methods_for(cart=cart)
        with pytest.raises(OrderNotPlaceable) as caught:
            checkout_complete(cart=cart, payment_method_code="bank-transfer")

    assert "/v1/tax/calculations" in services.paths
    assert quote.problem_codes() == ["tax_unavailable"]
    assert "nicht berechnet" in quote.problems[0].message  # in the cart's language
    assert methods  # the page still lists the methods
    assert [p.code for p in caught.value.problems] == ["tax_unavailable"]
    assert f"Tax engine unavailable for cart {cart.pk}" in caplog.text


def test_vies_is_asked_once_per_number_during_a_checkout(services: FakeServices):
    cart = cart_of({"KRV-TEE-M": 1})
    with override_settings(VIES_CHECK_ENABLED=True, VIES_API_URL=f"{services.url}/vies"):
        shipped(cart, PARIS_COMPANY)
        cart_payment_method_set(cart=cart, code="bank-transfer")
        quote = checkout_quote(cart=cart)
        order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order

    assert quote.reverse_charge
    assert order.reverse_charge
    assert services.paths.count("/vies/check-vat-number") == 1
