"""Writes of the shipping app: delivery regions, methods and rates, customs areas and rules.

Every function validates like the admin does (``full_clean``) and raises
``ValidationError`` before anything is written; each runs in one transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from shipping.models import (
    CustomsArea,
    CustomsAreaCountry,
    DeliveryCity,
    DeliveryCountry,
    DeliveryDistrict,
    DeliveryRegion,
    DutyChapterRate,
    DutyRule,
    PostalCodeRule,
    ShippingMethod,
    ShippingRate,
    ShippingRateBracket,
    ShippingZone,
    place_key,
    postal_code_key,
)
from shipping.selectors import shipping_config_changed
from shop.models import Country, Region

P = ParamSpec("P")
R = TypeVar("R")


def _changes_config(function: Callable[P, R]) -> Callable[P, R]:
    """The wrapped service writes delivery configuration: retire its caches on commit."""

    @functools.wraps(function)
    def changing(*args: P.args, **kwargs: P.kwargs) -> R:
        shipping_config_changed()
        return function(*args, **kwargs)

    return changing


@transaction.atomic
@_changes_config
def delivery_country_set(
    *, country: str, is_enabled: bool = True, list_regions: bool = True
) -> DeliveryCountry:
    """Switch delivery to ``country`` on or off; list its regions for switching."""
    code = country.strip().upper()
    country_row = Country.objects.filter(pk=code).first()
    if country_row is None:
        raise ValidationError(_("Unknown country: %(country)s") % {"country": code})
    delivery, _created = DeliveryCountry.objects.update_or_create(
        country=country_row, defaults={"is_enabled": is_enabled}
    )
    if list_regions:
        listed = set(
            DeliveryRegion.objects.filter(region__country=country_row).values_list(
                "region_id", flat=True
            )
        )
        DeliveryRegion.objects.bulk_create(
            [
                DeliveryRegion(region=region)
                for region in Region.objects.filter(country=country_row).order_by("pk")
                if region.pk not in listed
            ]
        )
    return delivery


@transaction.atomic
@_changes_config
def delivery_regions_set(*, regions: Iterable[str], is_enabled: bool) -> int:
    """Switch the regions with these ISO 3166-2 codes on or off; how many there were."""
    codes = sorted({code.strip().upper() for code in regions})
    found = list(Region.objects.filter(code__in=codes).order_by("pk"))
    missing = set(codes) - {region.code for region in found}
    if missing:
        raise ValidationError(
            _("Unknown regions: %(regions)s") % {"regions": ", ".join(sorted(missing))}
        )
    for region in found:
        DeliveryRegion.objects.update_or_create(region=region, defaults={"is_enabled": is_enabled})
    return len(found)


@transaction.atomic
@_changes_config
def delivery_city_upsert(
    *,
    country: str,
    name: str,
    region: str = "",
    is_enabled: bool = True,
    districts: Iterable[str] = (),
    disabled_districts: Iterable[str] = (),
) -> DeliveryCity:
    """Create or update a city, adding ``districts`` (on) and ``disabled_districts`` (off).

    Districts already listed and not named keep their switch.
    """
    country_code = country.strip().upper()
    region_row = Region.objects.filter(code=region.strip().upper()).first() if region else None
    if region and region_row is None:
        raise ValidationError(_("Unknown region: %(region)s") % {"region": region})
    city = DeliveryCity.objects.filter(
        country_id=country_code, region=region_row, name_key=place_key(name)
    ).first() or DeliveryCity(country_id=country_code, region=region_row)
    city.name = name
    city.is_enabled = is_enabled
    city.full_clean(validate_constraints=False)
    city.save()
    wanted = [(district, True) for district in districts] + [
        (district, False) for district in disabled_districts
    ]
    for district_name, enabled in wanted:
        district = city.districts.filter(name_key=place_key(district_name)).first() or (
            DeliveryDistrict(city=city)
        )
        district.name = district_name
        district.is_enabled = enabled
        district.full_clean(exclude=["city"])
        district.save()
    return city


@transaction.atomic
@_changes_config
def postal_code_rule_add(
    *,
    country: str,
    action: str,
    kind: str,
    value: str = "",
    range_start: str = "",
    range_end: str = "",
    note: str = "",
) -> PostalCodeRule:
    """Add an include or exclude rule unless an identical one exists."""
    code = country.strip().upper()
    if not DeliveryCountry.objects.filter(pk=code).exists():
        raise ValidationError(_("Add %(country)s as a delivery country first.") % {"country": code})
    rule = PostalCodeRule(
        country_id=code,
        action=action,
        kind=kind,
        value=value,
        range_start=range_start,
        range_end=range_end,
        note=note,
    )
    rule.full_clean()
    existing = PostalCodeRule.objects.filter(
        country_id=rule.country_id,
        action=rule.action,
        kind=rule.kind,
        value=postal_code_key(rule.value),
        range_start=rule.range_start,
        range_end=rule.range_end,
    ).first()
    if existing is not None:
        return existing
    rule.save()
    return rule


@transaction.atomic
@_changes_config
def shipping_method_upsert(
    *,
    code: str,
    carrier: str,
    names: Mapping[str, str],
    days_min: int,
    days_max: int,
    tracking_url_pattern: str = "",
    is_active: bool = True,
    position: int = 0,
) -> ShippingMethod:
    """Create or update a shipping method by code."""
    method = ShippingMethod.objects.filter(code=code).first() or ShippingMethod(code=code)
    method.carrier = carrier
    method.names = dict(names) if isinstance(names, Mapping) else names
    method.days_min = days_min
    method.days_max = days_max
    method.tracking_url_pattern = tracking_url_pattern
    method.is_active = is_active
    method.position = position
    method.full_clean()
    method.save()
    return method


@transaction.atomic
@_changes_config
def shipping_zone_upsert(
    *,
    method: ShippingMethod,
    name: str,
    countries: Iterable[str] = (),
    regions: Iterable[str] = (),
) -> ShippingZone:
    """Create or update a zone of ``method`` serving exactly these countries and regions."""
    country_codes = sorted({code.strip().upper() for code in countries})
    region_codes = sorted({code.strip().upper() for code in regions})
    country_rows = list(Country.objects.filter(pk__in=country_codes))
    region_rows = list(Region.objects.filter(code__in=region_codes))
    if len(country_rows) != len(country_codes) or len(region_rows) != len(region_codes):
        raise ValidationError(_("Unknown country or region in the zone."))
    if not country_rows and not region_rows:
        raise ValidationError(_("A zone serves at least one country or region."))
    zone, _created = ShippingZone.objects.get_or_create(method=method, name=name)
    zone.countries.set(country_rows)
    zone.regions.set(region_rows)
    return zone


Bracket = tuple[Decimal | int | None, Decimal]
"""(up to and including — grams or goods value, None for no limit; amount)."""


@transaction.atomic
@_changes_config
def shipping_rate_upsert(
    *,
    zone: ShippingZone,
    currency: str,
    basis: str = ShippingRate.Basis.FLAT,
    amount: Decimal | None = None,
    brackets: Sequence[Bracket] = (),
    free_above: Decimal | None = None,
    max_weight_grams: int | None = None,
    includes_tax: bool = True,
) -> ShippingRate:
    """Create or update the rate of ``zone`` in ``currency``; brackets are replaced."""
    currency = currency.strip().upper()
    rate = ShippingRate.objects.filter(zone=zone, currency=currency).first() or ShippingRate(
        zone=zone, currency=currency
    )
    rate.basis = basis
    rate.amount = amount
    rate.free_above = free_above
    rate.max_weight_grams = max_weight_grams
    rate.includes_tax = includes_tax
    rate.full_clean()
    if basis != ShippingRate.Basis.FLAT and not brackets:
        raise ValidationError(_("A weight or order-value rate needs at least one bracket."))
    limits = [None if up_to is None else Decimal(up_to) for up_to, _amount in brackets]
    if len(set(limits)) != len(limits):
        raise ValidationError(_("Two brackets of this rate end at the same value."))
    rows = [
        ShippingRateBracket(up_to=up_to, amount=Decimal(bracket_amount))
        for up_to, (_limit, bracket_amount) in zip(limits, brackets, strict=True)
    ]
    for row in rows:
        row.full_clean(exclude=["rate"])
    rate.save()
    rate.brackets.all().delete()
    for row in rows:
        row.rate = rate
    ShippingRateBracket.objects.bulk_create(rows)
    return rate


@transaction.atomic
@_changes_config
def customs_area_upsert(*, code: str, name: str, countries: Iterable[str]) -> CustomsArea:
    """Create or update a customs area with exactly these member countries."""
    wanted = sorted({country.strip().upper() for country in countries})
    area, _created = CustomsArea.objects.update_or_create(code=code, defaults={"name": name})
    clashes = (
        CustomsAreaCountry.objects.filter(country_id__in=wanted)
        .exclude(area=area)
        .values_list("country_id", flat=True)
    )
    if clashes:
        raise ValidationError(
            _("Already in another customs area: %(countries)s")
            % {"countries": ", ".join(sorted(clashes))}
        )
    known = set(Country.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if known != set(wanted):
        raise ValidationError(
            _("Unknown countries: %(countries)s")
            % {"countries": ", ".join(sorted(set(wanted) - known))}
        )
    area.members.exclude(country_id__in=wanted).delete()
    present = set(area.members.values_list("country_id", flat=True))
    CustomsAreaCountry.objects.bulk_create(
        [CustomsAreaCountry(area=area, country_id=code) for code in wanted if code not in present]
    )
    return area


@transaction.atomic
@_changes_config
def duty_rule_upsert(
    *,
    area: CustomsArea,
    name: str,
    valid_from: date,
    valid_to: date | None = None,
    mode: str = DutyRule.Mode.DDP,
    percentage: Decimal = Decimal(0),
    percentage_includes_shipping: bool = False,
    chapter_rates: Mapping[str, Decimal] | None = None,
    flat_per_subheading: Decimal = Decimal(0),
    flat_currency: str = "",
    threshold_amount: Decimal | None = None,
    threshold_currency: str = "",
    threshold_applies: str = DutyRule.ThresholdApplies.BELOW,
    import_vat_at_checkout: bool = False,
    position: int = 0,
    is_active: bool = True,
) -> DutyRule:
    """Create or update the duty rule of ``area`` named ``name``; chapter rates are replaced."""
    rule = DutyRule.objects.filter(area=area, name=name).first() or DutyRule(area=area, name=name)
    rule.valid_from = valid_from
    rule.valid_to = valid_to
    rule.mode = mode
    rule.percentage = percentage
    rule.percentage_includes_shipping = percentage_includes_shipping
    rule.flat_per_subheading = flat_per_subheading
    rule.flat_currency = flat_currency
    rule.threshold_amount = threshold_amount
    rule.threshold_currency = threshold_currency
    rule.threshold_applies = threshold_applies
    rule.import_vat_at_checkout = import_vat_at_checkout
    rule.position = position
    rule.is_active = is_active
    rule.full_clean()
    rows = [
        DutyChapterRate(hs_chapter=chapter, percentage=Decimal(rate))
        for chapter, rate in sorted((chapter_rates or {}).items())
    ]
    for row in rows:
        row.full_clean(exclude=["rule"])
    rule.save()
    rule.chapter_rates.all().delete()
    for row in rows:
        row.rule = rule
    DutyChapterRate.objects.bulk_create(rows)
    return rule
