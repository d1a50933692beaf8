"""Customer accounts: what happens at sign-up, e-mail confirmation and sign-in, and
the account's own pages (django-allauth does the signing in).

- Sign-up makes the shop-side ``Customer`` (language of the page it was made on).
- A confirmed e-mail address claims the guest orders placed with it: only its
  owner can confirm it, so they become the account's orders.
- Sign-in moves the lines of the customer's earlier carts (other visits, other
  devices) into the cart this browser holds, which becomes the customer's.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, user_signed_up
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from orders.cart import cart_merge
from orders.models import Cart, Order
from shop.models import Customer
from storefront.cart_cookies import order_page_path, request_cart

logger = logging.getLogger(__name__)


def customer_of(user: Any, language: str = "") -> Customer:
    """The shop-side profile of ``user``, made on first use."""
    customer, _created = Customer.objects.get_or_create(
        user=user, defaults={"preferred_language": language}
    )
    return customer


def orders_claim(customer: Customer, email: str) -> int:
    """Guest orders placed with ``email`` (a confirmed address) become the customer's."""
    return Order.objects.filter(email__iexact=email, customer__isnull=True).update(
        customer=customer
    )


def _on_signed_up(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    customer_of(user, getattr(request, "LANGUAGE_CODE", ""))


def _on_email_confirmed(
    sender: Any, request: HttpRequest, email_address: Any, **kwargs: Any
) -> None:
    claimed = orders_claim(customer_of(email_address.user), email_address.email)
    if claimed:
        logger.info("%s claimed %s guest orders", email_address.email, claimed)


def _on_logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    customer = customer_of(user, getattr(request, "LANGUAGE_CODE", ""))
    for address in EmailAddress.objects.filter(user=user, verified=True):
        orders_claim(customer, address.email)
    cart = request_cart(request)
    if cart is None or cart.customer_id not in (None, customer.pk):
        return
    with transaction.atomic():
        earlier = list(
            Cart.objects.filter(customer=customer, status=Cart.Status.OPEN, market=cart.market_id)
            .exclude(pk=cart.pk)
            .order_by("pk")
        )
        left_out = cart_merge(into=cart, carts=earlier)
        if cart.customer_id is None:
            Cart.objects.filter(pk=cart.pk).update(customer=customer)
    if left_out:
        messages.warning(
            request,
            _("Some items of your earlier cart are not available here: %(skus)s")
            % {"skus": ", ".join(left_out)},
        )


def accounts_connect() -> None:
    """Connect the account signals (the storefront app does, when ready)."""
    user_signed_up.connect(_on_signed_up, dispatch_uid="storefront.signed_up")
    email_confirmed.connect(_on_email_confirmed, dispatch_uid="storefront.email_confirmed")
    user_logged_in.connect(_on_logged_in, dispatch_uid="storefront.logged_in")


@never_cache
@login_required
def account_orders(request: HttpRequest) -> HttpResponse:
    """The customer's orders, newest first, each linking to its page."""
    customer = customer_of(request.user, getattr(request, "LANGUAGE_CODE", ""))
    orders = list(
        Order.objects.filter(customer=customer)
        .select_related("market")
        .order_by("-created_at")[:200]
    )
    return render(
        request,
        "storefront/account_orders.html",
        {"orders": [(order, order_page_path(order)) for order in orders], "noindex": True},
    )
