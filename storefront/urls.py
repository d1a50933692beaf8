"""Storefront URLs: sitemaps, and the shopper's pages under ``/<language>-<country>/``."""

from django.urls import include, path, re_path

from storefront import accounts, checkout_views, dealer_views, sitemaps, views
from storefront.api import api

market_patterns = [
    path("", views.home, name="home"),
    path("c/<str:slug>/", views.category, name="category"),
    path("p/<str:slug>/", views.product, name="product"),
    path("sku/<str:sku>/", views.sku_redirect, name="sku"),
    path("search/", views.search, name="search"),
    path("cart/", checkout_views.cart_page, name="cart"),
    path("cart/add/", checkout_views.cart_add, name="cart-add"),
    path("cart/update/", checkout_views.cart_update, name="cart-update"),
    path("checkout/", checkout_views.checkout_address, name="checkout-address"),
    path("checkout/shipping/", checkout_views.checkout_shipping, name="checkout-shipping"),
    path("checkout/payment/", checkout_views.checkout_payment, name="checkout-payment"),
    path("checkout/review/", checkout_views.checkout_review, name="checkout-review"),
    path("checkout/place/", checkout_views.checkout_place, name="checkout-place"),
    path("checkout/proforma/", checkout_views.checkout_proforma, name="checkout-proforma"),
    path("order/<str:number>/", checkout_views.order_confirmation, name="order"),
]

urlpatterns = [
    # Accounts: no market prefix; shown in the visitor's market (shop.middleware).
    path("accounts/orders/", accounts.account_orders, name="account-orders"),
    path("accounts/orders/<str:number>/", accounts.account_order, name="account-order"),
    path(
        "accounts/orders/<str:number>/documents/<int:pk>/",
        accounts.account_document,
        name="account-document",
    ),
    path("accounts/addresses/", accounts.account_addresses, name="account-addresses"),
    path("accounts/addresses/new/", accounts.account_address_edit, name="account-address-new"),
    path("accounts/addresses/<int:pk>/", accounts.account_address_edit, name="account-address"),
    path("accounts/profile/", accounts.account_profile, name="account-profile"),
    path("accounts/dealer/", dealer_views.dealer_application, name="account-dealer"),
    path("accounts/", include("allauth.urls")),
    path("api/storefront/v1/", api.urls),
    path("sitemap.xml", sitemaps.index, name="sitemap-index"),
    path("sitemap-<str:section>.xml", sitemaps.section, name="sitemap-section"),
    re_path(r"^(?P<prefix>[a-z]{2,3}-[a-z]{2})/", include((market_patterns, "storefront"))),
]
