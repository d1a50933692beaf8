"""Storefront pages: home, category listing, product, SKU redirect, search."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from catalog.categories import CategoryNode, category_tree
from catalog.models import Product, Variant
from catalog.selectors import (
    Facets,
    product_page_data,
    product_slug_in_other_language,
    summary_from_counts,
    variant_for_sku,
)
from pricing.listing import (
    MAX_RESULTS,
    category_counts,
    listing_cached,
    listing_count,
    listing_product_ids,
    listing_size,
)
from pricing.offers import PriceContext, offers_for
from pricing.selectors import market_pricing
from shop import versions
from shop.context import MarketContext
from shop.page_cache import cached_page, page_depends_on, page_not_stored
from shop.selectors import market_directory
from storefront.jsonld import product_jsonld
from storefront.listing import (
    SEARCH_LIMIT,
    ListingFilters,
    context_listing_id,
    listing_query,
    search_results,
)
from storefront.page_queries import ListingForm, PagedQueryForm, ProductForm, SearchForm
from storefront.presenters import (
    CardText,
    ProductCard,
    card_texts_cached,
    cards_html,
    cards_with_offers,
)

PAGE_SIZE = 24


def _context(request: HttpRequest, *, listing: bool = False) -> MarketContext:
    """The request's market; declares what every storefront page shows of it.

    ``listing``: the page lists products, so it shows the shopper's listing
    too (its versions are read with the others, in the same round trip).
    """
    context: MarketContext | None = getattr(request, "market_context", None)
    if context is None:
        raise Http404
    lists = market_pricing(context.market.id).price_lists_for(context.customer_group_id)
    listing_id = context_listing_id(context) if listing else None
    page_depends_on(
        versions.MARKETS,
        versions.PRICING,
        versions.CATEGORY_TREE,
        versions.CATALOGUE,
        *(versions.price_list(info.id) for info in lists),
        *(
            (versions.listing_members(listing_id), versions.listing(listing_id))
            if listing_id is not None
            else ()
        ),
    )
    return context


def _page(form: PagedQueryForm, total: int) -> Page:
    """The requested page of ``total`` results (the items come from the card cache).

    A number past the last shows the last page, which is not stored: any
    number would otherwise be a cache entry of its own.
    """
    requested = form.param("page")
    page = Paginator(range(total), PAGE_SIZE).get_page(requested)
    if page.number != requested:
        page_not_stored()
    return page


@cached_page()
def home(request: HttpRequest, prefix: str) -> HttpResponse:
    context = _context(request, listing=True)
    listing_id = context_listing_id(context)
    cards: list[ProductCard] = []
    if listing_id is not None:
        page_depends_on(versions.listing_members(listing_id))
        query = listing_query(context, listing_id)
        newest = listing_cached(
            "home",
            (listing_id, context.language),
            [versions.listing_members(listing_id)],
            lambda: listing_product_ids(query, "newest", offset=0, limit=12),
        )
        cards = cards_with_offers(card_texts_cached(context, newest), context)
    tree = category_tree()
    return render(
        request,
        "storefront/home.html",
        {
            "cards": cards,
            "cards_html": cards_html(cards, context),
            "categories": [_category_link(node, context) for node in tree.children(None)],
        },
    )


def _category_link(node: CategoryNode, context: MarketContext) -> dict[str, str]:
    text = node.text(context.language)
    slug = text.slug if text else node.code
    return {"name": node.name(context.language), "url": context.url(f"/c/{slug}/")}


@cached_page(ListingForm.canonical_query_of)
def category(request: HttpRequest, prefix: str, slug: str) -> HttpResponse:
    context = _context(request, listing=True)
    tree = category_tree()
    node = tree.find(context.language, slug)
    if node is None:
        # A slug of another language (after switching language): this language's URL.
        other = tree.find_in_any_language(slug)
        text = other.texts.get(context.language) if other else None
        if text is None:
            raise Http404(_("No such category here."))
        query = request.META.get("QUERY_STRING", "")
        url = context.url(f"/c/{text.slug}/") + (f"?{query}" if query else "")
        return HttpResponsePermanentRedirect(url)
    form = ListingForm.of(request)
    filters = form.filters()
    listing = _category_listing(context, tree.subtree_ids(node), filters, form)
    text = node.text(context.language)
    cards = cards_with_offers(listing.texts, context)
    return render(
        request,
        "storefront/category.html",
        {
            "category": node,
            "category_name": node.name(context.language),
            "category_text": text,
            "breadcrumbs": [_category_link(a, context) for a in tree.ancestors(node)],
            "subcategories": [_category_link(c, context) for c in tree.children(node)],
            "page": listing.page,
            "total": listing.total,
            "more_than": listing.more_than,
            "cards": cards,
            "cards_html": cards_html(cards, context),
            "facets": listing.facets,
            "filters": filters,
            "sorts": form.fields["sort"].choices,  # type: ignore[attr-defined]
            "query": form.canonical_query(without="page"),
            "currency": context.currency,
            # Only pages in the index carry alternates (base.html): a refined one needs none.
            "hreflang_alternates": [] if filters.is_refined else category_alternates(request, node),
            "canonical_url": _listing_canonical(request, listing.page),
            # Filtered and sorted variants stay out of the index; their links are followed.
            "noindex": filters.is_refined,
        },
    )


@dataclass(frozen=True)
class _Listing:
    page: Page
    total: int | None  # None: more than MAX_RESULTS, not counted further
    more_than: int | None
    texts: list[CardText]
    facets: Facets


def _category_listing(
    context: MarketContext,
    category_ids: list[int],
    filters: ListingFilters,
    form: ListingForm,
) -> _Listing:
    """Count, facets, page and card texts of a category listing.

    Counts, facets and a page's order come from the process's listing index
    (``pricing.listing_index``), which costs less than a cache round trip; it
    keeps a whole category's counts, shared by every filter combination.
    """
    listing_id = context_listing_id(context)
    if listing_id is None:
        page = Paginator(range(0), PAGE_SIZE).get_page(1)
        return _Listing(page, 0, None, [], Facets(brands=[], attributes=[]))
    members, rows = versions.listing_members(listing_id), versions.listing(listing_id)
    page_depends_on(members, rows)
    counts = category_counts(listing_id, context.language, category_ids)
    summary = summary_from_counts(counts, context.language)
    query = listing_query(context, listing_id, filters, category_ids)
    total: int = summary.total
    if filters.is_filtered:
        total = listing_count(query)
    shown = min(total, MAX_RESULTS)
    page = _page(form, shown)
    start = (page.number - 1) * PAGE_SIZE
    shown_ids = listing_product_ids(
        query,
        filters.sort,
        offset=start,
        limit=PAGE_SIZE,
        share=summary.total / max(listing_size(listing_id), 1),
    )
    texts = card_texts_cached(context, shown_ids)
    counted = total if total <= MAX_RESULTS or not filters.is_filtered else None
    more_than = MAX_RESULTS if total > MAX_RESULTS else None
    return _Listing(page, counted, more_than, texts, summary.facets)


def _listing_canonical(request: HttpRequest, page: Page) -> str:
    """The listing's own page without filters or sort: page 2 is its own URL, not page 1's."""
    url = request.build_absolute_uri(request.path_info)
    return f"{url}?page={page.number}" if page.number > 1 else url


def category_alternates(request: HttpRequest, node: CategoryNode) -> list[tuple[str, str]]:
    """hreflang links for a category: each language's own slug, in every market country."""
    directory = market_directory()
    alternates = []
    for market in directory.markets:
        for country in market.countries:
            for language in market.languages:
                text = node.texts.get(language)
                if text is not None:
                    prefix = market.prefix_for(language=language, country=country)
                    url = request.build_absolute_uri(f"/{prefix}/c/{text.slug}/")
                    alternates.append((f"{language}-{country}", url))
    default = directory.default
    text = node.texts.get(default.default_language) if default else None
    if alternates and text is not None:
        alternates.append(("x-default", request.build_absolute_uri(f"/c/{text.slug}/")))
    return alternates


