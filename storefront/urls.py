"""Storefront URLs: sitemaps, and the shopper's pages under ``/<language>-<country>/``."""

from django.urls import include, path, re_path

from storefront import sitemaps, views
from storefront.api import api

market_patterns = [
    path("", views.home, name="home"),
    path("c/<str:slug>/", views.category, name="category"),
    path("p/<str:slug>/", views.product, name="product"),
    path("sku/<str:sku>/", views.sku_redirect, name="sku"),
    path("search/", views.search, name="search"),
]

urlpatterns = [
    path("api/storefront/v1/", api.urls),
    path("sitemap.xml", sitemaps.index, name="sitemap-index"),
    path("sitemap-<str:section>.xml", sitemaps.section, name="sitemap-section"),
    re_path(r"^(?P<prefix>[a-z]{2,3}-[a-z]{2})/", include((market_patterns, "storefront"))),
]
