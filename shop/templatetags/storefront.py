"""Template helpers for storefront pages."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.utils.html import json_script
from django.utils.safestring import SafeString

from shop.formatting import format_money

register = template.Library()


@register.simple_tag
def shop_name() -> str:
    """The shop's name (``SHOP_NAME``), for e-mails and page titles."""
    return str(settings.SHOP_NAME)


@register.simple_tag(takes_context=True)
def money(context: dict[str, Any], amount: Decimal | None, currency: str) -> str:
    """``{% money offer.price offer.currency %}`` in the page's language and country."""
    if amount is None:
        return ""
    market_context = context.get("market_context")
    language = market_context.language if market_context else "en"
    country = market_context.country if market_context else "US"
    return format_money(amount, currency, language=language, country=country)


@register.simple_tag(takes_context=True)
def shop_url(context: dict[str, Any], path: str = "/") -> str:
    """``path`` under the current market prefix."""
    market_context = context.get("market_context")
    if market_context is None:
        return path
    return market_context.url(path)


@register.filter
def ld_json(data: object) -> SafeString:
    """Structured data as a safe ``<script type="application/ld+json">`` element."""
    element = json_script(json.loads(json.dumps(data, default=str)))
    return SafeString(
        element.replace(
            '<script type="application/json">', '<script type="application/ld+json">', 1
        )
    )
