"""Reads for marketplace sync: what each listing should show now (prices and stock),
and the product data to create it on the marketplace (``listing_drafts``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext

from catalog.models import Product, ProductImage, ProductTranslation, Variant, translated
from integrations.marketplaces.adapters.base import ListingItem, PriceStockItem
from integrations.marketplaces.models import (
    AttributeMapping,
    BatchKind,
    BatchState,
    CategoryMapping,
    Listing,
    Marketplace,
    SyncBatch,
)
from pricing.money import quantize
from pricing.offers import Availability, Offer, PriceContext, offers_for

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
    return {
        listing.pk: listing_target(marketplace, listing, offers[listing.variant_id])
        for listing in listings
    }


def listing_target(marketplace: Marketplace, listing: Listing, offer: Offer) -> PriceStockItem:
    """What one listing should show given its variant's storefront ``offer`` (see
    ``listing_targets``): the one rule for the price-and-stock sync and for the
    products created on the marketplace, so the two never disagree."""
    if not listing.is_active or offer.availability == Availability.NOT_SOLD:
        return PriceStockItem(listing.barcode, 0, None, None)
    assert offer.gross is not None
    percent = marketplace.price_adjustment_percent
    currency = offer.currency
    sale = price_adjusted(offer.gross, percent=percent, currency=currency)
    was = offer.was
    regular = sale if was is None else price_adjusted(was, percent=percent, currency=currency)
    quantity = offer.available_quantity if offer.availability != Availability.BACKORDER else 0
    return PriceStockItem(
        barcode=listing.barcode,
        quantity=max(quantity, 0),
        sale_price=sale,
        list_price=max(regular, sale),
    )


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


# Creating products on the marketplace

# Listings with their variants, products, brands and categories; the products'
# texts; their images; product attribute values; variant option values; the
# offers' price rows; their stock levels. The market's pricing and tax rates
# are cached, the mappings read once per build (``listing_scope``).
QUERIES_PER_DRAFT_BATCH = 7


@dataclass(frozen=True, slots=True)
class ListingScope:
    """What every batch of one build shares: read once."""

    marketplace: Marketplace
    language: str
    site_url: str
    category_paths: tuple[tuple[str, str], ...]  # (tree path, marketplace id), deepest first
    attribute_ids: dict[int, str]  # our attribute id → the marketplace's

    def category_for(self, path: str) -> str | None:
        """The marketplace category of the category at ``path``: its own mapping, else
        the nearest mapped ancestor's (tree paths begin with their ancestors' paths)."""
        return next(
            (external for mapped, external in self.category_paths if path.startswith(mapped)),
            None,
        )


def listing_scope(marketplace: Marketplace) -> ListingScope:
    """The marketplace's language (its market's default) and mappings (two queries)."""
    categories = CategoryMapping.objects.filter(marketplace=marketplace).values_list(
        "category__path", "external_id"
    )
    return ListingScope(
        marketplace=marketplace,
        language=marketplace.market.default_language,
        site_url=settings.SITE_URL.rstrip("/"),
        category_paths=tuple(sorted(categories, key=lambda pair: -len(pair[0]))),
        attribute_ids=dict(
            AttributeMapping.objects.filter(marketplace=marketplace).values_list(
                "attribute_id", "external_id"
            )
        ),
    )


@dataclass(frozen=True, slots=True)
class ListingDraft:
    """A listing as the marketplace would get it: ``item``, or why it cannot be sent."""

    listing: Listing
    item: ListingItem | None
    problems: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return " ".join(self.problems)


def listings_for_publishing(
    marketplace: Marketplace, *, listing_ids: Sequence[int] | None = None, update: bool = False
) -> QuerySet[Listing]:
    """The listings to create (or ``update``): the chosen ones, or every listing not yet
    on the marketplace (to update: every one already there); taken-off listings and
    those waiting for a product request's result are left out (so asking twice
    sends once)."""
    queryset = Listing.objects.filter(marketplace=marketplace, is_active=True)
    if listing_ids is None:
        queryset = queryset.filter(listed_at__isnull=not update)
    else:
        queryset = queryset.filter(pk__in=list(listing_ids))
    waiting = listings_in_open_product_batches(marketplace)
    if waiting:
        queryset = queryset.exclude(pk__in=waiting)
    return queryset.order_by("pk")


def listings_in_open_product_batches(marketplace: Marketplace) -> set[int]:
    """Listings in product requests not yet answered (one query)."""
    waiting: set[int] = set()
    open_batches = SyncBatch.objects.filter(
        marketplace=marketplace,
        kind__in=[BatchKind.LISTING_CREATE, BatchKind.LISTING_UPDATE],
        state__in=[BatchState.SENDING, BatchState.WAITING, BatchState.SENT],
    ).values_list("items", flat=True)
    for items in open_batches:
        waiting.update(int(item["listing"]) for item in items if item.get("listing"))
    return waiting


def listing_drafts(scope: ListingScope, listings: QuerySet[Listing]) -> list[ListingDraft]:
    """The product data of ``listings`` (one batch), ``QUERIES_PER_DRAFT_BATCH`` queries
    whatever its size.

    Title and description are the product's texts in the market's default
    language (no fallback: a marketplace shows one language), the category
    the nearest mapped one, the attributes the product's values and the
    variant's options whose attribute is mapped, the images the product's
    (absolute addresses), prices and stock what the price-and-stock sync
    sends (``listing_target``), the VAT rate the market's for the product's
    tax class.
    """
    rows = list(
        listings.select_related(
            "variant__product__brand", "variant__product__primary_category"
        ).order_by("pk")
    )
    if not rows:
        return []
    language = scope.language
    product_ids = sorted({listing.variant.product_id for listing in rows})
    variant_ids = [listing.variant_id for listing in rows]
    texts = {
        product_id: (name, description)
        for product_id, name, description in ProductTranslation.objects.filter(
            product_id__in=product_ids, language=language
        ).values_list("product_id", "name", "description")
    }
    images: dict[int, list[str]] = {}
    for image in ProductImage.objects.filter(product_id__in=product_ids).order_by(
        "product_id", "position", "id"
    ):
        rendition = image.detail or image.image
        if rendition:
            images.setdefault(image.product_id, []).append(_absolute(scope, rendition.url))
    mapped = list(scope.attribute_ids)
    product_values: dict[int, list[tuple[int, str]]] = {}
    if mapped:
        for product_id, attribute_id, names, code in (
            Product.attribute_values.through.objects.filter(
                product_id__in=product_ids, attributevalue__attribute_id__in=mapped
            )
            .order_by("attributevalue__attribute__position", "attributevalue__position")
            .values_list(
                "product_id",
                "attributevalue__attribute_id",
                "attributevalue__names",
                "attributevalue__code",
            )
        ):
            product_values.setdefault(product_id, []).append(
                (attribute_id, translated(names, language, code))
            )
    variant_values: dict[int, list[tuple[int, str]]] = {}
    if mapped:
        for variant_id, attribute_id, names, code in (
            Variant.option_values.through.objects.filter(
                variant_id__in=variant_ids, attributevalue__attribute_id__in=mapped
            )
            .order_by("attributevalue__attribute__position", "attributevalue__position")
            .values_list(
                "variant_id",
                "attributevalue__attribute_id",
                "attributevalue__names",
                "attributevalue__code",
            )
        ):
            variant_values.setdefault(variant_id, []).append(
                (attribute_id, translated(names, language, code))
            )
    offers = offers_for(variant_ids, marketplace_price_context(scope.marketplace))
    return [
        _draft(
            scope,
            listing,
            offers[listing.variant_id],
            texts.get(listing.variant.product_id),
            images.get(listing.variant.product_id, []),
            [
                *product_values.get(listing.variant.product_id, []),
                *variant_values.get(listing.variant_id, []),
            ],
        )
        for listing in rows
    ]


def _draft(
    scope: ListingScope,
    listing: Listing,
    offer: Offer,
    text: tuple[str, str] | None,
    images: list[str],
    values: list[tuple[int, str]],
) -> ListingDraft:
    product = listing.variant.product
    problems = []
    category = product.primary_category
    category_id = scope.category_for(category.path) if category is not None else None
    if category is None:
        problems.append(gettext("The product has no main category."))
    elif category_id is None:
        problems.append(
            gettext(
                "No marketplace category is mapped for the category %(category)s or above it "
                "(Marketplaces › %(marketplace)s › Category mappings)."
            )
            % {"category": category.code, "marketplace": scope.marketplace.name}
        )
    if not images:
        problems.append(gettext("The product has no image."))
    if product.brand is None:
        problems.append(gettext("The product has no brand."))
    name, description = text or ("", "")
    if not name.strip():
        problems.append(
            gettext("The product has no name in %(language)s.") % {"language": scope.language}
        )
    target = listing_target(scope.marketplace, listing, offer)
    if target.sale_price is None or target.list_price is None or offer.tax_rate is None:
        problems.append(
            gettext("The variant has no price in the market %(market)s.")
            % {"market": scope.marketplace.market.code}
        )
    if problems:
        return ListingDraft(listing=listing, item=None, problems=tuple(problems))
    assert category_id is not None and product.brand is not None
    assert target.sale_price is not None and target.list_price is not None
    assert offer.tax_rate is not None
    return ListingDraft(
        listing=listing,
        item=ListingItem(
            barcode=listing.barcode,
            title=name.strip(),
            product_main_id=f"P{product.pk}",
            stock_code=listing.variant.sku,
            brand=product.brand.name,
            category_id=category_id,
            description=description.strip() or name.strip(),
            quantity=target.quantity,
            sale_price=target.sale_price,
            list_price=target.list_price,
            currency=offer.currency,
            vat_rate=offer.tax_rate,
            image_urls=tuple(images),
            attributes=tuple(
                (scope.attribute_ids[attribute_id], value) for attribute_id, value in values
            ),
        ),
    )


def _absolute(scope: ListingScope, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{scope.site_url}{url}"
