"""Query forms of cached pages: their fields only, in a fixed order, in one spelling."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from storefront.page_queries import ListingForm, ProductForm, SearchForm


@pytest.mark.parametrize(
    ("form", "query", "canonical"),
    [
        (
            ListingForm,
            "in_stock=on&max_price=50,50&min_price=10.0&brand=3&brand=1&brand=3&sort=-price&page=02",
            "page=2&sort=-price&brand=1&brand=3&min_price=10&max_price=50.5&in_stock=1",
        ),
        (ListingForm, "page=1&sort=newest&value=", ""),
        (ListingForm, "min_price=0&value=7&value=x", "min_price=0"),
        (ListingForm, "in_stock=0&sort=name", "sort=name"),
        (ListingForm, "in_stock=OFF", ""),
        (ListingForm, "in_stock=false", ""),
        (ListingForm, "in_stock=yes", "in_stock=1"),
        (SearchForm, "q=%20Kervan%20%20%20Shirt%20&utm_medium=mail", "q=Kervan+Shirt"),
        (ProductForm, "variant=%20krv-tee-m&page=3", "variant=KRV-TEE-M"),
    ],
)
def test_canonical_queries(form, query, canonical):
    assert form(QueryDict(query)).canonical_query() == canonical
