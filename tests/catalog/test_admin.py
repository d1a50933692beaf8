"""Merchants manage products, variants, categories and attributes in the admin."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.text import slugify
from PIL import Image

from catalog.images import product_image_add
from catalog.models import (
    Attribute,
    AttributeValue,
    Brand,
    Category,
    CategoryTranslation,
    Product,
    ProductTranslation,
    ProductType,
    TaxClass,
    Variant,
)
from pricing.models import StockPool
from pricing.services import price_set, stock_set

pytestmark = pytest.mark.django_db

VALID_GTIN = "4006381333931"


def product_make(name: str, sku: str, *, gtin: str = "", brand: Brand | None = None) -> Product:
    product = Product.objects.create(
        product_type=ProductType.objects.get_or_create(name="Shirt")[0],
        tax_class=TaxClass.objects.get_or_create(
            code="standard", defaults={"name": "Standard rate"}
        )[0],
        brand=brand,
    )
    ProductTranslation.objects.create(
        product=product, language="en", name=name, slug=slugify(f"{name}-{sku}")
    )
    Variant.objects.create(product=product, sku=sku, gtin=gtin)
    return product


@pytest.fixture
def catalogue(demo_price_lists) -> dict[str, int]:
    brand = Brand.objects.create(name="Anatolia Linen", slug="anatolia-linen")
    category = Category.objects.add_root({"code": "shirts"})
    CategoryTranslation.objects.create(
        category=category, language="en", name="Shirts", slug="shirts"
    )
    size = Attribute.objects.create(code="size", names={"en": "Size", "de": "Größe"})
    AttributeValue.objects.create(attribute=size, code="m", names={"en": "M"})
    product = product_make("Linen shirt", "LS-WHITE-M", gtin=VALID_GTIN, brand=brand)
    product.categories.add(category)
    variant = product.variants.get()
    price_set(
        price_list=demo_price_lists["eur-retail"], variant_id=variant.pk, amount=Decimal("29.90")
    )
    stock_set(variant=variant, pool_id=StockPool.objects.get(code="rotterdam").pk, quantity=12)
    return {
        "product": product.pk,
        "variant": variant.pk,
        "category": category.pk,
        "brand": brand.pk,
        "attribute": size.pk,
        "product_type": product.product_type_id,
    }


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/",
        "/admin/catalog/product/",
        "/admin/catalog/product/add/",
        "/admin/catalog/product/{product}/change/",
        "/admin/catalog/product/?stock=in",
        "/admin/catalog/product/?stock=low",
        "/admin/catalog/product/?stock=out",
        "/admin/catalog/product/?visibility__exact=everywhere&brand__id__exact={brand}",
        "/admin/catalog/product/?categories__id__exact={category}",
        "/admin/catalog/product/?q=linen",
        "/admin/catalog/variant/",
        "/admin/catalog/variant/add/",
        "/admin/catalog/variant/{variant}/change/",
        "/admin/catalog/category/",
        "/admin/catalog/category/add/",
        "/admin/catalog/category/{category}/change/",
        "/admin/catalog/brand/",
        "/admin/catalog/brand/add/",
        "/admin/catalog/attribute/",
        "/admin/catalog/attribute/add/",
        "/admin/catalog/attribute/{attribute}/change/",
        "/admin/catalog/producttype/",
        "/admin/catalog/producttype/add/",
        "/admin/catalog/producttype/{product_type}/change/",
    ],
)
def test_catalogue_admin_pages_open(admin_client, catalogue, url):
    assert admin_client.get(url.format(**catalogue)).status_code == 200


def test_the_product_list_costs_the_same_queries_for_3_or_20_products(
    admin_client, django_assert_max_num_queries, demo_price_lists
):
    # given
    for number in range(3):
        product_make(f"Shirt {number}", f"SKU-{number}", brand=Brand.objects.first())

    # 2 session and user, 3 sidebar filter choices (brand, category, type), 2 counts
    # (matching and total), 1 page of products with their brands, 2 prefetches
    # (names, variants) = 10, however many products there are.
    with django_assert_max_num_queries(10):
        small = admin_client.get("/admin/catalog/product/")
    for number in range(3, 20):
        product_make(f"Shirt {number}", f"SKU-{number}")
    with django_assert_max_num_queries(10):
        large = admin_client.get("/admin/catalog/product/")

    # then
    assert small.status_code == large.status_code == 200
    assert large.context["cl"].result_count == 20
    assert "Shirt 19" in large.content.decode()


def test_the_product_list_shows_name_sku_and_variant_count(admin_client, catalogue):
    product = Product.objects.get(pk=catalogue["product"])
    Variant.objects.create(product=product, sku="LS-WHITE-L", position=1)
    ProductTranslation.objects.create(
        product=product, language="de", name="Leinenhemd", slug="leinenhemd"
    )

    response = admin_client.get("/admin/catalog/product/")

    row = response.context["cl"].result_list[0]
    admin = response.context["cl"].model_admin
    assert admin.name(row) == "Linen shirt"
    assert admin.primary_sku(row) == "LS-WHITE-M"
    assert admin.variant_count(row) == 2


@pytest.mark.parametrize(
    "query", ["ls-white", VALID_GTIN, "Linen", "anatolia"], ids=["sku", "gtin", "name", "none"]
)
def test_products_are_found_by_sku_barcode_and_name(admin_client, catalogue, query):
    product_make("Wool scarf", "WS-GREY")

    response = admin_client.get("/admin/catalog/product/", {"q": query})

    found = [product.pk for product in response.context["cl"].result_list]
    assert found == ([] if query == "anatolia" else [catalogue["product"]])


def product_form(catalogue: dict[str, int], **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "product_type": catalogue["product_type"],
        "tax_class": TaxClass.objects.get(code="standard").pk,
        "brand": catalogue["brand"],
        "categories": [catalogue["category"]],
        "is_published": "on",
        "published_at_0": "2026-01-05",
        "published_at_1": "10:00:00",
        "visibility": "everywhere",
        "translations-TOTAL_FORMS": "4",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "4",
        "translations-0-language": "en",
        "translations-0-name": "Silk scarf",
        "translations-0-slug": "silk-scarf",
        "translations-1-language": "tr",
        "translations-1-name": "İpek eşarp",
        "translations-1-slug": "ipek-esarp",
        "translations-2-language": "de",
        "translations-3-language": "fr",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-sku": "ss-red ",
        "variants-0-gtin": "",
        "variants-0-low_stock_threshold": "3",
        "variants-0-position": "0",
        "variants-0-is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_a_merchant_adds_a_product_with_translations_and_a_variant(admin_client, catalogue):
    response = admin_client.post("/admin/catalog/product/add/", product_form(catalogue))

    assert response.status_code == 302
    product = Product.objects.get(translations__slug="silk-scarf")
    assert sorted(product.translations.values_list("language", "name")) == [
        ("en", "Silk scarf"),
        ("tr", "İpek eşarp"),
    ]
    assert list(product.variants.values_list("sku", "low_stock_threshold")) == [("SS-RED", 3)]
    assert list(product.categories.values_list("code", flat=True)) == ["shirts"]
    assert product.translations.get(language="en").search_vector is not None


def test_a_product_needs_a_name_in_one_language(admin_client, catalogue):
    form = product_form(
        catalogue,
        **{"translations-0-name": "", "translations-0-slug": "", "translations-1-name": ""},
        **{"translations-1-slug": ""},
    )

    response = admin_client.post("/admin/catalog/product/add/", form)

    assert response.status_code == 200
    assert "Add a name in at least one language." in response.content.decode()


def test_an_invalid_barcode_is_explained(admin_client, catalogue):
    response = admin_client.post(
        "/admin/catalog/product/add/",
        product_form(catalogue, **{"variants-0-gtin": "4006381333932"}),
    )

    assert response.status_code == 200
    assert "4006381333932 is not a valid GTIN/EAN barcode" in response.content.decode()


def test_an_uploaded_image_gets_its_renditions_and_becomes_the_main_image(admin_client, catalogue):
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), "white").save(buffer, format="PNG")
    upload = SimpleUploadedFile("linen.png", buffer.getvalue(), content_type="image/png")
    form = product_form(
        catalogue,
        **{
            "images-TOTAL_FORMS": "1",
            "images-0-image": upload,
            "images-0-alt_texts": '{"en": "A white linen shirt"}',
            "images-0-position": "0",
        },
    )

    response = admin_client.post("/admin/catalog/product/add/", form)

    assert response.status_code == 302
    product = Product.objects.get(translations__slug="silk-scarf")
    image = product.images.get()
    assert product.primary_image == image
    assert image.alt_in("en") == "A white linen shirt"
    assert image.listing.name.endswith(".webp")
    assert image.detail.name.endswith(".webp")


def test_removing_the_main_image_makes_the_next_one_main(admin_client, catalogue):
    product = Product.objects.get(pk=catalogue["product"])
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "blue").save(buffer, format="PNG")
    first, second = (
        product_image_add(
            product=product,
            filename=f"{name}.png",
            content=buffer.getvalue(),
            alt_texts={},
            position=position,
        )
        for position, name in enumerate(["front", "back"])
    )
    product.refresh_from_db()
    assert product.primary_image == first
    translation = product.translations.get()
    variant = product.variants.get()
    form = product_form(
        catalogue,
        **{
            "translations-TOTAL_FORMS": "4",
            "translations-INITIAL_FORMS": "1",
            "translations-0-id": translation.pk,
            "translations-0-name": translation.name,
            "translations-0-slug": translation.slug,
            "translations-1-name": "",
            "translations-1-slug": "",
            "variants-INITIAL_FORMS": "1",
            "variants-0-id": variant.pk,
            "variants-0-sku": variant.sku,
            "variants-0-gtin": variant.gtin,
            "images-TOTAL_FORMS": "2",
            "images-INITIAL_FORMS": "2",
            "images-0-id": first.pk,
            "images-0-alt_texts": "{}",
            "images-0-position": "0",
            "images-0-DELETE": "on",
            "images-1-id": second.pk,
            "images-1-alt_texts": "{}",
            "images-1-position": "1",
        },
    )

    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", form)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.primary_image == second


def test_visibility_countries_are_stored_as_sorted_iso_codes(admin_client, catalogue):
    form = product_form(catalogue, visibility="only", visibility_countries=["TR", "DE", "AT"])

    response = admin_client.post("/admin/catalog/product/add/", form)

    assert response.status_code == 302
    product = Product.objects.get(translations__slug="silk-scarf")
    assert (product.visibility, product.visibility_countries) == ("only", ["AT", "DE", "TR"])


def test_a_visibility_rule_without_countries_is_explained(admin_client, catalogue):
    response = admin_client.post(
        "/admin/catalog/product/add/", product_form(catalogue, visibility="except")
    )

    assert response.status_code == 200
    assert "Choose the countries this visibility rule names." in response.content.decode()


def test_the_product_page_reads_select_options_once_for_all_variant_rows(admin_client, catalogue):
    product = Product.objects.get(pk=catalogue["product"])
    url = f"/admin/catalog/product/{product.pk}/change/"
    with CaptureQueriesContext(connection) as one_variant:
        admin_client.get(url)
    for number in range(5):
        Variant.objects.create(product=product, sku=f"LS-{number}")

    with CaptureQueriesContext(connection) as six_variants:
        admin_client.get(url)

    assert len(six_variants) == len(one_variant)


def test_a_category_is_added_with_its_translations(admin_client, catalogue):
    parent = Category.objects.get(pk=catalogue["category"])
    form = {
        "code": "linen-shirts",
        "is_active": "on",
        "treebeard_position": "sorted-child",
        "treebeard_ref_node": str(parent.pk),
        "translations-TOTAL_FORMS": "4",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "4",
        "translations-0-language": "en",
        "translations-0-name": "Linen shirts",
        "translations-0-slug": "linen-shirts",
        "translations-1-language": "tr",
        "translations-2-language": "de",
        "translations-3-language": "fr",
    }

    response = admin_client.post("/admin/catalog/category/add/", form)

    assert response.status_code == 302
    child = Category.objects.get(code="linen-shirts")
    assert Category.objects.get_parent(child) == parent
    assert list(child.translations.values_list("name", flat=True)) == ["Linen shirts"]
