"""A customer's saved addresses, checked by the same rules as the checkout's.

An address is saved from the account's address book or, when the shopper asks,
from the checkout; the checkout offers the saved ones and fills the cart from
the chosen one (``cart_shipping_address_set`` checks it again, since rules and
delivery areas change). One address can be the default: the checkout starts
from it.
"""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction
from django.utils.translation import gettext

from orders.cart import CheckoutAddress, address_errors
from pricing.checkout_tax import vat_number_check
from shop.models import Address, Customer, Region
from shop.selectors import market_directory

BOOK_LIMIT = 50


class AddressBookError(Exception):
    """An address that cannot be saved; ``errors`` maps fields to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


def address_book(customer: Customer) -> list[Address]:
    """The customer's addresses, the default first, then the most recently used."""
    return list(
        Address.objects.filter(customer=customer)
        .select_related("country", "region")
        .order_by("-is_default_shipping", "-updated_at", "-pk")
    )


def address_book_entry(customer: Customer, address_id: object) -> Address | None:
    """The customer's address ``address_id`` (None for anyone else's or a bad id)."""
    try:
        pk = int(str(address_id))
    except ValueError:
        return None
    return Address.objects.filter(customer=customer, pk=pk).select_related("region").first()


def address_values(address: Address, *, email: str) -> CheckoutAddress:
    """A saved address as the checkout takes it, with the contact e-mail ``email``."""
    return CheckoutAddress(
        first_name=address.first_name,
        last_name=address.last_name,
        email=email,
        phone=address.phone,
        company=address.company_name,
        vat_number=address.vat_number,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        district=address.district,
        postal_code=address.postal_code,
        region=address.region.code if address.region else "",
        country=address.country_id,
    )


def _checked(customer: Customer, values: CheckoutAddress) -> CheckoutAddress:
    # The e-mail is the account's, not part of the address: check it as valid.
    errors, clean = address_errors(replace(values, email="customer@example.com"))
    if not errors and market_directory().market_for_country(clean.country) is None:
        errors["country"] = gettext("We do not deliver to this country.")
    if not errors and clean.vat_number:
        vat = vat_number_check(clean.vat_number, country=clean.country)
        if not vat.valid:
            errors["vat_number"] = vat.message
        else:
            clean = replace(clean, vat_number=vat.number)
    if errors:
        raise AddressBookError(gettext("Please check the marked fields."), errors)
    return clean


def _same(address: Address, clean: CheckoutAddress) -> bool:
    return address_values(address, email="") == replace(clean, email="")


@transaction.atomic
def address_book_save(
    *,
    customer: Customer,
    values: CheckoutAddress,
    address: Address | None = None,
    default: bool = False,
) -> Address:
    """Check ``values`` and save them as a new address, or over ``address``.

    A new address identical to a saved one updates that one instead (the
    checkout saves what the shopper typed each time). ``default`` makes it
    the default; the first address is the default anyway.
    """
    clean = _checked(customer, values)
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    saved = list(Address.objects.filter(customer=customer).select_related("region"))
    if address is not None and address.customer_id != customer.pk:
        raise AddressBookError(gettext("This address is not in your address book."))
    if address is None:
        address = next((entry for entry in saved if _same(entry, clean)), None)
    if address is None:
        if len(saved) >= BOOK_LIMIT:
            raise AddressBookError(
                gettext("Your address book is full (%(limit)s addresses). Delete one first.")
                % {"limit": BOOK_LIMIT}
            )
        address = Address(customer=customer)
    address.first_name, address.last_name = clean.first_name, clean.last_name
    address.company_name, address.vat_number = clean.company, clean.vat_number
    address.line1, address.line2, address.city = clean.line1, clean.line2, clean.city
    address.district, address.postal_code = clean.district, clean.postal_code
    address.country_id, address.phone = clean.country, clean.phone
    address.region = Region.objects.filter(code=clean.region).first() if clean.region else None
    is_default = default or not any(entry.is_default_shipping for entry in saved)
    if is_default:
        Address.objects.filter(customer=customer, is_default_shipping=True).exclude(
            pk=address.pk
        ).update(is_default_shipping=False)
        address.is_default_shipping = True
    address.save()
    return address


@transaction.atomic
def address_book_default_set(*, customer: Customer, address: Address) -> None:
    """Make ``address`` the one the checkout starts from."""
    if address.customer_id != customer.pk:
        raise AddressBookError(gettext("This address is not in your address book."))
    Address.objects.filter(customer=customer, is_default_shipping=True).update(
        is_default_shipping=False
    )
    Address.objects.filter(pk=address.pk).update(is_default_shipping=True)


@transaction.atomic
def address_book_delete(*, customer: Customer, address: Address) -> None:
    """Delete ``address``; when it was the default, the most recent other one is."""
    if address.customer_id != customer.pk:
        raise AddressBookError(gettext("This address is not in your address book."))
    was_default = address.is_default_shipping
    address.delete()
    if was_default:
        successor = Address.objects.filter(customer=customer).order_by("-updated_at").first()
        if successor is not None:
            Address.objects.filter(pk=successor.pk).update(is_default_shipping=True)


def address_book_default(customer: Customer) -> Address | None:
    """The address the checkout starts from: the default, else the latest."""
    return (
        Address.objects.filter(customer=customer)
        .select_related("region")
        .order_by("-is_default_shipping", "-updated_at")
        .first()
    )
