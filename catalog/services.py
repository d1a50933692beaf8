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
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO catalog_productchange (product_id, source, created_at) "
                "SELECT unnest(%s::bigint[]), %s, now()",
                [ids, source],
            )


def variants_changed(variant_ids: Iterable[int], *, source: str = "") -> None:
    """``products_changed`` for the products of these variants (one INSERT)."""
    ids = sorted({int(variant_id) for variant_id in variant_ids})
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO catalog_productchange (product_id, source, created_at) "
                "SELECT DISTINCT product_id, %s, now() FROM catalog_variant WHERE id = ANY(%s)",
                [source, ids],
            )


def all_products_changed(*, source: str = "") -> None:
    """Every product's listing rows must be derived again (one INSERT)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_productchange (product_id, source, created_at) "
            "SELECT id, %s, now() FROM catalog_product",
            [source],
        )
