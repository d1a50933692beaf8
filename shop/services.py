"""Writes of the shop core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from shop.models import CustomerGroup, Market, MarketCountry, Seller
from shop.selectors import markets_changed


@transaction.atomic
def market_upsert(
    *,
    code: str,
    name: str,
    currency: str,
    default_language: str,
    other_languages: Iterable[str] = (),
    default_country: str,
    countries: Iterable[str],
    prices_include_tax: bool,
    is_default: bool = False,
    position: int = 0,
    seller: Seller | None = None,
) -> Market:
    """Create or update a market by code, serving exactly ``countries``."""
    if is_default:
        Market.objects.filter(is_default=True).exclude(code=code).update(is_default=False)
    market, _created = Market.objects.update_or_create(
        code=code,
        defaults={
            "name": name,
            "currency": currency,
            "default_language": default_language,
            "other_languages": list(other_languages),
            "default_country_id": default_country,
            "prices_include_tax": prices_include_tax,
            "is_active": True,
            "is_default": is_default,
            "position": position,
            "seller": seller,
        },
    )
    wanted = set(countries) | {default_country}
    market.country_links.exclude(country_id__in=wanted).delete()
    present = set(market.country_links.values_list("country_id", flat=True))
    for country in sorted(wanted - present):
        MarketCountry(market=market, country_id=country).save()
    markets_changed()
    return market


def seller_upsert(*, code: str, **fields: Any) -> Seller:
    """Create or update a seller by code; ``fields`` are Seller fields (``country_id``…)."""
    seller = Seller.objects.filter(code=code).first() or Seller(code=code)
    for name, value in fields.items():
        setattr(seller, name, value)
    seller.full_clean()
    seller.save()
    markets_changed()
    return seller


def customer_group_upsert(*, code: str, name: str, description: str = "") -> CustomerGroup:
    group, _created = CustomerGroup.objects.update_or_create(
        code=code, defaults={"name": name, "description": description}
    )
    return group


def dev_admin_ensure(*, username: str, email: str, password: str) -> bool:
    """Create a superuser for local development; False when it already exists."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return False
    User.objects.create_superuser(username=username, email=email, password=password)
    return True
