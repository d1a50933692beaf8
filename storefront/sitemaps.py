"""Sitemaps: an index with one sitemap per country/language prefix and content type.

Each lists only the products visible in that country and the categories
translated into that language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.http import Http404, HttpRequest, HttpResponse

from catalog.categories import category_tree
from catalog.selectors import sitemap_products
from shop.selectors import market_directory


class ProductSitemap(Sitemap[dict[str, Any]]):
    limit = 10000
    changefreq = "daily"

    def __init__(self, prefix: str, country: str, language: str) -> None:
        self.prefix, self.country, self.language = prefix, country, language

    def items(self) -> Any:
        return sitemap_products(self.country, self.language)

    def location(self, item: dict[str, Any]) -> str:
        return f"/{self.prefix}/p/{item['slug']}/"

    def lastmod(self, item: dict[str, Any]) -> datetime:
        return item["product__updated_at"]


class CategorySitemap(Sitemap[str]):
    changefreq = "weekly"

    def __init__(self, prefix: str, language: str) -> None:
        self.prefix, self.language = prefix, language

    def items(self) -> list[str]:
        slugs = []
        for node in category_tree().nodes.values():
            text = node.texts.get(self.language)
            if text is not None:
                slugs.append(text.slug)
        return sorted(slugs)

    def location(self, item: str) -> str:
        return f"/{self.prefix}/c/{item}/"


def _sections() -> dict[str, type[Sitemap[Any]] | Sitemap[Any]]:
    sections: dict[str, type[Sitemap[Any]] | Sitemap[Any]] = {}
    for market in market_directory().markets:
        for country in market.countries:
            for language in market.languages:
                prefix = market.prefix_for(language=language, country=country)
                sections[f"{prefix}-products"] = ProductSitemap(prefix, country, language)
                sections[f"{prefix}-categories"] = CategorySitemap(prefix, language)
    return sections


def index(request: HttpRequest) -> HttpResponse:
    return sitemap_views.index(request, _sections(), sitemap_url_name="sitemap-section")


def section(request: HttpRequest, section: str) -> HttpResponse:
    sections = _sections()
    if section not in sections:
        raise Http404("No such sitemap.")
    return sitemap_views.sitemap(request, sections, section=section)
