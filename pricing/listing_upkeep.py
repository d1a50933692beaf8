"""Upkeep of the listing table (``ListingEntry``): rows derived from ``offers_for``.

Listing pages sort by price, filter by price, stock, category and facet
values, and count, over rows of this table (``pricing.listing``) instead of
computing prices in SQL. A row holds what the product's card shows in one
context (a market country, retail or a customer group), so a listing sorts
by the very price its cards and product pages show.

The rows follow the data they are derived from:

- writes of products, variants, prices and stock note the products in
  ``catalog.ProductChange`` in their own transaction (a transactional
  outbox); ``listing_refresh`` drains it in batches, derives the rows again
  and writes only those that differ;
- sales that start or end and scheduled publications are picked up by time
  (``ListingClock``);
- a context whose settings changed (currency, tax display, price lists,
  pools, tax rates) has a new fingerprint and is derived again whole.

``listing_refresh`` runs from Celery beat every few seconds
(``pricing.tasks.listing_refresh``); one runs at a time (an advisory lock).
When rows of a context change, its versions are retired after the commit
(``shop.versions.listing``, ``listing_members``) so cached counts, facets
and page orders follow.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Product, ProductTranslation, Variant, published_until
from pricing.models import ListingClock, ListingContext, PriceEntry
from pricing.offers import Offer, OfferInputs, PriceContext, best_offer, offers_for
from pricing.selectors import market_pricing
from pricing.tax import tax_table
from shop import versions
from shop.models import Market

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# pg_try_advisory_lock key: one refresh at a time ("LIST" in ASCII).
LOCK_KEY = 0x4C495354
LANGUAGE_BITS = {code: 1 << position for position, (code, _name) in enumerate(settings.LANGUAGES)}

# What a row holds, in the table's column order after (context, product).
COLUMNS = (
    "price",
    "on_sale",
    "in_stock",
    "languages",
    "brand_id",
    "published_at",
    "category_ids",
    "value_ids",
)
# Columns that change with prices and stock; the others say what is listed and
# how it is found (``versions.listing_members``).
PRICE_COLUMNS = 3

Row = tuple[Decimal, bool, bool, int, int | None, datetime, tuple[int, ...], tuple[int, ...]]


def language_bit(language: str) -> int:
    """The bit of ``language`` in ``ListingEntry.languages`` (0 for an unknown one)."""
    return LANGUAGE_BITS.get(language, 0)


@dataclass(frozen=True, slots=True)
class Context:
    id: int
    price: PriceContext
    # Contexts with the same signature show the same prices: the same market and
    # lists, and gross prices from tax-inclusive lists (the same in every
    # country of the market) or the same country.
    signature: tuple[object, ...]
    list_ids: tuple[int, ...]
    pool_ids: tuple[int, ...]

    def follows(self, source: str) -> bool:
        """Whether rows of this context change with ``source`` (a ``ProductChange.source``)."""
        kind, _colon, number = source.partition(":")
        if kind == "price-list":
            return int(number) in self.list_ids
        if kind == "stock-pool":
            return int(number) in self.pool_ids
        return True


@dataclass
class RefreshReport:
    contexts_rebuilt: int = 0
    products: int = 0
    written: int = 0
    removed: int = 0
    seconds: float = 0.0
    skipped: bool = False  # another refresh was running
    members_changed: set[int] = field(default_factory=set)  # products came, went or moved

    def as_dict(self) -> dict[str, object]:
        return {
            "contexts_rebuilt": self.contexts_rebuilt,
            "products": self.products,
            "written": self.written,
            "removed": self.removed,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }


def listing_refresh(*, now: datetime | None = None) -> RefreshReport:
    """Bring the listing table up to date: contexts, due sales and publications, the outbox.

    Rows are derived as of ``now`` (the current time). Returns at once
    (``skipped``) when another refresh holds the lock.
    """
    now = now or timezone.now()
    report = RefreshReport()
    started = time.monotonic()
    with _lock() as locked:
        if not locked:
            report.skipped = True
            return report
        noted_until = _outbox_last_id()
        stale = contexts_sync()
        contexts_rebuild(stale, report, at=now)
        if stale and len(stale) == ListingContext.objects.count():
            # Every row was derived after these notes were written: they are done.
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM catalog_productchange WHERE id <= %s", [noted_until])
        due_changes_note(now)
        outbox_drain(report, at=now)
    report.seconds = time.monotonic() - started
    return report


def _outbox_last_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM catalog_productchange")
        return int(cursor.fetchone()[0])


@contextmanager
def _lock() -> Iterator[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        locked = bool(cursor.fetchone()[0])
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


# Contexts


def contexts_wanted() -> dict[tuple[int, str, int | None], str]:
    """(market, country, customer group or None) → fingerprint, for every active
    market's countries: retail, and each group with its own list there."""
    wanted = {}
    today = timezone.localdate()
    markets = Market.objects.filter(is_active=True).prefetch_related("country_links")
    for market in markets.order_by("id"):
        config = market_pricing(market.pk)
        for link in market.country_links.all():
            for group in (None, *sorted(config.by_group)):
                lists = [
                    info
                    for info in config.price_lists_for(group)
                    if info.currency == market.currency
                ]
                countries = {link.country_id} | {i.tax_country for i in lists if i.tax_country}
                taxes = sorted(tax_table(countries, on=today).items())
                settings_used = (
                    market.currency,
                    market.prices_include_tax,
                    lists,
                    config.pool_ids,
                    taxes,
                )
                fingerprint = hashlib.sha256(repr(settings_used).encode()).hexdigest()
                wanted[(market.pk, link.country_id, group)] = fingerprint
    return wanted


