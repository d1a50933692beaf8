"""Writes that change what the storefront shows of the catalogue retire its caches here.

Admin screens, imports and demo data call these after changing products,
variants, brands, attributes, images, texts or categories (see shop.versions).
A change to what a product's listing rows hold (visibility, publication,
categories, attributes, texts, variants, prices, stock) also names the
products, in the same transaction, so the listing table follows
(``products_changed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.db import connection, transaction

from catalog.categories import category_tree_invalidate
from shop import versions


def catalogue_changed(product_ids: Iterable[int] = ()) -> None:
    """Product texts, facets or product pages changed: retire them after the commit.

    ``product_ids``: the products whose listing rows may change with it.
    """
    products_changed(product_ids)
    versions.retire(versions.CATALOGUE)


def category_tree_changed() -> None:
    """Categories changed: retire the tree and the listings built on it after the commit."""
    transaction.on_commit(category_tree_invalidate)
    versions.retire(versions.CATEGORY_TREE, versions.CATALOGUE)


def products_changed(product_ids: Iterable[int], *, source: str = "") -> None:
    """Note that these products' listing rows must be derived again (one INSERT).

    ``source``: what changed, when only prices or stock did (see ``ProductChange``).
    """
    ids = sorted({int(product_id) for product_id in product_ids})
    if ids:
        _note("SELECT DISTINCT unnest(%s::bigint[])", [ids], source)


def variants_changed(variant_ids: Iterable[int], *, source: str = "") -> None:
    """``products_changed`` for the products of these variants (one INSERT)."""
    ids = sorted({int(variant_id) for variant_id in variant_ids})
    if ids:
        _note("SELECT DISTINCT product_id FROM catalog_variant WHERE id = ANY(%s)", [ids], source)


def all_products_changed(*, source: str = "") -> None:
    """Every product's listing rows must be derived again (one INSERT)."""
    _note("SELECT id FROM catalog_product", [], source)


class ProductChangeListener(Protocol):
    def __call__(self, products_sql: str, params: list[list[int]], source: str) -> None: ...


_LISTENERS: list[ProductChangeListener] = []


def product_change_listener_register(listener: ProductChangeListener) -> None:
    """Call ``listener`` too whenever products are noted as changed, in the same
    transaction: with the SQL selecting their ids (one column), its parameters
    and the ``source``. An app above catalog registers it when it is ready
    (marketplace sync writes its own outbox rows); catalog cannot import it.
    """
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def _note(products_sql: str, params: list[list[int]], source: str) -> None:
    """Write an outbox row for each product id ``products_sql`` selects, and tell
    the registered listeners."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_productchange (product_id, source, created_at) "  # noqa: S608
            f"SELECT changed.id, %s, now() FROM ({products_sql}) AS changed(id)",
            [source, *params],
        )
    for listener in _LISTENERS:
        listener(products_sql, params, source)
