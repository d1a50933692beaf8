"""Reads for product feeds: the market's catalogue as feed items, in batches.

Every value comes from the functions the storefront's product page uses:
``catalog.selectors.visible_products`` decides which products exist in the
market's country and language (published, visible there, with a text),
``pricing.offers.offers_for`` gives each variant's price, sale and
availability, the category tree gives the category path, and the links are
the storefront's product URLs (``storefront:product``, resolved by name).

A batch of products costs a fixed number of queries whatever its size
(``QUERIES_PER_BATCH``); the market's lists, pools, tax rates, shipping
rates, category tree and Google category mappings are read once per build.
Nothing holds more than one batch in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Prefetch, QuerySet
from django.urls import reverse

from catalog.categories import CategoryTree, category_tree
from catalog.models import AttributeValue, Product, ProductImage, Variant
from catalog.selectors import visible_products
from integrations.feeds.models import FILE_NAMES, FeedConfig, GoogleCategory
from pricing.offers import Availability, Offer, PriceContext, offers_for
from shipping.selectors import country_shipping_options
from shop.context import MarketContext, MarketInfo
from shop.money import minor_units
from shop.request_memo import request_scope
from shop.selectors import market_directory

# Products, variants, their option values, images, price rows, stock levels.
QUERIES_PER_BATCH = 6


class FeedUnavailable(Exception):
    """The feed cannot be built now (its market is not active, …); the message says why."""


@dataclass(frozen=True, slots=True)
class ShippingCost:
    country: str
    service: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One variant as a feed shows it: the storefront's own values, already resolved."""

    product_id: int
    sku: str
    gtin: str
    title: str  # product name, with the variant's options when the product has several
    name: str  # product name
    description: str
    options: tuple[tuple[str, str], ...]  # (attribute name, value name) of the variant
    brand: str
    link: str
    image_links: tuple[str, ...]
    offer: Offer
    variant_count: int
    category_path: tuple[str, ...]
    google_category_id: int | None
    weight_grams: int | None
    shipping: tuple[ShippingCost, ...]

    @property
    def item_group_id(self) -> str:
        """The product's id, shared by its variants ("" for a product of one variant)."""
        return f"P{self.product_id}" if self.variant_count > 1 else ""

    @property
    def currency(self) -> str:
        return self.offer.currency

    @property
    def price(self) -> Decimal:
        """What the shopper pays now (the sale price during a sale): the page's price."""
        assert self.offer.price is not None
        return self.offer.price

    @property
    def is_on_sale(self) -> bool:
        """A sale that lowers the price (channels refuse a "sale" above the price)."""
        return self.offer.regular is not None and self.offer.regular > self.price

    @property
    def regular_price(self) -> Decimal:
        """The price without the sale; equals ``price`` when there is no sale."""
        return self.offer.regular if self.is_on_sale and self.offer.regular else self.price


@dataclass
class FeedScope:
    """Everything a build reads once: where, in which language, and the shared tables."""

    config_id: int
    market: MarketInfo
    country: str
    language: str
    site_url: str
    tree: CategoryTree
    google_categories: dict[int, int]  # category id → Google category id

    @property
    def context(self) -> MarketContext:
        return MarketContext(market=self.market, country=self.country, language=self.language)

    @property
    def prefix(self) -> str:
        return self.market.prefix_for(language=self.language, country=self.country)


def feed_scope(config: FeedConfig) -> FeedScope:
    """The market as the storefront sees it, for ``config``; ``FeedUnavailable`` when
    the market is not active or no longer sold in the feed's language or country."""
    market = next((m for m in market_directory().markets if m.id == config.market_id), None)
    if market is None:
        raise FeedUnavailable(f"The market {config.market.code!r} is not active.")
    if config.language not in market.languages:
        raise FeedUnavailable(f"The market {market.code!r} is not sold in {config.language!r}.")
    country = config.country_id or market.default_country
    if country not in market.countries:
        raise FeedUnavailable(f"The market {market.code!r} does not serve {country}.")
    return FeedScope(
        config_id=config.pk,
        market=market,
        country=country,
        language=config.language,
        site_url=settings.SITE_URL.rstrip("/"),
        tree=category_tree(),
        google_categories=dict(GoogleCategory.objects.values_list("category_id", "google_id")),
    )


def feed_products(scope: FeedScope) -> QuerySet[Product]:
    """The products a shopper of the scope's storefront may see (a queryset by id)."""
    return visible_products(scope.country, scope.language).order_by("id")


def feed_product_count(scope: FeedScope) -> int:
    return int(feed_products(scope).count())