def contexts_sync() -> list[tuple[Context, str]]:
    """Create and remove contexts as markets require; the ones to derive again
    (new, or settings changed), with their new fingerprints."""
    wanted = contexts_wanted()
    existing = {
        (context.market_id, context.country_id, context.customer_group_id): context
        for context in ListingContext.objects.all()
    }
    gone = [context.pk for key, context in existing.items() if key not in wanted]
    if gone:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM pricing_listingentry WHERE context_id = ANY(%s)", [gone])
            ListingContext.objects.filter(pk__in=gone).delete()
            _contexts_changed(gone)
    stale = []
    for key, fingerprint in wanted.items():
        context = existing.get(key)
        if context is None:
            market_id, country, group = key
            context = ListingContext.objects.create(
                market_id=market_id, country_id=country, customer_group_id=group
            )
            versions.retire_now(versions.PRICING)  # listing_context_id looks it up
        if context.fingerprint != fingerprint:
            stale.append((_context(context), fingerprint))
    return stale


def _context(row: ListingContext) -> Context:
    market = Market.objects.get(pk=row.market_id)
    config = market_pricing(market.pk)
    group = row.customer_group_id if row.customer_group_id in config.by_group else None
    price = PriceContext(
        market_id=market.pk,
        country=row.country_id,
        currency=market.currency,
        prices_include_tax=market.prices_include_tax,
        customer_group_id=group,
    )
    lists = config.price_lists_for(group)
    same_everywhere = market.prices_include_tax and all(info.includes_tax for info in lists)
    signature = (market.pk, group, None if same_everywhere else row.country_id)
    return Context(
        id=row.pk,
        price=price,
        signature=signature,
        list_ids=tuple(info.id for info in lists if info.currency == market.currency),
        pool_ids=config.pool_ids,
    )


def contexts_all() -> list[Context]:
    return [_context(row) for row in ListingContext.objects.order_by("id")]


def _contexts_changed(context_ids: Iterable[int], *, members: bool = True) -> None:
    concerns = []
    for context_id in context_ids:
        concerns.append(versions.listing(context_id))
        if members:
            concerns.append(versions.listing_members(context_id))
    versions.retire(*concerns)


