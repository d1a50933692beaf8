"""Writes that change what the storefront shows of the catalogue retire its caches here.

Admin screens, imports and demo data call these after changing products,
variants, brands, attributes, images, texts or categories (see shop.versions).
"""

from __future__ import annotations

from django.db import transaction

from catalog.categories import category_tree_invalidate
from shop import versions


def catalogue_changed() -> None:
    """Product texts, facets or product pages changed: retire them after the commit."""
    versions.retire(versions.CATALOGUE)


def category_tree_changed() -> None:
    """Categories changed: retire the tree and the listings built on it after the commit."""
    transaction.on_commit(category_tree_invalidate)
    versions.retire(versions.CATEGORY_TREE, versions.CATALOGUE)