@cached_page(SearchForm.canonical_query_of)
def search(request: HttpRequest, prefix: str) -> HttpResponse:
    context = _context(request, listing=True)
    form = SearchForm.of(request)
    text = form.param("q")
    listing_id = context_listing_id(context)
    members = versions.listing_members(listing_id or 0)
    page_depends_on(members)
    # The ranked matches wait in the cache for a change of the listing's members
    # or of the catalogue; prices and stock are read live.
    ranked = listing_cached(
        "search",
        (listing_id, context.language, text),
        [members, versions.CATALOGUE],
        lambda: search_results(context, text),
    )
    total = min(len(ranked), SEARCH_LIMIT)
    page = _page(form, total)
    start = (page.number - 1) * PAGE_SIZE
    end = min(start + PAGE_SIZE, total)  # never the extra candidate that only tells "more"
    cards = cards_with_offers(card_texts_cached(context, ranked[start:end]), context)
    return render(
        request,
        "storefront/search.html",
        {
            "q": text,
            "more_than": SEARCH_LIMIT if len(ranked) > SEARCH_LIMIT else None,
            "page": page,
            "cards": cards,
            "cards_html": cards_html(cards, context),
            "query": form.canonical_query(without="page"),
            # Result pages of the shop's own search are not for search engines.
            "noindex": True,
        },
    )


