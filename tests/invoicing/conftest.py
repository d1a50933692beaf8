"""Paid demo orders to invoice, and the official EN 16931 validation."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from orders.cart import CheckoutAddress
from orders.models import Order
from payments.services import checkout_complete, payment_confirm_received
from tests.payments.helpers import BERLIN, cart_of, shipped

# The official EN 16931 artefacts: beside the project, or where EN16931_VALIDATION_DIR says.
EINVOICE_DIR = Path(
    os.environ.get("EN16931_VALIDATION_DIR")
    or Path(settings.BASE_DIR).parent / "shared" / "einvoice"
)
STYLESHEET = EINVOICE_DIR / "EN16931-UBL-validation.xslt"

ISTANBUL = CheckoutAddress(
    first_name="Ayşe",
    last_name="Yılmaz",
    email="ayse@example.com",
    line1="İstiklal Caddesi 1",
    city="İstanbul",
    district="Beyoğlu",
    postal_code="34430",
    country="TR",
)
MUNICH_COMPANY = CheckoutAddress(
    first_name="Max",
    last_name="Huber",
    email="einkauf@huber.example",
    company="Huber Handels GmbH",
    vat_number="DE136695976",
    line1="Marienplatz 8",
    city="München",
    postal_code="80331",
    country="DE",
)


@pytest.fixture(autouse=True)
def _invoicing_demo(checkout_shop: object) -> None:
    """The demo's invoicing settings: the Turkish seller sends through the sandbox."""
    from invoicing.demo import invoicing_demo_setup

    invoicing_demo_setup()


def paid_order(
    items: dict[str, int] | None = None,
    address: CheckoutAddress = BERLIN,
    *,
    market: str = "eu",
    language: str = "de",
) -> Order:
    cart = shipped(cart_of(items or {"KRV-TEE-M": 2}, market=market, language=language), address)
    order = checkout_complete(cart=cart, payment_method_code="bank-transfer").order
    payment_confirm_received(order=order, by="admin")
    order.refresh_from_db()
    return order


@pytest.fixture
def german_order(checkout_shop) -> Order:
    return paid_order()


@pytest.fixture
def turkish_order(checkout_shop) -> Order:
    return paid_order({"KRV-TEE-M": 1}, ISTANBUL, market="tr", language="tr")


@pytest.fixture(scope="session")
def en16931() -> Callable[[str], list[tuple[str, str]]]:
    """Validate UBL XML with the official EN 16931 stylesheet: (rule id, text) of every
    fatal failed assertion. Where the stylesheet is absent, the call skips the rest of
    the test (so put it last) and says why."""
    compiled: list[object] = []

    def fatal(xml: str) -> list[tuple[str, str]]:
        if not STYLESHEET.is_file():
            pytest.skip(f"The EN 16931 validation artefacts are not here ({EINVOICE_DIR}).")
        from saxonche import PySaxonProcessor

        if not compiled:
            processor = PySaxonProcessor(license=False)
            stylesheet = processor.new_xslt30_processor().compile_stylesheet(
                stylesheet_file=str(STYLESHEET)
            )
            compiled.extend([processor, stylesheet])
        processor, stylesheet = compiled
        node = processor.parse_xml(xml_text=xml)  # type: ignore[attr-defined]
        report = stylesheet.transform_to_string(xdm_node=node)  # type: ignore[attr-defined]
        failures = re.findall(
            r'<svrl:failed-assert[^>]*?flag="fatal"[^>]*>.*?</svrl:failed-assert>', report, re.S
        )
        return [
            (
                (re.search(r'id="([^"]+)"', failure) or re.search("()", "")).group(1),
                re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", failure)).strip()[:300],
            )
            for failure in failures
        ]

    return fatal
