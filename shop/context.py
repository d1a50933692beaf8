"""The request's market context: who is shopping where, resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """An immutable snapshot of a market, cheap to cache and share between requests."""

    id: int
    code: str
    name: str
    currency: str
    default_language: str
    languages: tuple[str, ...]
    default_country: str
    countries: tuple[str, ...]
    prices_include_tax: bool
    is_default: bool

    def prefix_for(self, *, language: str, country: str) -> str:
        return f"{language}-{country}".lower()

    @property
    def default_prefix(self) -> str:
        return self.prefix_for(language=self.default_language, country=self.default_country)


@dataclass(frozen=True, slots=True)
class MarketContext:
    """Where and in which language the shopper is: the input of every price and page."""

    market: MarketInfo
    country: str
    language: str
    customer_group_id: int | None = None

    @property
    def currency(self) -> str:
        return self.market.currency

    @property
    def prices_include_tax(self) -> bool:
        return self.market.prices_include_tax

    @property
    def prefix(self) -> str:
        return self.market.prefix_for(language=self.language, country=self.country)

    def url(self, path: str = "/") -> str:
        """``path`` (starting with ``/``) under this context's prefix."""
        return f"/{self.prefix}{path}"