@cached_page(ProductForm.canonical_query_of)
def product(request: HttpRequest, prefix: str, slug: str) -> HttpResponse:
    context = _context(request)
    page_data = product_page_data(context, slug)
    if page_data is None:
        # A slug of another language (e.g. from x-default): move to this language's URL.
        own_slug = product_slug_in_other_language(context, slug)
        if own_slug and own_slug != slug:
            query = request.META.get("QUERY_STRING", "")
            url = context.url(f"/p/{own_slug}/") + (f"?{query}" if query else "")
            return HttpResponsePermanentRedirect(url)
        raise Http404(_("This product is not available here."))
    item, slugs = page_data
    variants = list(item.variants.all())
    page_depends_on(*(versions.stock(variant.pk) for variant in variants))
    offers = offers_for(variants, PriceContext.from_market(context))
    requested = ProductForm.of(request).param("variant")
    selected = next((v for v in variants if v.sku == requested), None)
    if requested and selected is None:
        page_not_stored()
    if selected is None:
        selected = next(
            (v for v in variants if offers[v.pk].can_buy), variants[0] if variants else None
        )
    canonical = request.build_absolute_uri(context.url(f"/p/{slug}/"))
    tree = category_tree()
    category_node = tree.nodes.get(item.primary_category_id) if item.primary_category_id else None
    breadcrumbs = []
    if category_node is not None:
        breadcrumbs = [
            _category_link(n, context) for n in [*tree.ancestors(category_node), category_node]
        ]
    images = list(item.images.all())
    return render(
        request,
        "storefront/product.html",
        {
            "product": item,
            "variants": [
                (variant, offers[variant.pk], _variant_label(variant, context.language))
                for variant in variants
            ],
            "selected": selected,
            "offer": offers[selected.pk] if selected else None,
            "images": [
                (image.detail.url, image.alt_in(context.language) or item.name)  # type: ignore[attr-defined]
                for image in images
                if image.detail
            ],
            "attributes": [
                (value.attribute.name_in(context.language), value.name_in(context.language))
                for value in item.attribute_values.all()
            ],
            "breadcrumbs": breadcrumbs,
            "canonical_url": canonical,
            "hreflang_alternates": product_alternates(request, item, slugs),
            "jsonld": product_jsonld(
                request, item, variants, offers, selected, images, canonical, context
            ),
        },
    )


def _variant_label(variant: Variant, language: str) -> str:
    values = [value.name_in(language) for value in variant.option_values.all()]
    return " / ".join(values) or variant.sku


def product_alternates(
    request: HttpRequest, item: Product, slugs: dict[str, str]
) -> list[tuple[str, str]]:
    """hreflang links for every market country where the product is visible, per language."""
    directory = market_directory()
    alternates = []
    for market in directory.markets:
        for country in market.countries:
            if not item.is_visible_in(country):
                continue
            for language in market.languages:
                if language in slugs:
                    prefix = market.prefix_for(language=language, country=country)
                    url = request.build_absolute_uri(f"/{prefix}/p/{slugs[language]}/")
                    alternates.append((f"{language}-{country}", url))
    default = directory.default
    if (
        alternates
        and default is not None
        and default.default_language in slugs
        and item.is_visible_in(default.default_country)
    ):
        x_default = f"/p/{slugs[default.default_language]}/"
        alternates.append(("x-default", request.build_absolute_uri(x_default)))
    return alternates


def sku_redirect(request: HttpRequest, prefix: str, sku: str) -> HttpResponse:
    """``/<prefix>/sku/<SKU>/`` → the product page showing that variant."""
    context = _context(request)
    found = variant_for_sku(context, sku)
    if found is None:
        raise Http404(_("No product with this SKU is available here."))
    variant, slug = found
    return redirect(context.url(f"/p/{slug}/") + f"?variant={variant.sku}")
