"""Background jobs of the storefront: order, account and dealer e-mails."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task

from storefront.account_adapter import message_from_payload
from storefront.dealer_emails import dealer_decision_email_deliver
from storefront.emails import order_email_deliver


@shared_task(
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=60 * 60,
    retry_jitter=True,
    max_retries=12,
    time_limit=120,
)
def order_email_send(event_id: int) -> str:
    """Send the e-mail of one outbox event; retried with backoff while the mail
    server fails (about a day in all); sending again is a no-op."""
    return order_email_deliver(event_id)


@shared_task(
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=60 * 60,
    retry_jitter=True,
    max_retries=12,
    time_limit=120,
)
def account_email_send(payload: dict[str, Any]) -> str:
    """Send an account e-mail (sign-up, password reset…) the mail server refused at first."""
    message_from_payload(payload).send()
    return "sent"


@shared_task(
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=60 * 60,
    retry_jitter=True,
    max_retries=12,
    time_limit=120,
)
def dealer_decision_email_send(application_id: int) -> str:
    """Send the decision e-mail of one application; retried with backoff while the
    mail server fails (about a day in all); sending again is a no-op."""
    return dealer_decision_email_deliver(application_id)
