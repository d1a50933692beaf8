"""Helpers for storefront pages: the market selector, URLs and hreflang."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from babel import Locale
from django.http import HttpRequest
from django.urls import reverse

from shop import versions
from shop.config_cache import config_cached
from shop.context import MarketContext
from shop.selectors import market_directory


@dataclass(frozen=True, slots=True)
class SelectorOption:
    prefix: str
    label: str
    selected: bool


@dataclass(frozen=True, slots=True)
class SelectorGroup:
    label: str
    options: tuple[SelectorOption, ...]


@lru_cache(maxsize=4096)
def country_name(code: str, language: str) -> str:
    return Locale.parse(language).territories.get(code, code)


@lru_cache(maxsize=512)
def language_name(code: str, in_language: str) -> str:
    return Locale.parse(code).get_display_name(in_language) or code


def selector_options(context: MarketContext) -> tuple[SelectorGroup, ...]:
    """Every country × language on offer, grouped by market, labels in the page language
    (kept in memory until markets change)."""
    return config_cached(
        versions.MARKETS,
        f"selector:{context.language}:{context.prefix}",
        lambda: _selector_options(context),
    )


def _selector_options(context: MarketContext) -> tuple[SelectorGroup, ...]:
    groups = []
    for market in market_directory().markets:
        options = []
        for country in market.countries:
            for language in market.languages:
                prefix = market.prefix_for(language=language, country=country)
                label = (
                    f"{country_name(country, context.language)} · "
                    f"{language_name(language, language).capitalize()} · {market.currency}"
                )
                options.append(SelectorOption(prefix, label, prefix == context.prefix))
        groups.append(SelectorGroup(market.name, tuple(options)))
    return tuple(groups)


def path_in_market(request: HttpRequest) -> str:
    """The current path without its market prefix (``/de-de/x/`` → ``/x/``)."""
    context: MarketContext | None = getattr(request, "market_context", None)
    path = request.path_info
    if context is not None and path.startswith(f"/{context.prefix}/"):
        return path[len(context.prefix) + 1 :]
    return path


def hreflang_alternates(
    request: HttpRequest, *, countries: frozenset[str] | None = None
) -> list[tuple[str, str]]:
    """(hreflang, absolute URL) for the current page in every market and language.

    ``countries`` limits the list to where the page exists (e.g. where a
    product is visible). The unprefixed URL, which sends each visitor to their market,
    is x-default.
    """
    directory = market_directory()
    path = path_in_market(request)
    alternates = []
    for market in directory.markets:
        for country in market.countries:
            if countries is not None and country not in countries:
                continue
            for language in market.languages:
                prefix = market.prefix_for(language=language, country=country)
                url = request.build_absolute_uri(f"/{prefix}{path}")
                alternates.append((f"{language}-{country}", url))
    if alternates:
        # The unprefixed URL picks the visitor's market: the right x-default.
        alternates.append(("x-default", request.build_absolute_uri(path)))
    return alternates


def market_url(context: MarketContext, name: str, **kwargs: object) -> str:
    """Reverse a storefront URL name under the context's prefix."""
    return reverse(f"storefront:{name}", kwargs={"prefix": context.prefix, **kwargs})
