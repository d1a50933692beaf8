"""How django-allauth's e-mails look and leave: in the shop's name and colours,
with an HTML part, and never lost when the mail server is down.

allauth writes its messages as plain text in the page's language (its own
translations). Each is sent with an HTML part in the shop's e-mail layout,
the shop's name where allauth would name the host, and links made clickable.
When the mail server cannot be reached, the sign-up or password reset still
goes on and a Celery task sends the message later, with retries.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.html import linebreaks, urlize
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopSite:
    """What allauth's templates call ``current_site``: the shop, not the request's host."""

    name: str
    domain: str


def shop_site() -> ShopSite:
    return ShopSite(settings.SHOP_NAME, urlsplit(settings.SITE_URL).netloc or settings.SITE_URL)


def message_payload(message: EmailMessage) -> dict[str, Any]:
    """A message as JSON a Celery task can carry."""
    alternatives = getattr(message, "alternatives", [])
    return {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": list(message.to),
        "html": next((content for content, kind in alternatives if kind == "text/html"), ""),
    }


def message_from_payload(payload: dict[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        payload["subject"], payload["body"], payload["from_email"], payload["to"]
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    return message


class AccountAdapter(DefaultAccountAdapter):
    def format_email_subject(self, subject: str) -> str:
        return f"{settings.SHOP_NAME} · {subject}"

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        context = {**context, "current_site": shop_site()}
        message = super().render_mail(template_prefix, email, context, headers)
        if getattr(message, "alternatives", None):
            return message  # an HTML template of its own
        html = render_to_string(
            "emails/account.html",
            {
                "subject": message.subject,
                "body_html": mark_safe(linebreaks(urlize(message.body, autoescape=True))),  # noqa: S308
                "language": get_language(),
            },
        )
        branded = EmailMultiAlternatives(
            message.subject, message.body, message.from_email, message.to, headers=headers
        )
        branded.attach_alternative(html, "text/html")
        return branded

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Send now; if the mail server fails, a Celery task sends it later."""
        context = {**context, "current_site": shop_site()}
        message = self.render_mail(template_prefix, email, context)
        try:
            message.send()
        except (smtplib.SMTPException, OSError):
            logger.warning("account e-mail to %s queued for retry: mail server failed", email)
            from storefront.tasks import account_email_send

            account_email_send.apply_async(args=(message_payload(message),), countdown=30)
