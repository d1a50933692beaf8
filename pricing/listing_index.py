"""A context's listing in process memory: pages, counts and facet counts without a query.

The listing table answers every listing read with one indexed query, but a
query's cost grows with the catalogue, and most listing URLs are asked only
once (every sort × filter × page of every category), so caching their answers
helps little. Each process therefore keeps the rows of the contexts it
serves as bitsets: row ``i`` is the ``i``-th product in price order (price,
then product id), and a mask (a Python ``int``) has bit ``i`` set when row
``i`` belongs to a category, brand, attribute value, language or the
in-stock rows. A listing's rows are then a few ``&`` and ``|`` of masks, a
price range is a run of bits, the count is ``int.bit_count`` and a page in
price order is read from the mask's lowest (or highest) bits; the newest
and name orders are walked, or the few matching rows sorted, whichever
costs less.

An index is built from ``pricing.ListingEntry`` in one query and keyed by
the context's listing version (``shop.versions.listing``), which every
write to the context's rows retires when it commits: the next read after a
change builds it again, in a thread while the earlier index answers (the
pages it serves meanwhile are not stored), so no shopper waits for a build
but the first. When the version cannot be read (the cache is down), there
is no index and ``pricing.listing`` queries the table. An
index also expires after ``TIMEOUT`` seconds, which bounds what a row changed
behind the services' back can do. At most ``settings.LISTING_INDEX_CONTEXTS``
contexts are kept, the least recently used dropped first. On 100,000
products a context takes about 6 MB and a quarter of a second to build; each
language sorted by name adds about 10 MB, shared by the contexts.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection

from pricing.listing_upkeep import LANGUAGE_BITS, language_bit
from shop import versions
from shop.db import gc_paused
from shop.page_cache import page_not_stored

if TYPE_CHECKING:
    from pricing.listing import ListingQuery

logger = logging.getLogger(__name__)

TIMEOUT = 60 * 10
KEPT_COUNTS = 512  # whole-category counts kept per index
# Prices are kept as whole numbers of 1/10,000 (the listing table's four decimals).
PRICE_SCALE = 10_000

# The set bits of each byte value, lowest first.
_BYTE_BITS = tuple(tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256))


def _mask(rows: Iterable[int], size: int) -> int:
    """The mask with the bits of ``rows`` set."""
    bits = bytearray((size + 7) // 8)
    for row in rows:
        bits[row >> 3] |= 1 << (row & 7)
    return int.from_bytes(bits, "little")


def _rows(mask: int) -> list[int]:
    """The set bits of ``mask``, lowest first (a pass over its 64-bit words)."""
    words = (mask.bit_length() + 63) // 64
    data = mask.to_bytes(words * 8, "little")
    rows: list[int] = []
    for word_number, word in enumerate(memoryview(data).cast("Q")):
        if word:
            base = word_number * 64
            for byte_number in range(8):
                byte = (word >> (byte_number * 8)) & 0xFF
                if byte:
                    first = base + byte_number * 8
                    rows.extend(first + bit for bit in _BYTE_BITS[byte])
    return rows


def _nth(mask: int, n: int) -> int:
    """The position of the ``n``-th set bit of ``mask`` (0: the lowest); it has more than ``n``."""
    low, high = 0, mask.bit_length() - 1
    while low < high:
        middle = (low + high) // 2
        if (mask & ((1 << (middle + 1)) - 1)).bit_count() > n:
            high = middle
        else:
            low = middle + 1
    return low


def _ascending(mask: int, offset: int, limit: int) -> list[int]:
    """Set bits ``offset`` … ``offset + limit - 1`` of ``mask``, lowest first."""
    if offset:
        if mask.bit_count() <= offset:
            return []
        start = _nth(mask, offset)
        mask = mask >> start << start
    rows: list[int] = []
    while mask and len(rows) < limit:
        row = (mask & -mask).bit_length() - 1
        rows.append(row)
        mask ^= 1 << row
    return rows


def _descending(mask: int, offset: int, limit: int) -> list[int]:
    """Set bits ``offset`` … ``offset + limit - 1`` of ``mask``, highest first."""
    total = mask.bit_count()
    if total <= offset:
        return []
    if offset:
        mask &= (1 << (_nth(mask, total - 1 - offset) + 1)) - 1
    rows: list[int] = []
    while mask and len(rows) < limit:
        row = mask.bit_length() - 1
        rows.append(row)
        mask ^= 1 << row
    return rows


@dataclass
class _Order:
    """Rows in a sort order other than price's, and each row's rank in it (-1: not in it)."""

    rows: array[int]
    rank: array[int]


def _order(rows: Sequence[int], size: int) -> _Order:
    rank = array("l", [-1]) * size
    for place, row in enumerate(rows):
        rank[row] = place
    return _Order(array("l", rows), rank)


@dataclass
class ListingIndex:
    """One context's listing rows as bitsets (see the module's text)."""

    context_id: int
    version: int
    built_at: float
    product_ids: array[int]  # row -> product id, by price then product id
    prices: array[int]  # row -> price in units of PRICE_SCALE (ascending)
    in_stock: int
    languages: dict[int, int]  # language bit -> rows with a text in it
    categories: dict[int, int]
    brands: dict[int, int]
    values: dict[int, int]
    newest: _Order
    _names: dict[tuple[str, int], _Order] = field(default_factory=dict)
    _rows_of_products: dict[int, int] | None = None
    _counts: dict[ListingQuery, list[tuple[str, int, int]]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.product_ids)

    def select(self, query: ListingQuery) -> int:
        """The mask of the rows ``query`` selects."""
        mask = self.languages.get(language_bit(query.language), 0)
        if query.category_ids is not None:
            mask &= _any(self.categories, query.category_ids)
        if query.brand_ids:
            mask &= _any(self.brands, query.brand_ids)
        for group in query.value_groups:
            mask &= _any(self.values, group)
        if query.price_min is not None or query.price_max is not None:
            low, high = 0, self.size
            if query.price_min is not None:
                least = (query.price_min * PRICE_SCALE).to_integral_value(ROUND_CEILING)
                low = bisect.bisect_left(self.prices, int(least))
            if query.price_max is not None:
                most = (query.price_max * PRICE_SCALE).to_integral_value(ROUND_FLOOR)
                high = bisect.bisect_right(self.prices, int(most))
            mask &= ((1 << high) - 1) ^ ((1 << low) - 1) if high > low else 0
        if query.in_stock_only:
            mask &= self.in_stock
        return mask

    def count(self, query: ListingQuery) -> int:
        return self.select(query).bit_count()

    def counts(self, query: ListingQuery) -> list[tuple[str, int, int]]:
        """The listing's size and its products per brand and attribute value (kind, id, count)."""
        mask = self.select(query)
        counts = [("total", 0, mask.bit_count())]
        if mask:
            for kind, masks in (("brand", self.brands), ("value", self.values)):
                for key, rows in masks.items():
                    count = (mask & rows).bit_count()
                    if count:
                        counts.append((kind, key, count))
        return counts

    def counts_kept(self, query: ListingQuery) -> list[tuple[str, int, int]]:
        """``counts``, kept with the index for the next request (whole categories: a
        few hundred queries at most)."""
        found = self._counts.get(query)
        if found is None:
            if len(self._counts) >= KEPT_COUNTS:
                self._counts.clear()
            found = self._counts[query] = self.counts(query)
        return found

    def page(self, query: ListingQuery, sort: str, *, offset: int, limit: int) -> list[int]:
        """Product ids of rows ``offset`` … ``offset + limit - 1`` of the listing by ``sort``."""
        mask = self.select(query)
        if sort == "price":
            rows = _ascending(mask, offset, limit)
        elif sort == "-price":
            rows = _descending(mask, offset, limit)
        else:
            order = self.names(query.language) if sort == "name" else self.newest
            rows = self._in_order(mask, order, offset, limit)
        return [self.product_ids[row] for row in rows]

    def newest_of(self, query: ListingQuery, product_ids: Sequence[int], limit: int) -> list[int]:
        """Of ``product_ids``, those ``query`` selects, newest first, at most ``limit``."""
        positions = self.rows_of_products()
        rows = [positions[pk] for pk in product_ids if pk in positions]
        mask = self.select(query) & _mask(rows, self.size)
        return [self.product_ids[row] for row in self._in_order(mask, self.newest, 0, limit)]

    def rows_of_products(self) -> dict[int, int]:
        if self._rows_of_products is None:
            self._rows_of_products = {pk: row for row, pk in enumerate(self.product_ids)}
        return self._rows_of_products

    def names(self, language: str) -> _Order:
        """Rows by product name in ``language`` (then product id), as the database sorts them."""
        catalogue, product_ids = _name_order(language)
        key = (language, catalogue)
        order = self._names.get(key)
        if order is None:
            positions = self.rows_of_products()
            named = [positions[pk] for pk in product_ids if pk in positions]
            order = _order(named, self.size)
            kept = {other: rows for other, rows in self._names.items() if other[0] != language}
            self._names = {key: order, **kept}
        return order

    def _in_order(self, mask: int, order: _Order, offset: int, limit: int) -> list[int]:
        """Rows ``offset`` … ``offset + limit - 1`` of ``mask`` in ``order``: walking the
        order when the mask is dense, else sorting the mask's rows by their rank."""
        matching = mask.bit_count()
        wanted = offset + limit
        if matching <= offset or not limit:
            return []
        # Walking tests about wanted × size / matching rows; sorting reads the mask's
        # words and ranks its rows.
        if wanted * self.size / matching <= self.size / 32 + matching * 4:
            data = mask.to_bytes((self.size + 7) // 8 or 1, "little")
            found = []
            for row in order.rows:
                if data[row >> 3] >> (row & 7) & 1:
                    found.append(row)
                    if len(found) == wanted:
                        break
            return found[offset:]
        rank = order.rank
        ranked = [row for row in _rows(mask) if rank[row] >= 0]
        return heapq.nsmallest(wanted, ranked, key=rank.__getitem__)[offset:]


def _any(masks: dict[int, int], keys: Iterable[int]) -> int:
    union = 0
    for key in keys:
        union |= masks.get(key, 0)
    return union


def _name_order(language: str) -> tuple[int, list[int]]:
    """Product ids by name in ``language`` (the same for every context), kept in memory
    until the catalogue changes, and the catalogue version they were read at.

    After a change the earlier order answers while a thread reads the new one
    (``LISTING_INDEX_BACKGROUND_BUILD``), as for the index itself.
    """
    catalogue = versions.version(versions.CATALOGUE)
    with _lock:
        found = _names.get((language, catalogue))
        earlier = next(((key[1], ids) for key, ids in _names.items() if key[0] == language), None)
    if found is not None:
        return catalogue, found
    if earlier is not None and settings.LISTING_INDEX_BACKGROUND_BUILD:
        _in_background(("names", language), lambda: _read_names(language, catalogue))
        page_not_stored()
        return earlier
    return catalogue, _read_names(language, catalogue)


def _read_names(language: str, catalogue: int) -> list[int]:
    with gc_paused(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id FROM catalog_producttranslation WHERE language = %s "
            "ORDER BY name, product_id",
            [language],
        )
        product_ids = [pk for (pk,) in cursor.fetchall()]
    with _lock:
        for other in [key for key in _names if key[0] == language]:
            del _names[other]
        _names[(language, catalogue)] = product_ids
    return product_ids


def _build(context_id: int, version: int) -> ListingIndex:
    """The context's index from its rows (one query)."""
    with gc_paused(), connection.cursor() as cursor:
        cursor.execute(
            # The newest order comes ranked: reading 100,000 dates costs more than the
            # rest. Prices come as whole numbers of 1/PRICE_SCALE (exact: four decimals).
            "SELECT product_id, (price * %s)::bigint, in_stock, languages, brand_id, "
            "category_ids, value_ids, "
            "row_number() OVER (ORDER BY published_at DESC, product_id DESC) - 1 "
            "FROM pricing_listingentry WHERE context_id = %s ORDER BY price, product_id",
            [PRICE_SCALE, context_id],
        )
        rows = cursor.fetchall()
        return _index_of_rows(context_id, version, rows)


def _index_of_rows(context_id: int, version: int, rows: list[tuple[Any, ...]]) -> ListingIndex:
    size = len(rows)
    in_stock: list[int] = []
    language_rows: dict[int, list[int]] = {bit: [] for bit in LANGUAGE_BITS.values()}
    category_rows: dict[int, list[int]] = {}
    brand_rows: dict[int, list[int]] = {}
    value_rows: dict[int, list[int]] = {}
    newest = [0] * size
    for row, (_pk, _price, stocked, languages, brand_id, cats, vals, newest_rank) in enumerate(
        rows
    ):
        if stocked:
            in_stock.append(row)
        for bit, members in language_rows.items():
            if languages & bit:
                members.append(row)
        if brand_id is not None:
            brand_rows.setdefault(brand_id, []).append(row)
        for category_id in cats:
            category_rows.setdefault(category_id, []).append(row)
        for value_id in vals:
            value_rows.setdefault(value_id, []).append(row)
        newest[newest_rank] = row
    return ListingIndex(
        context_id=context_id,
        version=version,
        built_at=time.monotonic(),
        product_ids=array("q", [row[0] for row in rows]),
        prices=array("q", [row[1] for row in rows]),
        in_stock=_mask(in_stock, size),
        languages={bit: _mask(members, size) for bit, members in language_rows.items()},
        categories={key: _mask(members, size) for key, members in category_rows.items()},
        brands={key: _mask(members, size) for key, members in brand_rows.items()},
        values={key: _mask(members, size) for key, members in value_rows.items()},
        newest=_order(newest, size),
    )


_lock = threading.Lock()
_indexes: OrderedDict[int, ListingIndex] = OrderedDict()
_names: dict[tuple[str, int], list[int]] = {}
_building: dict[int, threading.Lock] = {}
_background: set[tuple[str, object]] = set()  # what threads are building


def listing_index(context_id: int) -> ListingIndex | None:
    """The context's index as of its current listing version, built when that moved on;
    None when the version cannot be read.

    When an index of an earlier version is at hand, it answers while a thread
    builds the new one (``LISTING_INDEX_BACKGROUND_BUILD``), and the page being
    rendered is not stored: it may show the listing as it was a moment ago.
    """
    version = versions.version(versions.listing(context_id))
    if version == versions.UNKNOWN:
        return None
    index = _current(context_id, version)
    if index is not None:
        return index
    if settings.LISTING_INDEX_BACKGROUND_BUILD:
        earlier = _current(context_id, None)
        if earlier is not None:
            _in_background(("context", context_id), lambda: _build_once(context_id, version))
            page_not_stored()
            return earlier
    return _build_once(context_id, version)


def _build_once(context_id: int, version: int) -> ListingIndex:
    """The index of ``version``: built here unless another thread is building it."""
    with _lock:
        building = _building.setdefault(context_id, threading.Lock())
    with building:  # one build per context at a time; the others wait and use it
        index = _current(context_id, version)
        if index is None:
            index = _build(context_id, version)
            with _lock:
                _indexes[context_id] = index
                _indexes.move_to_end(context_id)
                while len(_indexes) > settings.LISTING_INDEX_CONTEXTS:
                    _indexes.popitem(last=False)
    return index


def _in_background(key: tuple[str, object], work: Callable[[], object]) -> None:
    """Run ``work`` in a thread of its own unless one runs for ``key`` already."""
    with _lock:
        if key in _background:
            return
        _background.add(key)

    def run() -> None:
        try:
            work()
        except Exception:  # the next request tries again; its shopper is not the one to fail
            logger.exception("Building the listing index's %s %s failed", *key)
        finally:
            connection.close()  # the thread's own connection
            with _lock:
                _background.discard(key)

    threading.Thread(target=run, name=f"listing-index-{key[0]}-{key[1]}", daemon=True).start()


def _current(context_id: int, version: int | None) -> ListingIndex | None:
    """The context's index of ``version`` (None: of any version) unless it expired."""
    with _lock:
        index = _indexes.get(context_id)
        if index is None or (version is not None and index.version != version):
            return None
        if time.monotonic() - index.built_at > TIMEOUT:
            return None
        _indexes.move_to_end(context_id)
        return index


def listing_index_clear() -> None:
    """Forget every index (tests; a process that wants its memory back)."""
    with _lock:
        _indexes.clear()
        _names.clear()
