"""Proforma invoices: from an order in the admin, from a cart at the checkout's
review; never numbered, typed 325 in UBL."""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.test import Client
from pypdf import PdfReader

from invoicing.models import DocumentKind, Invoice
from orders.models import Cart
from tests.invoicing.test_ubl import text
from tests.payments.helpers import BERLIN
from tests.storefront.test_checkout_pages import add_to_cart, choose


def shopper_at_review() -> Client:
    client = Client()
    add_to_cart(client, "de-de", quantity=2)
    client.post("/de-de/checkout/", {**vars(BERLIN)})
    choose(client, "/de-de/checkout/shipping/", "shipping_method")
    choose(client, "/de-de/checkout/payment/", "payment_method")
    return client


def test_the_shopper_downloads_a_proforma_of_the_cart_at_the_review(checkout_shop, en16931):
    client = shopper_at_review()
    review = client.get("/de-de/checkout/review/").content.decode()
    assert 'href="/de-de/checkout/proforma/"' in review

    first = client.get("/de-de/checkout/proforma/")
    again = client.get("/de-de/checkout/proforma/")

    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    text_of_pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(first.content)).pages)
    assert "Proformarechnung" in text_of_pdf and "Erika Mustermann" in text_of_pdf
    proforma = Invoice.objects.get()  # the same cart gives the same proforma back
    assert again.status_code == 200
    assert (proforma.kind, proforma.number, proforma.order) == (DocumentKind.PROFORMA, "", None)
    assert proforma.tax_inclusive > 0 and proforma.payable == proforma.tax_inclusive
    assert text(proforma.xml, "/inv:Invoice/cbc:InvoiceTypeCode") == ["325"]
    assert en16931(proforma.xml) == []


def test_a_cart_without_shipping_gets_no_proforma(checkout_shop):
    client = Client()
    add_to_cart(client, "de-de")

    response = client.get("/de-de/checkout/proforma/")

    assert response.status_code == 302 and not Invoice.objects.exists()


def test_the_merchant_makes_a_proforma_of_a_cart(checkout_shop):
    shopper_at_review()
    merchant = Client()
    merchant.force_login(get_user_model().objects.create_superuser(username="merchant"))

    response = merchant.post(
        "/admin/invoicing/invoice/issue/", {"cart": Cart.objects.get().pk, "kind": "proforma"}
    )

    assert response.status_code == 302
    assert Invoice.objects.get().kind == DocumentKind.PROFORMA
