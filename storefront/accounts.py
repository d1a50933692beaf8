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
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from invoicing.pdf import document_filename, invoice_pdf
from invoicing.selectors import customer_documents
from orders.address_book import (
    AddressBookError,
    address_book,
    address_book_default_set,
    address_book_delete,
    address_book_entry,
    address_book_save,
    address_values,
)
from orders.cart import cart_merge
from orders.models import Cart, Order, OrderStatus
from orders.selectors import order_shipments
from shop.models import Address, Customer
from storefront.address_form import address_form, address_from_values, country_name
from storefront.address_form import address_values as posted_address_values
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


def _language(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", "") or settings.LANGUAGE_CODE


@never_cache
@login_required
def account_orders(request: HttpRequest) -> HttpResponse:
    """The customer's orders, newest first, each linking to its page."""
    customer = customer_of(request.user, _language(request))
    orders = list(
        Order.objects.filter(customer=customer)
        .select_related("market")
        .order_by("-created_at")[:200]
    )
    return render(
        request,
        "storefront/account_orders.html",
        {"orders": orders, "section": "orders", "noindex": True},
    )


@never_cache
@login_required
def account_order(request: HttpRequest, number: str) -> HttpResponse:
    """One of the customer's orders: status, items, parcels with tracking, totals."""
    customer = customer_of(request.user, _language(request))
    order = (
        Order.objects.select_related("seller", "market")
        .filter(customer=customer, number=number.strip().upper()[:20])
        .first()
    )
    if order is None:
        raise Http404(_("No such order in your account."))
    labels = dict(OrderStatus.choices)
    return render(
        request,
        "storefront/account_order.html",
        {
            "order": order,
            "lines": list(order.lines.all()),
            "shipments": order_shipments(order),
            "history": [
                (change.at, labels.get(change.to_status, change.to_status))
                for change in order.status_changes.all()
            ],
            "seller": order.seller,
            "country": country_name(order.shipping_country, _language(request)),
            "order_page": order_page_path(order),
            "documents": list(customer_documents(order)),
            "section": "orders",
            "noindex": True,
        },
    )


@never_cache
@login_required
def account_document(request: HttpRequest, number: str, pk: int) -> HttpResponse:
    """An invoice or credit note of one of the customer's orders, as PDF."""
    customer = customer_of(request.user, _language(request))
    order = Order.objects.filter(customer=customer, number=number.strip().upper()[:20]).first()
    document = customer_documents(order).filter(pk=pk).first() if order else None
    if document is None:
        raise Http404(_("No such invoice in your account."))
    response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document_filename(document, "pdf")}"'
    return response


# --- Address book -------------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_addresses(request: HttpRequest) -> HttpResponse:
    """Saved addresses; a post makes one the default (``default``) or deletes it (``delete``)."""
    customer = customer_of(request.user, _language(request))
    if request.method == "POST":
        action = "delete" if "delete" in request.POST else "default"
        address = address_book_entry(customer, request.POST.get(action, ""))
        if address is None:
            messages.error(request, _("This address is not in your address book."))
        elif action == "delete":
            address_book_delete(customer=customer, address=address)
            messages.success(request, _("The address is deleted."))
        else:
            address_book_default_set(customer=customer, address=address)
            messages.success(request, _("The checkout now starts from this address."))
        return redirect("account-addresses")
    language = _language(request)
    return render(
        request,
        "storefront/account_addresses.html",
        {
            "addresses": [
                (address, country_name(address.country_id, language, address.country.name))
                for address in address_book(customer)
            ],
            "section": "addresses",
            "noindex": True,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_address_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add an address, or change address ``pk``; the form follows the chosen country."""
    customer = customer_of(request.user, _language(request))
    address: Address | None = None
    if pk is not None:
        address = address_book_entry(customer, pk)
        if address is None:
            raise Http404(_("This address is not in your address book."))
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = posted_address_values(request.POST)
        if "refresh" not in request.POST:
            try:
                address_book_save(
                    customer=customer,
                    values=address_from_values(values),
                    address=address,
                    default=request.POST.get("default") == "on",
                )
            except AddressBookError as error:
                errors = error.errors or {"__all__": error.message}
            else:
                messages.success(request, _("The address is saved."))
                return redirect("account-addresses")
    elif address is not None:
        values = {**vars(address_values(address, email="")), "email": ""}
        values["company"] = address.company_name
    else:
        values = {"country": request.GET.get("country", "")[:2]}
    market_context = getattr(request, "market_context", None)
    form = address_form(
        values=values,
        language=_language(request),
        default_country=market_context.country if market_context else "",
        errors=errors,
        contact=False,
    )
    return render(
        request,
        "storefront/account_address_form.html",
        {
            "form": form,
            "address": address,
            "is_default": address.is_default_shipping if address else False,
            "section": "addresses",
            "noindex": True,
        },
    )


# --- Profile ------------------------------------------------------------------------------------


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)
    preferred_language = forms.ChoiceField(
        label=gettext_lazy("Language of our e-mails"), choices=settings.LANGUAGES
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_profile(request: HttpRequest) -> HttpResponse:
    """Name, phone and the language of e-mails; the e-mail and password have allauth's pages."""
    user: Any = request.user  # signed in (login_required)
    customer = customer_of(user, _language(request))
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": customer.phone,
        "preferred_language": customer.preferred_language or _language(request),
    }
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user.first_name = form.cleaned_data["first_name"].strip()
            user.last_name = form.cleaned_data["last_name"].strip()
            user.save(update_fields=["first_name", "last_name"])
            customer.phone = form.cleaned_data["phone"].strip()
            customer.preferred_language = form.cleaned_data["preferred_language"]
            customer.save(update_fields=["phone", "preferred_language"])
        messages.success(request, _("Your profile is saved."))
        return redirect("account-profile")
    return render(
        request,
        "storefront/account_profile.html",
        {"form": form, "customer": customer, "section": "profile", "noindex": True},
    )
