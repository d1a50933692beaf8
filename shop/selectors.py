"""Reads of the shop core: the market directory and geography."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from shop import versions
from shop.config_cache import config_cached
from shop.context import MarketInfo
from shop.models import Market
from shop.request_memo import forget, memoized

MARKET_DIRECTORY_KEY = "shop:market-directory"


@dataclass(frozen=True)
class MarketDirectory:
    """All active markets, indexed the ways a request needs them."""

    markets: tuple[MarketInfo, ...]
    default: MarketInfo | None
    by_country: dict[str, MarketInfo] = field(default_factory=dict)
    by_prefix: dict[str, tuple[MarketInfo, str, str]] = field(default_factory=dict)

    def market_for_country(self, country: str) -> MarketInfo | None:
        return self.by_country.get(country.upper())

    def resolve_prefix(self, prefix: str) -> tuple[MarketInfo, str, str] | None:
        """``"de-at"`` → (market, country ``"AT"``, language ``"de"``), or None."""
        return self.by_prefix.get(prefix.lower())


def market_directory() -> MarketDirectory:
    """The active markets, kept in the process's memory until markets change (read
    once per request, with the shared versions every request reads anyway)."""
    return memoized(
        MARKET_DIRECTORY_KEY,
        lambda: config_cached(versions.MARKETS, MARKET_DIRECTORY_KEY, _build_market_directory),
    )


def market_with_seller(market_id: int) -> Market:
    """The market row with its seller, kept in memory until markets change.

    Shared by the requests of a process: read it, never change or save it.
    Raises ``Market.DoesNotExist``."""
    return config_cached(
        versions.MARKETS,
        f"market:{market_id}",
        lambda: Market.objects.select_related("seller").get(pk=market_id),
    )


def markets_changed() -> None:
    """Retire the market directory and the pages that show markets, after the commit."""
    transaction.on_commit(market_directory_invalidate)


def market_directory_invalidate() -> None:
    forget(MARKET_DIRECTORY_KEY)
    versions.retire_now(versions.MARKETS)


def _build_market_directory() -> MarketDirectory:
    markets = []
    default = None
    by_country: dict[str, MarketInfo] = {}
    by_prefix: dict[str, tuple[MarketInfo, str, str]] = {}
    queryset = Market.objects.filter(is_active=True).prefetch_related("country_links")
    for market in queryset.order_by("position", "name"):
        # Default country first: it is where the market's own URLs point.
        served = {link.country_id for link in market.country_links.all()}
        countries = [market.default_country_id, *sorted(served - {market.default_country_id})]
        info = MarketInfo(
            id=market.pk,
            code=market.code,
            name=market.name,
            currency=market.currency,
            default_language=market.default_language,
            languages=tuple(market.languages),
            default_country=market.default_country_id,
            countries=tuple(countries),
            prices_include_tax=market.prices_include_tax,
            is_default=market.is_default,
        )
        markets.append(info)
        if market.is_default:
            default = info
        for country in countries:
            by_country.setdefault(country, info)
            for language in info.languages:
                by_prefix.setdefault(
                    info.prefix_for(language=language, country=country), (info, country, language)
                )
    if default is None and markets:
        default = markets[0]
    return MarketDirectory(
        markets=tuple(markets), default=default, by_country=by_country, by_prefix=by_prefix
    )
