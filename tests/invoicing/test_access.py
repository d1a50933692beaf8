"""Invoices in the admin (list, downloads, issuing, credit notes) and in the
customer's account."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from invoicing.models import DocumentKind, Invoice
from invoicing.services import invoice_issue
from orders.models import Order
from storefront.accounts import customer_of

INVOICES = "/admin/invoicing/invoice/"


@pytest.fixture
def merchant() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="merchant"))
    return client


def test_the_list_shows_series_status_and_downloads(merchant: Client, german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")

    page = merchant.get(INVOICES)

    html = page.content.decode()
    assert page.status_code == 200 and invoice.number in html and german_order.number in html
    assert merchant.get(f"{INVOICES}{invoice.pk}/pdf/").content.startswith(b"%PDF")
    xml = merchant.get(f"{INVOICES}{invoice.pk}/xml/")
    assert (
        xml["Content-Type"].startswith("application/xml") and invoice.number in xml.content.decode()
    )
    assert merchant.get(f"{INVOICES}{invoice.pk}/change/").status_code == 200


def test_the_merchant_issues_an_invoice_and_a_proforma_by_order_number(
    merchant: Client, german_order: Order
):
    issued = merchant.post(f"{INVOICES}issue/", {"order": german_order.number, "kind": "invoice"})
    proforma = merchant.post(
        f"{INVOICES}issue/", {"order": german_order.number, "kind": "proforma"}
    )

    assert issued.status_code == 302 and proforma.status_code == 302
    invoice = Invoice.objects.get(order=german_order, kind=DocumentKind.INVOICE)
    made = Invoice.objects.get(order=german_order, kind=DocumentKind.PROFORMA)
    assert invoice.number and made.number == "" and made.payable == german_order.total_gross
    assert made.display_number == f"PF-{german_order.number}"


def test_an_unknown_order_is_explained_and_nothing_is_issued(merchant: Client, checkout_shop):
    page = merchant.post(f"{INVOICES}issue/", {"order": "KRV-1999-000001", "kind": "invoice"})

    assert (
        page.status_code == 200 and "There is no order with this number." in page.content.decode()
    )
    assert not Invoice.objects.exists()


def test_crediting_in_full_from_the_list_makes_one_credit_note(
    merchant: Client, german_order: Order
):
    invoice = invoice_issue(order=german_order, by="test")

    for _click in range(2):
        merchant.post(INVOICES, {"action": "credit_in_full", "_selected_action": [invoice.pk]})

    note = Invoice.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert note.credited_id == invoice.pk and note.tax_inclusive == invoice.tax_inclusive


def test_the_customer_downloads_their_invoice_and_nobody_else_can(german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")
    owner = customer_of(
        get_user_model().objects.create_user("erika", "erika@example.com", "x"), "de"
    )
    Order.objects.filter(pk=german_order.pk).update(customer=owner)
    stranger = customer_of(
        get_user_model().objects.create_user("max", "max@example.com", "x"), "de"
    )
    mine, theirs = Client(), Client()
    mine.force_login(owner.user)
    theirs.force_login(stranger.user)
    url = f"/accounts/orders/{german_order.number}/documents/{invoice.pk}/"

    page = mine.get(f"/accounts/orders/{german_order.number}/")
    download = mine.get(url)

    assert url in page.content.decode()
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in download["Content-Disposition"]
    assert theirs.get(url).status_code == 404


def test_the_list_shows_what_credit_notes_gave_back(merchant: Client, german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")
    merchant.post(INVOICES, {"action": "credit_in_full", "_selected_action": [invoice.pk]})

    page = merchant.get(f"{INVOICES}?kind__exact=invoice")

    assert page.status_code == 200 and "in full" in page.content.decode()


def test_an_e_invoice_not_yet_accepted_is_cancelled_at_the_provider(
    merchant: Client, turkish_order: Order
):
    from invoicing import einvoice
    from invoicing.models import EInvoiceStatus

    invoice = invoice_issue(order=turkish_order, by="test")
    einvoice.e_invoice_send(invoice.pk)

    response = merchant.post(
        INVOICES, {"action": "cancel_at_provider", "_selected_action": [invoice.pk]}, follow=True
    )

    invoice.refresh_from_db()
    assert invoice.e_status == EInvoiceStatus.CANCELLED
    assert f"{invoice.number} is cancelled at the provider." in response.content.decode()
