"""Documents made by order events through Celery, and the e-invoice exchange with the
provider (the local sandbox)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import override_settings

from invoicing import einvoice
from invoicing.handlers import documents_due
from invoicing.models import DocumentKind, EInvoiceStatus, Invoice, IssueOn, MarketInvoicing
from invoicing.providers import PROVIDERS, ProviderStatus, ProviderUnavailable, SandboxProvider
from invoicing.services import credit_note_for_cancellation, invoice_issue
from invoicing.tasks import credit_note_task, invoice_issue_task
from orders.models import Order, OutboxEvent
from orders.services import order_cancel, outbox_drain, shipment_create
from payments.refunds import RefundRequest, order_refund
from tests.invoicing.conftest import paid_order


def wait_for(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_payment_and_refund_make_invoice_and_credit_note_through_a_real_worker(
    checkout_shop, celery_worker
):
    order = paid_order()
    outbox_drain()
    wait_for(lambda: Invoice.objects.filter(order=order).exists())
    invoice = Invoice.objects.get(order=order)
    assert invoice.kind == DocumentKind.INVOICE and invoice.tax_inclusive == order.total_gross

    line = order.lines.get()
    order_refund(
        order=order,
        request=RefundRequest(lines={line.pk: 1}, reference="SEPA-1"),
        key="refund-1",
        by="admin",
    )
    outbox_drain()
    wait_for(lambda: Invoice.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE).exists())

    note = Invoice.objects.get(order=order, kind=DocumentKind.CREDIT_NOTE)
    assert note.credited_id == invoice.pk and note.tax_inclusive == Decimal("29.90")
    (credited,) = note.lines.all()
    assert (credited.sku, credited.quantity) == ("KRV-TEE-M", 1)
    # Running the tasks of the same events again (a redelivery) changes nothing
    tasks = {"invoice": invoice_issue_task, "credit_note": credit_note_task}
    for event in OutboxEvent.objects.filter(order=order):
        for name, args in documents_due(event):
            tasks[name].apply(args=args).get()
    assert Invoice.objects.filter(order=order).count() == 2


def test_a_market_invoicing_on_shipment_waits_for_the_parcel(checkout_shop):
    order = paid_order()
    MarketInvoicing.objects.create(market_id=order.market_id, issue_on=IssueOn.SHIPMENT)
    paid = OutboxEvent.objects.get(order=order, kind="order.paid")
    assert documents_due(paid) == []

    shipment_create(
        order=order,
        lines={order.lines.get().pk: 2},
        method_id=order.shipping_method_id,
        tracking_number="1Z999",
        by="admin",
    )

    shipped = OutboxEvent.objects.get(order=order, kind="order.shipped")
    assert documents_due(shipped) == [("invoice", (order.pk,))]


def test_a_cancelled_invoiced_order_is_credited_in_full_once(german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")
    order_cancel(order=german_order, by="admin")

    note = credit_note_for_cancellation(order=german_order, by="test")
    again = credit_note_for_cancellation(order=german_order, by="test")

    assert note is not None and again is not None and note.pk == again.pk
    assert note.tax_inclusive == invoice.tax_inclusive and note.credited_id == invoice.pk
    assert [line.quantity for line in note.lines.all()] == [2]


# --- E-invoices ---------------------------------------------------------------------------------


@override_settings(EINVOICE_SANDBOX_DELAY_SECONDS=0)
def test_the_sandbox_accepts_a_turkish_e_invoice_and_every_step_is_recorded(turkish_order: Order):
    invoice = invoice_issue(order=turkish_order, by="test")
    assert invoice.e_status == EInvoiceStatus.PENDING and invoice.e_provider == "sandbox"

    assert einvoice.e_invoice_send(invoice.pk) == EInvoiceStatus.SENT
    assert einvoice.e_invoice_send(invoice.pk) == EInvoiceStatus.SENT  # sent once
    assert einvoice.e_invoice_poll(invoice.pk) == EInvoiceStatus.ACCEPTED

    invoice.refresh_from_db()
    assert (invoice.e_status, invoice.e_attempts) == (EInvoiceStatus.ACCEPTED, 1)
    assert invoice.e_reference == str(invoice.uuid)
    assert list(invoice.e_events.values_list("action", "outcome")) == [
        ("send", "sent"),
        ("status", "accepted"),
    ]
    assert SandboxProvider().official_pdf(invoice).startswith(b"%PDF")


class DownProvider(SandboxProvider):
    code = "down"
    name = "Unreachable"

    def send(self, document: Invoice) -> ProviderStatus:
        raise ProviderUnavailable("Connection refused by the provider")


def test_a_provider_outage_keeps_the_document_and_shows_why(turkish_order: Order, monkeypatch):
    monkeypatch.setitem(PROVIDERS, "down", DownProvider)
    invoice = invoice_issue(order=turkish_order, by="test")
    Invoice.objects.filter(pk=invoice.pk).update(e_provider="down")

    with pytest.raises(ProviderUnavailable):
        einvoice.e_invoice_send(invoice.pk)

    invoice.refresh_from_db()
    assert (invoice.e_status, invoice.e_attempts) == (EInvoiceStatus.FAILED, 1)
    assert "Connection refused" in invoice.e_message and invoice.xml
    assert invoice.e_events.get().outcome == "failed"
    # Once the provider is back, the retry sends it
    Invoice.objects.filter(pk=invoice.pk).update(e_provider="sandbox")
    assert einvoice.e_invoice_send(invoice.pk) == EInvoiceStatus.SENT


@override_settings(EINVOICE_SANDBOX_DELAY_SECONDS=0)
def test_the_sandbox_rejects_a_number_outside_the_gib_pattern(turkish_order: Order):
    invoice = invoice_issue(order=turkish_order, by="test")
    Invoice.objects.filter(pk=invoice.pk).update(
        xml=invoice.xml.replace(invoice.number, "KRV-2026-1")
    )

    einvoice.e_invoice_send(invoice.pk)
    assert einvoice.e_invoice_poll(invoice.pk) == EInvoiceStatus.REJECTED

    invoice.refresh_from_db()
    assert "GİB pattern" in invoice.e_message


def test_a_german_invoice_is_not_sent_anywhere_without_a_provider(german_order: Order):
    invoice = invoice_issue(order=german_order, by="test")

    assert invoice.e_status == EInvoiceStatus.NONE
    assert einvoice.e_invoice_send(invoice.pk) == "nothing to send"
