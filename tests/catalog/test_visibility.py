"""A product's own check of where it is shown agrees with the database query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product

pytestmark = pytest.mark.django_db

STATES = [
    {"is_published": True, "visibility": "everywhere", "visibility_countries": []},
    {"is_published": False, "visibility": "everywhere", "visibility_countries": []},
    {"is_published": True, "visibility": "only", "visibility_countries": ["DE", "AT"]},
    {"is_published": True, "visibility": "only", "visibility_countries": ["US"]},
    {"is_published": True, "visibility": "except", "visibility_countries": ["DE"]},
    {"is_published": True, "visibility": "except", "visibility_countries": ["TR"]},
]


def test_is_shown_in_agrees_with_visible_in(demo_shop):
    product = Product.objects.filter(variants__sku="KRV-TEE-M").get()
    for state in STATES:
        for published in (-3600, 0, 3600):  # seconds from now
            Product.objects.filter(pk=product.pk).update(
                **state, published_at=timezone.now() + timedelta(seconds=published)
            )
            product.refresh_from_db()
            for country in ("DE", "de", "US"):
                in_database = Product.objects.visible_in(country).filter(pk=product.pk).exists()
                assert product.is_shown_in(country) == in_database, (state, published, country)