def contexts_rebuild(
    stale: list[tuple[Context, str]], report: RefreshReport, *, at: datetime
) -> None:
    """Derive every row of the ``stale`` contexts again, in batches of products."""
    if not stale:
        return
    contexts = [context for context, _fingerprint in stale]
    last = 0
    while True:
        ids = list(
            Product.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH_SIZE]
        )
        if not ids:
            break
        with transaction.atomic():
            products_refresh(ids, contexts, report, at=at)
        if last == 0:
            _analyze()  # fresh statistics, so that the next batches read rows by key
        last = ids[-1]
    _analyze()
    with transaction.atomic():
        # Rows of products deleted meanwhile went with them (foreign key).
        for context, fingerprint in stale:
            ListingContext.objects.filter(pk=context.id).update(
                fingerprint=fingerprint, built_at=timezone.now()
            )
        _contexts_changed(context.id for context in contexts)
    report.contexts_rebuilt += len(stale)
    report.members_changed |= {context.id for context in contexts}


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pricing_listingentry")


# Changes by time


def due_changes_note(now: datetime) -> int:
    """Note the products whose sale started or ended, or whose publication came,
    since the last call. Returns how many were noted."""
    from catalog.services import products_changed

    with transaction.atomic():
        clock = ListingClock.objects.select_for_update().filter(pk=1).first()
        if clock is None:
            ListingClock.objects.create(pk=1, checked_until=now)
            return 0
        since = clock.checked_until
        if now <= since:
            return 0
        boundaries = (
            PriceEntry.objects.filter(sale_starts_at__gt=since, sale_starts_at__lte=now)
            .values_list("variant__product_id", flat=True)
            .union(
                PriceEntry.objects.filter(
                    sale_ends_at__gt=since, sale_ends_at__lte=now
                ).values_list("variant__product_id", flat=True),
                Product.objects.filter(
                    published_at__gte=published_until(since), published_at__lt=published_until(now)
                ).values_list("pk", flat=True),
            )
        )
        product_ids = set(boundaries)
        products_changed(product_ids)
        clock.checked_until = now
        clock.save(update_fields=["checked_until"])
    return len(product_ids)


# The outbox


def outbox_drain(report: RefreshReport, *, at: datetime, batch_size: int = BATCH_SIZE) -> None:
    """Derive the rows of the products noted in the outbox, a batch per transaction.

    A product itself changed: its rows in every context are derived again.
    Only prices or stock changed: only the contexts using that list or pool,
    and only their price and stock columns (unless the product was not
    listed there before).
    """
    contexts = contexts_all()
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # The oldest noted products, with every note about them (one
                # product is derived once, whatever the number of its notes).
                cursor.execute(
                    """
                    WITH batch AS (
                        SELECT product_id FROM catalog_productchange ORDER BY id
                        LIMIT %s FOR UPDATE SKIP LOCKED
                    )
                    DELETE FROM catalog_productchange
                    WHERE product_id IN (SELECT product_id FROM batch)
                    RETURNING product_id, source
                    """,
                    [batch_size],
                )
                noted = cursor.fetchall()
            if not noted:
                return
            sources: dict[int, set[str]] = {}
            for product_id, source in noted:
                sources.setdefault(product_id, set()).add(source)
            # Products with the same notes are derived together, in the contexts
            # that follow them.
            groups: dict[tuple[bool, tuple[int, ...]], list[int]] = {}
            for product_id, product_sources in sources.items():
                whole = "" in product_sources
                following = tuple(
                    context.id
                    for context in contexts
                    if whole or any(context.follows(source) for source in product_sources)
                )
                if following:
                    groups.setdefault((whole, following), []).append(product_id)
            by_id = {context.id: context for context in contexts}
            for (whole, context_ids), product_ids in sorted(groups.items()):
                products_refresh(
                    product_ids,
                    [by_id[context_id] for context_id in context_ids],
                    report,
                    at=at,
                    prices_only=not whole,
                )


