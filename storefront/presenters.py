"""What storefront templates show: product cards and page data, built in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from catalog.models import Product
from catalog.selectors import variant_ids_by_product
from pricing.offers import Availability, Offer, PriceContext, best_offer, offers_for
from shop import versions
from shop.context import MarketContext
from shop.page_cache import page_depends_on


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


def card_texts(products: Sequence[Product], context: MarketContext) -> list[CardText]:
    """Card texts for storefront products (annotated ``name``/``slug``); one query."""
    variants = variant_ids_by_product([product.pk for product in products])
    texts = []
    for product in products:
        image = product.primary_image
        texts.append(
            CardText(
                product_id=product.pk,
                name=product.name,  # type: ignore[attr-defined]
                url=context.url(f"/p/{product.slug}/"),  # type: ignore[attr-defined]
                image_url=image.listing.url if image and image.listing else None,
                image_alt=image.alt_in(context.language) if image else "",
                brand=product.brand.name if product.brand else "",
                variant_ids=tuple(variants.get(product.pk, [])),
            )
        )
    return texts


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
