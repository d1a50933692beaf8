"""The category tree, cached whole: every storefront page needs part of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.models import Category, CategoryTranslation
from shop import versions
from shop.config_cache import config_cached
from shop.request_memo import forget, memoized

CACHE_KEY = "catalog:category-tree:v1"
CACHE_TIMEOUT = 60 * 30


@dataclass(frozen=True, slots=True)
class CategoryText:
    name: str
    slug: str
    description: str
    seo_title: str
    seo_description: str


@dataclass(frozen=True, slots=True)
class CategoryNode:
    id: int
    code: str
    path: str
    depth: int
    parent_id: int | None
    texts: dict[str, CategoryText]
    child_ids: tuple[int, ...] = ()

    def text(self, language: str) -> CategoryText | None:
        return self.texts.get(language) or self.texts.get("en")

    def name(self, language: str) -> str:
        text = self.text(language)
        return text.name if text else self.code


@dataclass(frozen=True)
class CategoryTree:
    nodes: dict[int, CategoryNode]
    root_ids: tuple[int, ...]
    by_slug: dict[tuple[str, str], int] = field(default_factory=dict)

    def find(self, language: str, slug: str) -> CategoryNode | None:
        node_id = self.by_slug.get((language, slug))
        return self.nodes.get(node_id) if node_id is not None else None

    def find_in_any_language(self, slug: str) -> CategoryNode | None:
        """A category whose slug in some language is ``slug`` (for switching language)."""
        for (_language, candidate), node_id in self.by_slug.items():
            if candidate == slug:
                return self.nodes[node_id]
        return None

    def ancestors(self, node: CategoryNode) -> list[CategoryNode]:
        """Root first, without ``node`` itself."""
        chain = []
        parent_id = node.parent_id
        while parent_id is not None:
            parent = self.nodes[parent_id]
            chain.append(parent)
            parent_id = parent.parent_id
        return list(reversed(chain))

    def children(self, node: CategoryNode | None) -> list[CategoryNode]:
        ids = self.root_ids if node is None else node.child_ids
        return [self.nodes[i] for i in ids]

    def subtree_ids(self, node: CategoryNode) -> list[int]:
        return [n.id for n in self.nodes.values() if n.path.startswith(node.path)]


def category_tree() -> CategoryTree:
    """Active categories with their texts in every language (cached; read once per request)."""
    return memoized(CACHE_KEY, _cached_category_tree)


def _cached_category_tree() -> CategoryTree:
    # In the process's memory (and Redis) until the tree's version moves on.
    return config_cached(versions.CATEGORY_TREE, "category-tree", _build, timeout=CACHE_TIMEOUT)


def category_tree_invalidate() -> None:
    """Retire the cached tree now (``category_tree_changed`` waits for the commit)."""
    forget(CACHE_KEY)
    versions.retire_now(versions.CATEGORY_TREE)


def _build() -> CategoryTree:
    categories = list(Category.objects.filter(is_active=True).order_by("path"))
    texts: dict[int, dict[str, CategoryText]] = {}
    for row in CategoryTranslation.objects.filter(category__is_active=True):
        texts.setdefault(row.category_id, {})[row.language] = CategoryText(
            row.name, row.slug, row.description, row.seo_title, row.seo_description
        )
    by_path = {category.path: category for category in categories}
    steplen = Category.steplen
    parent_of: dict[int, int | None] = {}
    children: dict[int | None, list[int]] = {}
    for category in categories:
        parent = by_path.get(category.path[:-steplen]) if category.depth > 1 else None
        if category.depth > 1 and (parent is None or parent.pk not in parent_of):
            continue  # under an inactive category, however far up: hidden with it
        parent_id = parent.pk if parent else None
        parent_of[category.pk] = parent_id
        children.setdefault(parent_id, []).append(category.pk)
    nodes = {
        category.pk: CategoryNode(
            id=category.pk,
            code=category.code,
            path=category.path,
            depth=category.depth,
            parent_id=parent_of[category.pk],
            texts=texts.get(category.pk, {}),
            child_ids=tuple(children.get(category.pk, [])),
        )
        for category in categories
        if category.pk in parent_of
    }
    by_slug = {
        (language, text.slug): node.id
        for node in nodes.values()
        for language, text in node.texts.items()
    }
    return CategoryTree(nodes=nodes, root_ids=tuple(children.get(None, [])), by_slug=by_slug)
