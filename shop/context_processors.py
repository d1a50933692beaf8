"""Template context shared by every storefront page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shop import storefront


def market(request: HttpRequest) -> dict[str, Any]:
    context = getattr(request, "market_context", None)
    if context is None:
        return {"market_context": None}
    extra = {"noindex": True} if getattr(request, "robots_noindex", False) else {}
    return {
        **extra,
        "market_context": context,
        "market_selector": storefront.selector_options(context),
        "path_in_market": storefront.path_in_market(request),
        # Built only where the page shows it (not on pages kept out of search engines).
        "hreflang_alternates": lambda: storefront.hreflang_alternates(request),
    }
