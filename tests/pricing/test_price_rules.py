"""Rules every price write passes: no free items, a priced list keeps its currency,
derivation without cycles and at most MAX_DERIVATION_DEPTH steps deep."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, ProductType, TaxClass, Variant
from pricing.derivation import price_list_rebuild
from pricing.models import MAX_DERIVATION_DEPTH, PriceEntry, PriceList, Rounding
from pricing.services import price_set
from tests.pricing.test_admin import price_list_form, variant_form

pytestmark = pytest.mark.django_db


def variants_make(count: int, *, prefix: str = "RULE") -> list[Variant]:
    product = Product.objects.create(
        product_type=ProductType.objects.get_or_create(name="Mug")[0],
        tax_class=TaxClass.objects.get(code="standard"),
    )
    return Variant.objects.bulk_create(
        Variant(product=product, sku=f"{prefix}-{number}") for number in range(count)
    )


def derived_list(code: str, source: PriceList, **options: object) -> PriceList:
    return PriceList.objects.create(
        code=code,
        name=code,
        currency=source.currency,
        includes_tax=False,
        source=source,
        **options,
    )


# No item is given away


def test_a_rule_that_would_make_a_sale_price_free_leaves_the_sale_out_and_says_so(
    demo_price_lists,
):
    # given: a euro price of 29.90 on sale for 5.00, and a dollar list 10 EUR below the net price
    eur, usd = demo_price_lists["eur-retail"], demo_price_lists["usd-retail"]
    variant = variants_make(1)[0]
    PriceList.objects.filter(pk=usd.pk).update(adjustment_amount=Decimal("-10"))
    PriceEntry.objects.create(
        price_list=eur, variant=variant, amount=Decimal("29.90"), sale_amount=Decimal("5.00")
    )

    # when
    report = price_list_rebuild(usd)

    # then: the regular price is derived, the sale (5.00 / 1.19 − 10 < 0) is left out
    entry = PriceEntry.objects.get(price_list=usd, variant=variant)
    assert entry.amount == Decimal("16.99")  # (25.13 − 10) × 1.08 → .99
    assert (entry.sale_amount, entry.sale_ends_at) == (None, None)
    assert "1 sale price would be zero or less under this rule" in report.problem


@pytest.mark.parametrize("field", ["amount", "sale_amount", "compare_at_amount"])
def test_the_database_refuses_a_price_of_zero(demo_price_lists, field):
    variant = variants_make(1)[0]
    entry = PriceEntry.objects.create(
        price_list=demo_price_lists["eur-retail"],
        variant=variant,
        amount=Decimal("10"),
        sale_amount=Decimal("8"),
        compare_at_amount=Decimal("12"),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        PriceEntry.objects.filter(pk=entry.pk).update(**{field: Decimal("0")})


@pytest.mark.parametrize(
    ("amounts", "field", "message"),
    [
        ({"amount": Decimal("0")}, "amount", "would give the item away"),
        ({"amount": Decimal("-1")}, "amount", "cannot be negative"),
        ({"amount": Decimal("10"), "sale_amount": Decimal("0")}, "sale_amount", "above zero"),
        (
            {"amount": Decimal("10"), "compare_at_amount": Decimal("0")},
            "compare_at_amount",
            "above zero",
        ),
    ],
)
def test_setting_a_price_of_zero_is_refused_with_a_message_and_changes_nothing(
    demo_price_lists, amounts, field, message
):
    variant = variants_make(1)[0]
    eur = demo_price_lists["eur-retail"]

    with pytest.raises(ValidationError) as refused:
        price_set(price_list=eur, variant_id=variant.pk, **amounts)

    assert message in " ".join(refused.value.message_dict[field])
    assert not PriceEntry.objects.filter(variant=variant).exists()


def test_a_price_of_zero_typed_in_the_admin_is_explained(admin_client, demo_price_lists):
    variant = variants_make(1)[0]
    price = {"price_list": demo_price_lists["eur-retail"].pk, "amount": "0", "sale_amount": "0"}

    response = admin_client.post(
        f"/admin/catalog/variant/{variant.pk}/change/", variant_form(variant, [price])
    )

    assert response.status_code == 200
    assert "A price of zero would give the item away" in response.content.decode()
    assert not PriceEntry.objects.filter(variant=variant).exists()


# A priced list keeps its currency


def test_the_database_refuses_to_change_the_currency_of_a_list_with_prices(demo_price_lists):
    eur = demo_price_lists["eur-retail"]
    price_set(price_list=eur, variant_id=variants_make(1)[0].pk, amount=Decimal("10"))

    with pytest.raises(IntegrityError, match="currency cannot change"), transaction.atomic():
        PriceList.objects.filter(pk=eur.pk).update(currency="USD")

    eur.refresh_from_db()
    assert eur.currency == "EUR"


def test_a_list_without_prices_may_change_its_currency(demo_price_lists):
    empty = PriceList.objects.create(code="draft", name="Draft", currency="EUR", includes_tax=False)

    PriceList.objects.filter(pk=empty.pk).update(currency="CHF")

    empty.refresh_from_db()
    assert empty.currency == "CHF"


def test_validation_refuses_a_new_currency_once_the_list_has_prices(demo_price_lists):
    eur = demo_price_lists["eur-retail"]
    price_set(price_list=eur, variant_id=variants_make(1)[0].pk, amount=Decimal("10"))

    eur.currency = "USD"
    with pytest.raises(ValidationError) as refused:
        eur.full_clean()

    assert "they were set in EUR" in refused.value.message_dict["currency"][0]


def test_the_admin_shows_the_currency_of_a_priced_list_locked_with_the_reason(
    admin_client, demo_price_lists
):
    eur = demo_price_lists["eur-retail"]
    price_set(price_list=eur, variant_id=variants_make(1)[0].pk, amount=Decimal("10"))

    page = admin_client.get(f"/admin/pricing/pricelist/{eur.pk}/change/")
    response = admin_client.post(
        f"/admin/pricing/pricelist/{eur.pk}/change/", price_list_form(eur, currency="USD")
    )

    assert page.context["adminform"].form.fields["currency"].disabled
    assert "Create a new price list for another currency." in page.content.decode()
    assert response.status_code == 302
    eur.refresh_from_db()
    assert eur.currency == "EUR"


# Derivation: no cycles, bounded depth, key order


def test_a_three_list_cycle_made_by_a_bulk_update_is_refused(demo_price_lists):
    # given: first ← second ← third
    first = PriceList.objects.create(code="first", name="First", currency="EUR", includes_tax=False)
    second = derived_list("second", first)
    third = derived_list("third", second)

    # when: the first list is made to derive from the third, bypassing clean()
    with pytest.raises(IntegrityError, match="cannot derive from itself"), transaction.atomic():
        PriceList.objects.filter(pk=first.pk).update(source=third)

    first.refresh_from_db()
    assert first.source_id is None


def test_derivation_is_at_most_the_maximum_number_of_steps_deep(demo_price_lists):
    chain = [PriceList.objects.create(code="root", name="Root", currency="EUR", includes_tax=False)]
    for step in range(1, MAX_DERIVATION_DEPTH + 1):
        chain.append(derived_list(f"step-{step}", chain[-1]))

    with pytest.raises(IntegrityError, match="derivation steps deep"), transaction.atomic():
        derived_list("one-too-many", chain[-1])

    # Hanging the chain below another list is as deep, and refused as well.
    other = PriceList.objects.create(code="other", name="Other", currency="EUR", includes_tax=False)
    with pytest.raises(IntegrityError, match="derivation steps deep"), transaction.atomic():
        PriceList.objects.filter(pk=chain[0].pk).update(source=other)


def test_validation_explains_a_chain_that_would_be_too_deep(demo_price_lists):
    chain = [PriceList.objects.create(code="root", name="Root", currency="EUR", includes_tax=False)]
    for step in range(1, MAX_DERIVATION_DEPTH + 1):
        chain.append(derived_list(f"step-{step}", chain[-1]))
    deeper = PriceList(
        code="deeper", name="Deeper", currency="EUR", includes_tax=False, source=chain[-1]
    )

    with pytest.raises(ValidationError) as refused:
        deeper.full_clean()

    assert "at most 5 steps away" in refused.value.message_dict["source"][0]


def test_a_rebuild_follows_the_whole_chain_and_stops_past_the_maximum_depth(demo_price_lists):
    root = PriceList.objects.create(code="root", name="Root", currency="EUR", includes_tax=False)
    chain = [root]
    for step in range(1, MAX_DERIVATION_DEPTH + 1):
        chain.append(derived_list(f"step-{step}", chain[-1], adjustment_percent=Decimal("10")))
    variant = variants_make(1)[0]
    PriceEntry.objects.create(price_list=root, variant=variant, amount=Decimal("10"))

    report = price_list_rebuild(chain[1])
    past_the_limit = price_list_rebuild(chain[1], depth=MAX_DERIVATION_DEPTH + 1)

    assert report.total_updated == MAX_DERIVATION_DEPTH
    assert PriceEntry.objects.get(price_list=chain[-1]).amount == Decimal(
        "16.10"
    )  # 10 × 1.1, to the cent, five times
    assert "more than 5 steps" in past_the_limit.problem


def test_a_rebuild_writes_its_prices_in_key_order(demo_price_lists):
    # given: source prices stored in the opposite order of their variants
    source = PriceList.objects.create(code="src", name="Source", currency="EUR", includes_tax=False)
    derived = derived_list("dst", source, rounding=Rounding.NONE)
    variants = variants_make(30)
    for variant in reversed(variants):
        PriceEntry.objects.create(price_list=source, variant=variant, amount=Decimal("10"))
    # Rows edited since are stored after the others, as in any table with history.
    Variant.objects.filter(pk__in=[v.pk for v in variants[::2]]).update(low_stock_threshold=2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pricing_priceentry")
        cursor.execute("ANALYZE catalog_variant")

    # when
    with CaptureQueriesContext(connection) as queries:
        price_list_rebuild(derived)

    # then: rows are written (and locked) by ascending variant
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "pricing_priceentry"')]
    assert len(inserts) == 1
    # Django sends the rows as one array per column: price lists, then variants.
    _lists, variant_column = re.findall(r"\('\{([^}]*)\}'", inserts[0])[:2]
    written = [int(variant_id) for variant_id in variant_column.split(",")]
    assert written == sorted(variant.pk for variant in variants)