def feed_batches(
    scope: FeedScope, *, batch_size: int
) -> Iterator[list[tuple[Product, list[FeedItem]]]]:
    """The catalogue in batches of ``batch_size`` products, by id (keyset pages, so a
    catalogue changing meanwhile never repeats or skips a product): each product with
    the items of its active variants, priced or not (the writer decides what to skip).
    ``QUERIES_PER_BATCH`` queries per batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    after = 0
    while True:
        products = list(
            feed_products(scope)
            .filter(id__gt=after)
            .annotate(description=F("text__description"))[:batch_size]
        )
        if not products:
            return
        after = products[-1].pk
        # One scope per batch, as per request: cache versions (prices, stock, shipping
        # rates) are read once per batch, not once per item, and never kept longer.
        with request_scope():
            batch = _batch_items(scope, products)
        yield batch
        if len(products) < batch_size:
            return


def _batch_items(
    scope: FeedScope, products: Sequence[Product]
) -> list[tuple[Product, list[FeedItem]]]:
    product_ids = [product.pk for product in products]
    variants: dict[int, list[Variant]] = {}
    queryset = (
        Variant.objects.filter(product_id__in=product_ids, is_active=True)
        .order_by("product_id", "position", "id")
        .prefetch_related(
            Prefetch(
                "option_values",
                queryset=AttributeValue.objects.select_related("attribute").order_by(
                    "attribute__position", "position"
                ),
            )
        )
    )
    for variant in queryset:
        variants.setdefault(variant.product_id, []).append(variant)
    images: dict[int, list[str]] = {}
    for image in ProductImage.objects.filter(product_id__in=product_ids).order_by(
        "product_id", "position", "id"
    ):
        if image.detail:
            images.setdefault(image.product_id, []).append(_absolute(scope, image.detail.url))
    every_variant = [variant for group in variants.values() for variant in group]
    offers = offers_for(every_variant, PriceContext.from_market(scope.context))
    batch = []
    for product in products:
        own = variants.get(product.pk, [])
        link = _absolute(
            scope,
            reverse(
                "storefront:product",
                kwargs={"prefix": scope.prefix, "slug": product.slug},  # type: ignore[attr-defined]
            ),
        )
        batch.append(
            (
                product,
                [
                    _item(scope, product, variant, offers[variant.pk], own, link, images)
                    for variant in own
                ],
            )
        )
    return batch


def _item(
    scope: FeedScope,
    product: Product,
    variant: Variant,
    offer: Offer,
    siblings: list[Variant],
    link: str,
    images: dict[int, list[str]],
) -> FeedItem:
    language = scope.language
    name: str = product.name  # type: ignore[attr-defined]
    options = tuple(
        (value.attribute.name_in(language), value.name_in(language))
        for value in variant.option_values.all()
    )
    title = name
    if len(siblings) > 1 and options:
        title = f"{name} ({', '.join(value for _attribute, value in options)})"
    weight = variant.weight_grams if variant.weight_grams is not None else product.weight_grams
    path, google_id = _category(scope, product.primary_category_id)
    shipping: tuple[ShippingCost, ...] = ()
    if offer.price is not None:
        shipping = _shipping(scope, weight or 0, offer.price)
    return FeedItem(
        product_id=product.pk,
        sku=variant.sku,
        gtin=variant.gtin,
        title=title,
        name=name,
        description=product.description or "",  # type: ignore[attr-defined]
        options=options,
        brand=product.brand.name if product.brand is not None else "",
        link=f"{link}?variant={variant.sku}",
        image_links=tuple(images.get(product.pk, ())),
        offer=offer,
        variant_count=len(siblings),
        category_path=path,
        google_category_id=google_id,
        weight_grams=weight,
        shipping=shipping,
    )


def _category(scope: FeedScope, category_id: int | None) -> tuple[tuple[str, ...], int | None]:
    """The category's path of names (root first) and the nearest Google mapping."""
    node = scope.tree.nodes.get(category_id) if category_id is not None else None
    if node is None:
        return (), None
    chain = [*scope.tree.ancestors(node), node]
    google_id = next(
        (scope.google_categories[n.id] for n in reversed(chain) if n.id in scope.google_categories),
        None,
    )
    return tuple(n.name(scope.language) for n in chain), google_id


def _shipping(
    scope: FeedScope, weight_grams: int, goods_value: Decimal
) -> tuple[ShippingCost, ...]:
    """The cheapest way to ship one item to each country of the market."""
    costs = []
    for country in scope.market.countries:
        options = country_shipping_options(
            country=country,
            currency=scope.market.currency,
            weight_grams=weight_grams,
            goods_value=goods_value,
            language=scope.language,
        )
        if options:
            costs.append(ShippingCost(country, options[0].name, options[0].price))
    return tuple(costs)


def _absolute(scope: FeedScope, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{scope.site_url}{url}"


def money_text(amount: Decimal, currency: str) -> str:
    """``"15.00 EUR"``: the amount in the currency's minor units, exact, and its code."""
    return f"{amount_text(amount, currency)} {currency}"


def amount_text(amount: Decimal, currency: str) -> str:
    """``"15.00"`` (EUR), ``"1500"`` (JPY), ``"1.500"`` (KWD): never in exponent form."""
    digits = minor_units(currency)
    return f"{amount.quantize(Decimal(1).scaleb(-digits)):f}"


def is_sold(offer: Offer) -> bool:
    """Whether the variant has a price in the market (else it is not sold there)."""
    return offer.price is not None and offer.availability != Availability.NOT_SOLD


def feed_for_url(*, market: str, language: str, file_name: str) -> FeedConfig | None:
    """The active feed at ``/feeds/<market>/<language>/<file_name>``, with its current build.

    ``market`` is the market's code (``eu``) or one of its storefront prefixes
    (``de-de``, as the storefront's URLs say it). One query (two for a prefix).
    """
    formats = {name: feed_format for feed_format, name in FILE_NAMES.items()}
    if file_name not in formats:
        return None
    feeds = FeedConfig.objects.select_related("market", "current_build").filter(
        is_active=True, market__is_active=True, language=language, format=formats[file_name]
    )
    config = feeds.filter(market__code=market).first()
    if config is None:
        resolved = market_directory().resolve_prefix(market)
        if resolved is not None:
            config = feeds.filter(market_id=resolved[0].id).first()
    return config
