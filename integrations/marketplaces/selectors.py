"""Reads for marketplace sync: what each listing should show now."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from integrations.marketplaces.adapters.base import PriceStockItem
from integrations.marketplaces.models import Listing, Marketplace
from pricing.money import quantize
from pricing.offers import Availability, PriceContext, offers_for

HUNDRED = Decimal(100)


def price_adjusted(amount: Decimal, *, percent: Decimal, currency: str) -> Decimal:
    """``amount`` raised (or lowered) by ``percent``, rounded half up to the currency's
    minor unit (TRY 2 decimals, JPY none)."""
    return quantize(amount * (HUNDRED + percent) / HUNDRED, currency)


def marketplace_price_context(marketplace: Marketplace) -> PriceContext:
    """The market's storefront as its shoppers see it, in gross prices (marketplaces
    show consumer prices with tax)."""
    market = marketplace.market
    return PriceContext(
        market_id=market.pk,
        country=market.default_country_id,
        currency=market.currency,
        prices_include_tax=True,
    )


def listing_targets(
    marketplace: Marketplace, listings: Iterable[Listing]
) -> dict[int, PriceStockItem]:
    """Listing id → what the marketplace should show now (two or three queries for any
    number of listings, through ``pricing.offers.offers_for``).

    The sale price is the storefront's current price in the marketplace's
    market, the list price the struck-out one (or the sale price), both
    adjusted; the stock is what that market can sell. A variant the market
    does not sell, an inactive variant or a listing taken off gets stock 0
    and no price (the marketplace keeps its last one).
    """
    listings = list(listings)
    if not listings:
        return {}
    context = marketplace_price_context(marketplace)
    offers = offers_for([listing.variant_id for listing in listings], context)
    percent = marketplace.price_adjustment_percent
    currency = context.currency
    targets = {}
    for listing in listings:
        offer = offers[listing.variant_id]
        if not listing.is_active or offer.availability == Availability.NOT_SOLD:
            targets[listing.pk] = PriceStockItem(listing.barcode, 0, None, None)
            continue
        assert offer.gross is not None
        sale = price_adjusted(offer.gross, percent=percent, currency=currency)
        was = offer.was
        regular = sale if was is None else price_adjusted(was, percent=percent, currency=currency)
        quantity = offer.available_quantity if offer.availability != Availability.BACKORDER else 0
        targets[listing.pk] = PriceStockItem(
            barcode=listing.barcode,
            quantity=max(quantity, 0),
            sale_price=sale,
            list_price=max(regular, sale),
        )
    return targets


def is_unchanged(listing: Listing, item: PriceStockItem) -> bool:
    """Whether the marketplace was last sent exactly this."""
    if listing.last_sent_quantity is None or listing.last_sent_quantity != item.quantity:
        return False
    if item.sale_price is None:
        return True
    return (
        listing.last_sent_price is not None
        and listing.last_sent_price == item.sale_price
        and listing.last_sent_list_price == item.list_price
    )
