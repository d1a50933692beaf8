"""What storefront templates show: product cards and page data, built in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from html import escape

from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_noop

from catalog.models import ProductImage, translated
from pricing.offers import Availability, Offer, PriceContext, best_offer, offers_for
from shop import versions
from shop.context import MarketContext
from shop.formatting import format_money
from shop.page_cache import page_depends_on
from storefront.listing import CardRow, card_rows

# Card texts wait in the cache until the catalogue changes (or this long).
CARD_TIMEOUT = 60 * 60


@dataclass(frozen=True, slots=True)
class CardText:
    """What a card shows that does not depend on price or stock (cacheable)."""

    product_id: int
    name: str
    url: str
    image_url: str | None
    image_alt: str
    brand: str
    variant_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ProductCard(CardText):
    """A card's texts with the live price and availability."""

    offer: Offer | None  # the cheapest variant that can be bought, else the cheapest
    price_varies: bool
    availability: Availability


def card_texts(rows: Sequence[CardRow], context: MarketContext) -> list[CardText]:
    """Card texts of storefront products (``card_rows``)."""
    storage = ProductImage._meta.get_field("listing").storage  # type: ignore[union-attr]
    return [
        CardText(
            product_id=row.product_id,
            name=row.name,
            url=context.url(f"/p/{row.slug}/"),
            image_url=storage.url(row.image) if row.image else None,
            image_alt=translated(row.image_alt_texts or {}, context.language),
            brand=row.brand or "",
            variant_ids=row.variant_ids,
        )
        for row in rows
    ]


def card_texts_cached(context: MarketContext, product_ids: Sequence[int]) -> list[CardText]:
    """Card texts of the visible products of ``product_ids``, in that order.

    Each product's card is cached on its own (per market prefix, until the
    catalogue changes), so a listing page nobody asked for yet still finds
    most of its cards: products recur across sorts, filters and searches.
    One cache round trip, and one query for the cards not cached yet.
    """
    catalogue = versions.version(versions.CATALOGUE)
    if catalogue == versions.UNKNOWN:
        return card_texts(card_rows(context, product_ids), context)
    keys = {pk: f"card:{context.prefix}:{catalogue}:{pk}" for pk in product_ids}
    found = cache.get_many(list(keys.values()))
    missing = [pk for pk in product_ids if keys[pk] not in found]
    if missing:
        loaded = {
            keys[text.product_id]: text for text in card_texts(card_rows(context, missing), context)
        }
        cache.set_many(loaded, CARD_TIMEOUT)
        found |= loaded
    return [found[keys[pk]] for pk in product_ids if keys[pk] in found]


def cards_with_offers(texts: Sequence[CardText], context: MarketContext) -> list[ProductCard]:
    """Add live prices and availability to card texts (``offers_for``: two queries)."""
    variant_ids = [variant_id for text in texts for variant_id in text.variant_ids]
    page_depends_on(*(versions.stock(variant_id) for variant_id in variant_ids))
    offers = offers_for(
        variant_ids,
        PriceContext.from_market(context),
    )
    cards = []
    for text in texts:
        offer, varies, availability = best_offer([offers[v] for v in text.variant_ids])
        cards.append(
            ProductCard(
                **{field.name: getattr(text, field.name) for field in fields(CardText)},
                offer=offer,
                price_varies=varies,
                availability=availability,
            )
        )
    return cards


# The availability line of a card and of the product page (``_availability.html``).
AVAILABILITY_LINES = {
    Availability.IN_STOCK: ("stock-ok", gettext_noop("In stock")),
    Availability.LOW_STOCK: ("stock-low", gettext_noop("Only a few left")),
    Availability.BACKORDER: ("stock-low", gettext_noop("Available to order")),
    Availability.OUT_OF_STOCK: ("stock-out", gettext_noop("Out of stock")),
    Availability.NOT_SOLD: ("stock-out", gettext_noop("Not available in your country")),
}


def cards_html(cards: Sequence[ProductCard], context: MarketContext) -> SafeString:
    """The ``<li class="card">`` items of a listing, in the active language.

    Written in Python rather than with a template include per card: a listing
    page shows 24 cards and the includes were a third of its rendering time.
    The standard library's ``escape`` is the one Django's wraps (the same
    characters escaped), without the check for lazy strings on every call.
    """
    items = []
    for card in cards:
        if card.image_url:
            image = (
                f'<img src="{escape(card.image_url)}" alt="{escape(card.image_alt)}" '
                'width="400" height="400" loading="lazy" decoding="async">'
            )
        else:
            image = '<div class="card-placeholder" aria-hidden="true"></div>'
        price = ""
        offer = card.offer
        if offer is not None:
            shown = _money(offer.price, offer.currency, context)
            if card.price_varies:
                shown = gettext("from %(price)s") % {"price": shown}
            was = _money(offer.was, offer.currency, context)
            price = f'<p class="price"><strong>{escape(shown)}</strong>' + (
                f"<del>{escape(was)}</del></p>" if was else "</p>"
            )
        css, line = AVAILABILITY_LINES[card.availability]
        items.append(
            f'<li class="card"><a href="{escape(card.url)}">{image}'
            f'<span class="card-brand">{escape(card.brand)}</span>'
            f'<span class="card-name">{escape(card.name)}</span></a>{price}'
            f'<p class="stock {css}">{escape(gettext(line))}</p></li>'
        )
    return mark_safe("".join(items))  # noqa: S308 -- every value above is escaped


def _money(amount: Decimal | None, currency: str, context: MarketContext) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency, language=context.language, country=context.country)
