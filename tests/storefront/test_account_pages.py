"""The account's own pages: an order with its parcels, the address book the
checkout starts from, and the profile."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orders.address_book import AddressBookError, address_book_save
from orders.cart import CheckoutAddress
from orders.models import Cart
from orders.services import shipment_create
from payments.selectors import checkout_quote
from payments.services import checkout_complete, payment_confirm_received
from shop.models import Address, Customer, CustomerGroup
from storefront.accounts import customer_of
from tests.payments.helpers import BERLIN, cart_of, shipped

pytestmark = pytest.mark.usefixtures("checkout_shop")


@pytest.fixture
def customer() -> Customer:
    user = get_user_model().objects.create_user(
        "erika", "erika@example.com", "kervan-Karawane-2026"
    )
    return customer_of(user, "de")


@pytest.fixture
def signed_in(client: Client, customer: Customer) -> Client:
    client.force_login(customer.user)
    client.get("/accounts/orders/?market=de-de")  # the account is shown in de-de
    return client


def posted(address: CheckoutAddress, **changes: str) -> dict[str, str]:
    values = {**vars(address), **changes}
    values["company"] = values.pop("company")
    return values


HAMBURG = CheckoutAddress(
    first_name="Erika",
    last_name="Mustermann",
    email="",
    line1="Jungfernstieg 7",
    city="Hamburg",
    postal_code="20354",
    country="DE",
)


# --- Order detail -------------------------------------------------------------------------------


def test_an_order_shows_its_parcels_with_tracking_links(signed_in, customer):
    order = checkout_complete(
        cart=shipped(cart_of({"KRV-TEE-M": 2})), payment_method_code="bank-transfer"
    ).order
    order.customer = customer
    order.save(update_fields=["customer"])
    payment_confirm_received(order=order, by="admin")
    shipment_create(
        order=order,
        lines={order.lines.get().pk: 1},
        method_id=order.shipping_method_id,
        tracking_number="00340434161094042557",
        carrier="DHL",
        by="admin",
    )

    page = signed_in.get(f"/accounts/orders/{order.number}/")

    html = page.content.decode()
    assert page.status_code == 200 and '<html lang="de">' in html
    assert "00340434161094042557" in html and "DHL" in html
    shipment = order.shipments.get()
    assert shipment.tracking_url and f'href="{shipment.tracking_url}"' in html
    assert "59,80\xa0€" in html  # the items' total, in German
    assert "<strong>Teilweise versandt</strong>" in html


def test_an_unpaid_order_links_to_its_payment_page(signed_in, customer):
    order = checkout_complete(
        cart=shipped(cart_of({"KRV-TEE-M": 1})), payment_method_code="bank-transfer"
    ).order
    order.customer = customer
    order.save(update_fields=["customer"])

    html = signed_in.get(f"/accounts/orders/{order.number}/").content.decode()

    assert f'href="/de-de/order/{order.number}/?key=' in html


def test_someone_elses_order_is_not_found(signed_in):
    order = checkout_complete(
        cart=shipped(cart_of({"KRV-TEE-M": 1})), payment_method_code="bank-transfer"
    ).order  # a guest's

    assert signed_in.get(f"/accounts/orders/{order.number}/").status_code == 404


# --- Address book -------------------------------------------------------------------------------


def test_the_first_saved_address_is_the_default_and_a_same_one_is_not_saved_twice(customer):
    first = address_book_save(customer=customer, values=HAMBURG)
    again = address_book_save(customer=customer, values=HAMBURG)
    other = address_book_save(customer=customer, values=BERLIN)

    assert first.pk == again.pk and first.is_default_shipping
    assert not Address.objects.get(pk=other.pk).is_default_shipping
    assert Address.objects.filter(customer=customer).count() == 2


def test_a_bad_address_is_refused_with_field_messages_and_nothing_is_saved(customer):
    with pytest.raises(AddressBookError) as error:
        address_book_save(
            customer=customer, values=posted_address(HAMBURG, postal_code="ABC", vat_number="DE1")
        )

    assert "postal_code" in error.value.errors
    assert not Address.objects.filter(customer=customer).exists()


def test_a_vat_number_is_checked_like_at_the_checkout(customer):
    with pytest.raises(AddressBookError) as error:
        address_book_save(
            customer=customer,
            values=CheckoutAddress(**{**vars(HAMBURG), "vat_number": "DE123456789"}),
        )

    assert "check digit" in error.value.errors["vat_number"]


def posted_address(address: CheckoutAddress, **changes: str) -> CheckoutAddress:
    return CheckoutAddress(**{**vars(address), **changes})


def test_addresses_are_added_changed_made_default_and_deleted_in_the_account(signed_in, customer):
    added = signed_in.post("/accounts/addresses/new/", posted(HAMBURG))
    assert added.status_code == 302 and added["Location"] == "/accounts/addresses/"
    hamburg = Address.objects.get(customer=customer)
    signed_in.post("/accounts/addresses/new/", posted(BERLIN, email=""))
    berlin = Address.objects.get(customer=customer, city="Berlin")

    listing = signed_in.get("/accounts/addresses/").content.decode()
    assert "Jungfernstieg 7" in listing and "Deutschland" in listing

    changed = signed_in.post(
        f"/accounts/addresses/{hamburg.pk}/", posted(HAMBURG, line1="Jungfernstieg 8")
    )
    assert changed.status_code == 302
    hamburg.refresh_from_db()
    assert hamburg.line1 == "Jungfernstieg 8" and hamburg.is_default_shipping

    signed_in.post("/accounts/addresses/", {"default": berlin.pk})
    assert Address.objects.get(pk=berlin.pk).is_default_shipping
    assert not Address.objects.get(pk=hamburg.pk).is_default_shipping

    signed_in.post("/accounts/addresses/", {"delete": berlin.pk})
    assert list(Address.objects.filter(customer=customer)) == [hamburg]
    assert Address.objects.get(pk=hamburg.pk).is_default_shipping  # the one left


def test_a_bad_address_form_shows_the_message_at_the_field(signed_in, customer):
    page = signed_in.post("/accounts/addresses/new/", posted(HAMBURG, postal_code="ABC"))

    html = page.content.decode()
    assert page.status_code == 200 and 'aria-invalid="true"' in html
    assert "26133" in html  # the example of a German postal code
    assert not Address.objects.filter(customer=customer).exists()


def test_another_customers_address_cannot_be_seen_changed_or_deleted(signed_in):
    stranger = customer_of(
        get_user_model().objects.create_user("max", "max@example.com", "x-Karawane-2026"), "de"
    )
    theirs = address_book_save(customer=stranger, values=HAMBURG)

    assert signed_in.get(f"/accounts/addresses/{theirs.pk}/").status_code == 404
    signed_in.post("/accounts/addresses/", {"delete": theirs.pk})
    signed_in.post(f"/accounts/addresses/{theirs.pk}/", posted(BERLIN))
    assert Address.objects.get(pk=theirs.pk).city == "Hamburg"


def test_the_account_pages_ask_to_sign_in_first(client):
    for path in ("/accounts/addresses/", "/accounts/profile/", "/accounts/orders/KRV-1/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- Checkout with saved addresses ----------------------------------------------------------------


def test_the_checkout_starts_from_the_default_address_and_offers_the_saved_ones(
    signed_in, customer
):
    address_book_save(customer=customer, values=HAMBURG)
    signed_in.post("/de-de/cart/add/", {"sku": "KRV-TEE-M", "quantity": "1"})
    cart = Cart.objects.get(customer=customer)  # a signed-in shopper's cart is theirs

    page = signed_in.get("/de-de/checkout/")

    html = page.content.decode()
    fields = {field.name: field.value for field in page.context["form"].fields}
    assert fields["line1"] == "Jungfernstieg 7" and fields["email"] == "erika@example.com"
    assert 'name="saved_address"' in html and 'name="save_address"' in html

    chosen = signed_in.post(
        "/de-de/checkout/", {"saved_address": Address.objects.get(customer=customer).pk}
    )

    assert chosen.status_code == 302 and chosen["Location"] == "/de-de/checkout/shipping/"
    cart.refresh_from_db()
    assert (cart.line1, cart.city, cart.email) == (
        "Jungfernstieg 7",
        "Hamburg",
        "erika@example.com",
    )


def test_an_address_typed_at_the_checkout_is_saved_when_asked(signed_in, customer):
    signed_in.post("/de-de/cart/add/", {"sku": "KRV-TEE-M", "quantity": "1"})

    signed_in.post("/de-de/checkout/", {**posted(BERLIN), "save_address": "on"})
    signed_in.post("/de-de/checkout/", posted(HAMBURG, email="erika@example.com"))

    (saved,) = Address.objects.filter(customer=customer)
    assert (saved.line1, saved.city) == (BERLIN.line1, BERLIN.city)


def test_a_guest_sees_no_saved_addresses_and_no_save_box(client):
    client.post("/de-de/cart/add/", {"sku": "KRV-TEE-M", "quantity": "1"})

    html = client.get("/de-de/checkout/").content.decode()

    assert 'name="saved_address"' not in html and 'name="save_address"' not in html


# --- Profile ------------------------------------------------------------------------------------


def test_the_profile_keeps_name_phone_and_the_language_of_e_mails(signed_in, customer):
    saved = signed_in.post(
        "/accounts/profile/",
        {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "phone": "+49 40 1234",
            "preferred_language": "tr",
        },
    )

    assert saved.status_code == 302
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.user.get_full_name() == "Erika Mustermann"
    assert (customer.phone, customer.preferred_language) == ("+49 40 1234", "tr")


def test_a_bad_profile_post_changes_nothing(signed_in, customer):
    page = signed_in.post("/accounts/profile/", {"first_name": "E", "preferred_language": "xx"})

    assert page.status_code == 200 and 'class="error"' in page.content.decode()
    customer.refresh_from_db()
    assert customer.preferred_language == "de" and customer.user.first_name == ""


def test_a_dealers_checkout_starts_with_the_company_and_its_checked_vat_number(signed_in, customer):
    # An approved French dealer (the admin put the checked number on the customer)
    customer.group = CustomerGroup.objects.get(code="dealer")
    customer.company_name, customer.tax_number = "Boutique Durand SARL", "FR40303265045"
    customer.save()
    signed_in.post("/fr-fr/cart/add/", {"sku": "KRV-TEE-M", "quantity": "1"})

    page = signed_in.get("/fr-fr/checkout/")

    fields = {field.name: field.value for field in page.context["form"].fields}
    assert (fields["company"], fields["vat_number"]) == ("Boutique Durand SARL", "FR40303265045")
    # Sent as shown with a French address, the order is reverse charged
    paris = {
        **fields,
        "first_name": "Claire",
        "last_name": "Durand",
        "line1": "12 rue de Rivoli",
        "city": "Paris",
        "postal_code": "75001",
    }
    assert signed_in.post("/fr-fr/checkout/", paris).status_code == 302
    cart = Cart.objects.get(customer=customer)
    assert checkout_quote(cart=cart).reverse_charge
