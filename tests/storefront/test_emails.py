"""Order e-mails: in the order's language and money format, HTML with a plain-text
part, sent once per order event after the commit, through Celery."""

from __future__ import annotations

import smtplib
import time

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from orders.models import OutboxEvent
from orders.services import outbox_drain, shipment_create
from payments.refunds import RefundRequest, order_refund
from payments.services import checkout_complete, order_payment_cancel, payment_confirm_received
from storefront.emails import order_email, order_email_deliver
from storefront.models import SentEmail
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")

ISTANBUL = BERLIN.__class__(
    first_name="Ayşe",
    last_name="Yılmaz",
    email="ayse@example.com",
    line1="İstiklal Caddesi 1",
    city="İstanbul",
    district="Beyoğlu",
    postal_code="34430",
    country="TR",
)


class FailingSMTP(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("the mail server went away")


def german_order(method: str = "bank-transfer"):
    cart = shipped(cart_of({"KRV-TEE-M": 2}), BERLIN)
    return checkout_complete(cart=cart, payment_method_code=method).order


def turkish_order():
    cart = shipped(cart_of({"KRV-TEE-M": 1}, market="tr", language="tr"), ISTANBUL)
    return checkout_complete(cart=cart, payment_method_code="bank-transfer").order


def event_of(order, kind: str) -> OutboxEvent:
    return OutboxEvent.objects.filter(order=order, kind=kind).latest("pk")


def parts(message) -> tuple[str, str]:
    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def test_a_german_order_received_mail_has_the_bank_details_in_german():
    order = german_order()

    assert order_email_deliver(event_of(order, "order.placed").pk) == "sent"

    (message,) = mail.outbox
    text, html = parts(message)
    assert message.to == ["erika@example.com"]
    assert message.subject == f"Wir haben Ihre Bestellung {order.number} erhalten"
    total = f"{order.total_gross:.2f}".replace(".", ",") + "\xa0€"
    for body in (text, html):
        assert "Hallo Erika," in body and total in body and "59,80\xa0€" in body
        assert "NL" in body and order.number in body  # IBAN and reference
        assert f"/de-de/order/{order.number}/?key=" in body
    assert "<table" in html and "<table" not in text


def test_a_turkish_order_mail_is_turkish_with_lira_written_the_turkish_way():
    order = turkish_order()

    order_email_deliver(event_of(order, "order.placed").pk)

    (message,) = mail.outbox
    text, html = parts(message)
    assert message.subject == f"{order.number} numaralı siparişinizi aldık"
    assert "Merhaba Ayşe," in text and "999,90\xa0₺" in text
    assert 'lang="tr"' in html and "/tr-tr/order/" in html


def test_each_order_step_mails_the_shopper_once(client):
    order = german_order()
    payment_confirm_received(order=order, by="admin")
    line = order.lines.get()
    shipment_create(
        order=order,
        lines={line.pk: 2},
        method_id=order.shipping_method_id,
        tracking_number="00340434161094042557",
        carrier="DHL",
        by="admin",
    )
    order_refund(
        order=order,
        request=RefundRequest(lines={line.pk: 1}, reference="SEPA-1"),
        key="r1",
        by="admin",
    )
    events = OutboxEvent.objects.filter(order=order).order_by("pk")

    for event in events:
        order_email_deliver(event.pk)
        order_email_deliver(event.pk)  # a retried task sends nothing more

    subjects = [message.subject for message in mail.outbox]
    assert subjects == [
        f"Wir haben Ihre Bestellung {order.number} erhalten",
        f"Zahlung für Bestellung {order.number} erhalten",
        f"Ihre Bestellung {order.number} ist unterwegs",
        f"Erstattung für Ihre Bestellung {order.number}",
    ]
    shipped_text, shipped_html = parts(mail.outbox[2])
    assert "DHL" in shipped_text and "00340434161094042557" in shipped_text
    assert 'href="https://' in shipped_html  # the carrier's tracking link
    assert "29,90\xa0€" in parts(mail.outbox[3])[0]
    assert SentEmail.objects.filter(order=order).count() == 4


def test_a_cancelled_order_is_mailed():
    order = german_order()
    order_payment_cancel(order=order, by="admin")

    order_email_deliver(event_of(order, "order.cancelled").pk)

    assert mail.outbox[-1].subject == f"Ihre Bestellung {order.number} ist storniert"


def test_a_mail_server_failure_sends_nothing_and_the_retry_sends_it(settings):
    order = german_order()
    event = event_of(order, "order.placed")
    settings.EMAIL_BACKEND = "tests.storefront.test_emails.FailingSMTP"

    with pytest.raises(smtplib.SMTPException):
        order_email_deliver(event.pk)
    assert not SentEmail.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert order_email_deliver(event.pk) == "sent"
    assert len(mail.outbox) == 1


def test_the_retry_policy_of_the_task_covers_mail_server_errors():
    from storefront.tasks import order_email_send

    assert smtplib.SMTPException in order_email_send.autoretry_for
    assert order_email_send.max_retries >= 10 and order_email_send.acks_late


def test_an_order_without_an_address_is_not_mailed():
    order = german_order()
    type(order).objects.filter(pk=order.pk).update(email="")

    assert order_email(event_of(order, "order.placed")) is None
    assert order_email_deliver(event_of(order, "order.placed").pk) == "no address"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_outbox_hands_order_mails_to_a_real_worker(celery_worker):
    order = german_order()

    assert outbox_drain() >= 1

    deadline = time.monotonic() + 20
    while not SentEmail.objects.filter(order=order).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert SentEmail.objects.filter(order=order, kind="order.placed").count() == 1
    assert any(order.number in message.subject for message in mail.outbox)
    assert not OutboxEvent.objects.filter(order=order, processed_at__isnull=True).exists()


def test_support_finds_the_mails_of_an_order_in_the_admin(admin_client):
    order = german_order()
    order_email_deliver(event_of(order, "order.placed").pk)

    page = admin_client.get(f"/admin/storefront/sentemail/?q={order.number}")

    assert page.status_code == 200 and "erika@example.com" in page.content.decode()