def products_refresh(
    product_ids: Collection[int],
    contexts: Collection[Context],
    report: RefreshReport,
    *,
    at: datetime,
    prices_only: bool = False,
) -> None:
    """Derive the rows of ``product_ids`` in ``contexts`` and write those that differ.

    ``prices_only``: only prices or stock changed, so the rows listed already
    keep their other columns (a product not listed in one of the contexts is
    derived whole: a first price may list it).
    """
    if not contexts:
        return
    stored = _rows_stored(product_ids, [context.id for context in contexts])
    if prices_only:
        listed_everywhere = {
            product_id
            for product_id in product_ids
            if all((context.id, product_id) in stored for context in contexts)
        }
        wanted = _prices_derive(listed_everywhere, contexts, stored, at)
        wanted |= rows_derive(set(product_ids) - listed_everywhere, contexts, at=at)
    else:
        wanted = rows_derive(product_ids, contexts, at=at)
    changed = {key: row for key, row in wanted.items() if stored.get(key) != row}
    removed = [key for key in stored if key not in wanted]
    _write(changed, removed)
    members = {key[0] for key in removed} | {
        key[0]
        for key, row in changed.items()
        if key not in stored or stored[key][PRICE_COLUMNS:] != row[PRICE_COLUMNS:]
    }
    prices = {key[0] for key in changed} - members
    _contexts_changed(members)
    _contexts_changed(prices, members=False)
    report.products += len(product_ids)
    report.written += len(changed)
    report.removed += len(removed)
    report.members_changed |= members


Shown = dict[tuple[object, ...], dict[int, tuple[Offer, bool]]]


def _shown(variants: dict[int, list[int]], contexts: Collection[Context], at: datetime) -> Shown:
    """Per context signature: product → (the offer its card shows, whether any
    variant can be bought), for products with a price there."""
    variant_ids = [variant_id for ids in variants.values() for variant_id in ids]
    inputs = OfferInputs()
    shown: Shown = {}
    for context in contexts:
        # Contexts whose shown prices cannot differ share one derivation.
        if context.signature in shown:
            continue
        offers = offers_for(variant_ids, replace(context.price, at=at), inputs=inputs)
        cards = {}
        for product_id, own_ids in variants.items():
            own = [offers[variant_id] for variant_id in own_ids]
            offer, _varies, _availability = best_offer(own)
            if offer is not None and offer.price is not None:
                cards[product_id] = (offer, any(o.can_buy for o in own))
        shown[context.signature] = cards
    return shown


def _active_variants(product_ids: Collection[int]) -> dict[int, list[int]]:
    variants: dict[int, list[int]] = {}
    rows = (
        Variant.objects.filter(product_id__in=list(product_ids), is_active=True)
        .order_by("id")
        .values_list("product_id", "id")
    )
    for product_id, variant_id in rows:
        variants.setdefault(product_id, []).append(variant_id)
    return variants


def _prices_derive(
    product_ids: Collection[int],
    contexts: Collection[Context],
    stored: dict[tuple[int, int], Row],
    at: datetime,
) -> dict[tuple[int, int], Row]:
    """Rows of listed products with their price and stock columns derived again."""
    if not product_ids:
        return {}
    shown = _shown(_active_variants(product_ids), contexts, at)
    rows: dict[tuple[int, int], Row] = {}
    for context in contexts:
        cards = shown[context.signature]
        for product_id in product_ids:
            key = (context.id, product_id)
            if product_id in cards and key in stored:
                offer, can_buy = cards[product_id]
                rows[key] = (offer.price, offer.is_on_sale, can_buy, *stored[key][PRICE_COLUMNS:])  # type: ignore[assignment]
    return rows


