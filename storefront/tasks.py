"""Background jobs of the storefront: order e-mails."""

from __future__ import annotations

import smtplib

from celery import shared_task

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
