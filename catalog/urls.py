"""Storefront URLs under the market prefix ``/<language>-<country>/``."""

from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<str:slug>/", views.category, name="category"),
    path("p/<str:slug>/", views.product, name="product"),
    path("sku/<str:sku>/", views.sku_redirect, name="sku"),
    path("search/", views.search, name="search"),
]
