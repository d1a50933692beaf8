"""Background jobs of the storefront: order, account and dealer e-mails."""

from __future__ import annotations

import smtplib
from typing import Any

from shop.tasks import retrying_task
from storefront.account_adapter import message_from_payload
from storefront.dealer_emails import dealer_decision_email_deliver
from storefront.emails import order_email_deliver


@retrying_task(smtplib.SMTPException, OSError)
def order_email_send(event_id: int) -> str:
    """Send the e-mail of one outbox event; retried with backoff while the mail
    server fails (about a day in all); sending again is a no-op."""
    return order_email_deliver(event_id)


@retrying_task(smtplib.SMTPException, OSError)
def account_email_send(payload: dict[str, Any]) -> str:
    """Send an account e-mail (sign-up, password reset…) the mail server refused at first."""
    message_from_payload(payload).send()
    return "sent"


@retrying_task(smtplib.SMTPException, OSError)
def dealer_decision_email_send(application_id: int) -> str:
    """Send the decision e-mail of one application; retried with backoff while the
    mail server fails (about a day in all); sending again is a no-op."""
    return dealer_decision_email_deliver(application_id)