def rows_derive(
    product_ids: Collection[int], contexts: Collection[Context], *, at: datetime | None = None
) -> dict[tuple[int, int], Row]:
    """(context id, product id) → row, for the products listed in each context."""
    at = at or timezone.now()
    if not product_ids:
        return {}
    products = {
        product.pk: product
        for product in Product.objects.filter(pk__in=list(product_ids)).only(
            "id",
            "is_published",
            "published_at",
            "visibility",
            "visibility_countries",
            "brand_id",
        )
    }
    if not products:
        return {}
    ids = list(products)
    categories = _grouped(Product.categories.through._default_manager, "category_id", ids)
    values = _grouped(Product.attribute_values.through._default_manager, "attributevalue_id", ids)
    options = Variant.option_values.through._default_manager.filter(
        variant__product_id__in=ids, variant__is_active=True
    ).values_list("variant__product_id", "attributevalue_id")
    for product_id, value_id in options:
        values.setdefault(product_id, set()).add(value_id)
    languages: dict[int, int] = {}
    for product_id, language in ProductTranslation.objects.filter(product_id__in=ids).values_list(
        "product_id", "language"
    ):
        languages[product_id] = languages.get(product_id, 0) | language_bit(language)
    shown = _shown(_active_variants(ids), contexts, at)
    horizon = published_until(at)
    published = {pk for pk, p in products.items() if p.is_published and p.published_at < horizon}
    rows: dict[tuple[int, int], Row] = {}
    for context in contexts:
        for product_id, (offer, can_buy) in shown[context.signature].items():
            product = products[product_id]
            if product_id not in published or not product.is_visible_in(context.price.country):
                continue
            rows[(context.id, product_id)] = (
                offer.price,  # type: ignore[assignment]
                offer.is_on_sale,
                can_buy,
                languages.get(product_id, 0),
                product.brand_id,
                product.published_at,
                tuple(sorted(categories.get(product_id, ()))),
                tuple(sorted(values.get(product_id, ()))),
            )
    return rows


def _grouped(manager: object, column: str, product_ids: list[int]) -> dict[int, set[int]]:
    grouped: dict[int, set[int]] = {}
    rows = manager.filter(product_id__in=product_ids).values_list(  # type: ignore[attr-defined]
        "product_id", column
    )
    for product_id, value in rows:
        grouped.setdefault(product_id, set()).add(value)
    return grouped


def _rows_stored(
    product_ids: Collection[int], context_ids: list[int]
) -> dict[tuple[int, int], Row]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT context_id, product_id, {", ".join(COLUMNS)} FROM pricing_listingentry
            WHERE product_id = ANY(%s) AND context_id = ANY(%s)
            """,  # noqa: S608 - only the fixed column names are interpolated
            [list(product_ids), context_ids],
        )
        return {
            (context_id, product_id): (
                *rest[:-2],
                tuple(rest[-2]),
                tuple(rest[-1]),
            )  # type: ignore[misc]
            for context_id, product_id, *rest in cursor.fetchall()
        }


def _write(changed: dict[tuple[int, int], Row], removed: list[tuple[int, int]]) -> None:
    """Delete and upsert rows: one statement each, whatever their number."""
    with connection.cursor() as cursor:
        if removed:
            cursor.execute(
                """
                DELETE FROM pricing_listingentry l
                USING unnest(%s::bigint[], %s::bigint[]) AS gone(context_id, product_id)
                WHERE l.context_id = gone.context_id AND l.product_id = gone.product_id
                """,
                [[key[0] for key in removed], [key[1] for key in removed]],
            )
        if changed:
            keys = sorted(changed)  # rows are locked in key order: writers queue up
            rows = [changed[key] for key in keys]
            columns: list[list[object]] = [[row[i] for row in rows] for i in range(6)]
            # Arrays of uneven length cannot be unnested as one array: as text each.
            for position in (6, 7):
                columns.append(["{" + ",".join(map(str, row[position])) + "}" for row in rows])  # type: ignore[arg-type]
            updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in COLUMNS)
            cursor.execute(
                f"""
                INSERT INTO pricing_listingentry (context_id, product_id, {", ".join(COLUMNS)})
                SELECT context_id, product_id, price, on_sale, in_stock, languages, brand_id,
                       published_at, category_ids::bigint[], value_ids::bigint[]
                FROM unnest(
                    %s::bigint[], %s::bigint[], %s::numeric[], %s::boolean[], %s::boolean[],
                    %s::integer[], %s::bigint[], %s::timestamptz[], %s::text[], %s::text[]
                ) AS new(context_id, product_id, {", ".join(COLUMNS)})
                ON CONFLICT (context_id, product_id) DO UPDATE SET {updates}
                """,  # noqa: S608 - only the fixed column names are interpolated
                [[key[0] for key in keys], [key[1] for key in keys], *columns],
            )


def listing_rebuild_all() -> RefreshReport:
    """Derive every context again from scratch (after a bulk import, or to repair)."""
    ListingContext.objects.update(fingerprint="")
    return listing_refresh()
