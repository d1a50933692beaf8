"""The e-mail telling a customer the decision on their dealer application.

``pricing.dealers`` hands each decision to the listener registered here after
its commit; a Celery task sends the e-mail in the customer's language, retried
with backoff while the mail server fails. The application records when it was
sent, so a retried task sends it once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from pricing.dealers import dealer_decision_listener_register, dealer_price_markets
from shop.models import DealerApplication

logger = logging.getLogger(__name__)

SUBJECTS = {
    DealerApplication.Status.APPROVED: gettext_lazy("Your dealer account is ready"),
    DealerApplication.Status.REJECTED: gettext_lazy("Your dealer application"),
}


def dealer_emails_connect() -> None:
    """Send the customer an e-mail for every decision (the storefront app does, when ready)."""
    dealer_decision_listener_register(dealer_decision_email_enqueue)


def dealer_decision_email_enqueue(application: DealerApplication) -> None:
    """Decision listener: queue the e-mail (a broker outage raises; pricing logs it)."""
    from storefront.tasks import dealer_decision_email_send

    dealer_decision_email_send.apply_async(args=(application.pk,))


def dealer_decision_email_deliver(application_id: int) -> str:
    """Send the decision e-mail of application ``application_id`` unless it was sent;
    what happened."""
    with transaction.atomic():
        # One sender at a time per application: a second task waits, then sees it was sent.
        application = (
            DealerApplication.objects.select_for_update(of=("self",))
            .select_related("customer__user", "market__seller", "country")
            .filter(pk=application_id)
            .first()
        )
        if application is None or application.status not in SUBJECTS:
            return "nothing to send"
        if application.decision_emailed_at is not None:
            return "already sent"
        message = dealer_decision_email(application)
        if message is None:
            return "no address"
        message.send()
        application.decision_emailed_at = timezone.now()
        application.save(update_fields=["decision_emailed_at"])
    logger.info("Dealer decision e-mail for application %s sent", application_id)
    return "sent"


def dealer_decision_email(application: DealerApplication) -> EmailMultiAlternatives | None:
    """The decision e-mail, ready to send (None when the customer has no address)."""
    user = application.customer.user
    if not user.email:
        return None
    language = _language(application)
    with translation.override(language):
        context = _context(application, language)
        subject = str(SUBJECTS[DealerApplication.Status(application.status)])
        text = render_to_string("emails/dealer_decision.txt", context)
        html = render_to_string("emails/dealer_decision.html", context)
    seller = application.market.seller
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        reply_to=[seller.email] if seller is not None and seller.email else None,
        headers={"X-Kervan-Dealer-Application": str(application.pk)},
    )
    message.attach_alternative(html, "text/html")
    return message


def _language(application: DealerApplication) -> str:
    """The customer's language, else the language of the market they applied in."""
    preferred = application.customer.preferred_language
    if preferred in dict(settings.LANGUAGES):
        return preferred
    return application.market.default_language


def _context(application: DealerApplication, language: str) -> dict[str, Any]:
    market = application.market
    page_language = language if language in market.languages else market.default_language
    served = market.countries.filter(code=application.country_id).exists()
    country = application.country_id if served else market.default_country_id
    prefix = f"{page_language}-{country}".lower()
    approved = application.status == DealerApplication.Status.APPROVED
    site = settings.SITE_URL.rstrip("/")
    return {
        "language": language,
        "approved": approved,
        "application": application,
        "greeting": application.customer.user.first_name,
        "markets": (
            [m.name for m in dealer_price_markets(application.group_id)] if approved else []
        ),
        "page_url": f"{site}/accounts/dealer/?market={prefix}",
        "shop_url": f"{site}/{prefix}/",
        "seller": market.seller,
    }
