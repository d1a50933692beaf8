"""Reads of the shipping app: where the shop delivers, shipping options, duty and tracking.

Other apps use these functions and dataclasses only; the models stay this app's own.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shipping.models import (
    CustomsAreaCountry,
    DeliveryCity,
    DeliveryCountry,
    DeliveryDistrict,
    DeliveryRegion,
    DutyRule,
    PostalCodeRule,
    ShippingMethod,
    ShippingRate,
    ShippingRateBracket,
    ShippingZone,
    place_key,
    postal_code_key,
)
from shop import versions
from shop.config_cache import config_cached
from shop.models import Country, Region
from shop.money import minor_units

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
HUNDRED = Decimal(100)

Convert = Callable[[Decimal, str, str], Decimal]
"""(amount, from_currency, to_currency) -> amount, e.g. at the day's exchange rates."""

# Delivery rules read countries and regions of ``shop`` too.
_CONFIG = (versions.SHIPPING, versions.MARKETS)


def shipping_config_changed() -> None:
    """Delivery regions, postal-code rules, methods, zones, rates, customs areas or
    duty rules changed: every process reads them again once the transaction commits."""
    versions.retire(versions.SHIPPING)


def _key(kind: str, *parts: object) -> str:
    """A bounded cache key for values that include what a shopper typed."""
    text = "\x1f".join(str(part) for part in parts)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def money_quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (EUR 0.01, JPY 1)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


@contextmanager
def _language(language: str) -> Iterator[None]:
    if language:
        with translation.override(language):
            yield
    else:
        yield


# --- Delivery regions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where a parcel goes, as the shopper entered it."""

    country: str  # ISO alpha-2, upper
    region: str = ""  # shop.Region.code, e.g. "US-NY", "TR-34"
    city: str = ""
    district: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class DeliveryCheck:
    """Whether the shop delivers to a destination; if not, which field is the reason."""

    ok: bool
    field: str = ""  # "country" | "region" | "city" | "district" | "postal_code" | ""
    message: str = ""  # translated, shopper-facing; "" when ok


OK = DeliveryCheck(ok=True)


def _refuse(field: str, message: str) -> DeliveryCheck:
    return DeliveryCheck(ok=False, field=field, message=message)


def _is_storable(value: str) -> bool:
    """PostgreSQL refuses NUL in text: such input is refused before any query."""
    return "\x00" not in value


def _delivery_country(code: str) -> DeliveryCountry | None:
    return (
        DeliveryCountry.objects.select_related("country")
        .filter(country_id=code.strip().upper(), is_enabled=True)
        .first()
    )


def _region_is_switched_off(region: Region) -> bool:
    """Off when the region, or the region it belongs to, is switched off."""
    codes = [region.pk] + ([region.parent_id] if region.parent_id else [])
    return DeliveryRegion.objects.filter(region_id__in=codes, is_enabled=False).exists()


def destination_check(destination: Destination) -> DeliveryCheck:
    """Whether the shop delivers to ``destination``, checked from the country down.

    Kept per destination and language until the delivery rules change.

    Country: switched on for delivery. Region: of that country, required where
    the country requires one, not switched off. City: not switched off; where
    the city lists districts, the district must be one of them and switched on.
    Postal code: present where required, in the country's format, and allowed
    by the country's postal-code rules (exclusions win over inclusions).
    """
    for field in ("country", "region", "city", "district", "postal_code"):
        if not _is_storable(getattr(destination, field)):
            return _refuse(field, _("Please remove the invalid characters."))
    key = _key(
        "check",
        translation.get_language() or "",
        destination.country,
        destination.region,
        destination.city,
        destination.district,
        destination.postal_code,
    )
    return config_cached(_CONFIG, key, lambda: _destination_check(destination))


def _destination_check(destination: Destination) -> DeliveryCheck:
    delivery_country = _delivery_country(destination.country)
    if delivery_country is None:
        country_name = (
            Country.objects.filter(pk=destination.country.strip().upper())
            .values_list("name", flat=True)
            .first()
        )
        return _refuse(
            "country",
            _("We do not deliver to %(place)s.") % {"place": country_name or destination.country},
        )
    country = delivery_country.country

    region: Region | None = None
    if destination.region:
        region = (
            Region.objects.filter(code=destination.region.strip().upper(), country=country)
            .filter(is_active=True)
            .first()
        )
        if region is None:
            return _refuse(
                "region", _("This region is not in %(country)s.") % {"country": country.name}
            )
        if _region_is_switched_off(region):
            return _refuse("region", _("We do not deliver to %(place)s.") % {"place": region.name})
    elif country.requires_region:
        return _refuse("region", _("Choose a region for %(country)s.") % {"country": country.name})

    if destination.city.strip():
        check = _city_check(country, region, destination.city, destination.district)
        if not check.ok:
            return check

    return _postal_code_check(country, destination.postal_code)


def _city_check(country: Country, region: Region | None, city: str, district: str) -> DeliveryCheck:
    cities = DeliveryCity.objects.filter(country=country, name_key=place_key(city))
    if region is not None:
        cities = cities.filter(Q(region=region) | Q(region__isnull=True))
    listed = list(cities.prefetch_related("districts").order_by("region_id"))
    if not listed:
        return OK  # cities not listed follow their region
    # A row for the exact region is more specific than one for the whole country.
    delivery_city = listed[0] if region is None else min(listed, key=lambda c: c.region_id is None)
    if not delivery_city.is_enabled:
        return _refuse("city", _("We do not deliver to %(place)s.") % {"place": delivery_city.name})
    districts: list[DeliveryDistrict] = list(delivery_city.districts.all())
    if not districts:
        return OK
    if not district.strip():
        return _refuse(
            "district", _("Choose a district of %(city)s.") % {"city": delivery_city.name}
        )
    key = place_key(district)
    match = next((item for item in districts if item.name_key == key), None)
    if match is None:
        return _refuse(
            "district",
            _("%(district)s is not a district of %(city)s we know.")
            % {"district": district.strip(), "city": delivery_city.name},
        )
    if not match.is_enabled:
        return _refuse("district", _("We do not deliver to %(place)s.") % {"place": match.name})
    return OK


def _postal_code_check(country: Country, postal_code: str) -> DeliveryCheck:
    entered = postal_code.strip().upper()
    if not entered:
        if country.requires_postal_code:
            return _refuse(
                "postal_code",
                _("A postal code is required for %(country)s.") % {"country": country.name},
            )
        return OK
    if not country.is_valid_postal_code(entered):
        example = country.postal_code_example.split(",")[0]
        return _refuse(
            "postal_code",
            _("This is not a valid postal code for %(country)s (example: %(example)s).")
            % {"country": country.name, "example": example},
        )
    if not postal_code_allowed(country=country.code, postal_code=entered):
        return _refuse(
            "postal_code",
            _("We do not deliver to postal code %(postal_code)s.") % {"postal_code": entered},
        )
    return OK


def postal_code_allowed(*, country: str, postal_code: str) -> bool:
    """The country's postal-code rules: in an include rule (if any), in no exclude rule."""
    code = postal_code_key(postal_code)
    rules = list(PostalCodeRule.objects.filter(country_id=country.strip().upper()))
    if any(rule.matches(code) for rule in rules if rule.action == PostalCodeRule.Action.EXCLUDE):
        return False
    includes = [rule for rule in rules if rule.action == PostalCodeRule.Action.INCLUDE]
    return not includes or any(rule.matches(code) for rule in includes)


def deliverable_countries() -> list[str]:
    """ISO codes of the countries switched on for delivery, sorted."""
    codes: tuple[str, ...] = config_cached(
        _CONFIG,
        "deliverable-countries",
        lambda: tuple(
            sorted(
                DeliveryCountry.objects.filter(is_enabled=True).values_list("country_id", flat=True)
            )
        ),
    )
    return list(codes)


def deliverable_regions(country: str) -> list[tuple[str, str]]:
    """(region code, name) of the active regions of ``country`` the shop delivers to, by name."""
    code = country.strip().upper()
    if not _is_storable(code):
        return []
    if not DeliveryCountry.objects.filter(country_id=code, is_enabled=True).exists():
        return []
    switched_off = DeliveryRegion.objects.filter(is_enabled=False)
    regions = (
        Region.objects.filter(country_id=code, is_active=True)
        .exclude(pk__in=switched_off.values("region_id"))
        .exclude(parent_id__in=switched_off.values("region_id"))
        .order_by("name")
    )
    return [(region.code, region.name) for region in regions]


def deliverable_districts(country: str, region: str = "", city: str = "") -> list[str]:
    """Names of the districts switched on in the (switched on) cities matching the filters."""
    code = country.strip().upper()
    if not all(_is_storable(value) for value in (code, region, city)):
        return []
    if not DeliveryCountry.objects.filter(country_id=code, is_enabled=True).exists():
        return []
    districts = DeliveryDistrict.objects.filter(
        is_enabled=True, city__is_enabled=True, city__country_id=code
    )
    if region:
        districts = districts.filter(
            Q(city__region__code=region.strip().upper()) | Q(city__region__isnull=True)
        )
    if city.strip():
        districts = districts.filter(city__name_key=place_key(city))
    return sorted(set(districts.values_list("name", flat=True)), key=place_key)


# --- Shipping options --------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippingOption:
    """A shipping method offered for a cart, with its price in the cart's currency."""

    method_id: int
    code: str
    carrier: str
    name: str  # in the given language (fallback default)
    price: Decimal  # quantized to currency minor units
    currency: str
    price_includes_tax: bool
    days_min: int
    days_max: int


def rate_price(rate: ShippingRate, *, weight_grams: int, goods_value: Decimal) -> Decimal | None:
    """What ``rate`` charges for a cart (unrounded), or None when it does not take the cart."""
    if rate.max_weight_grams is not None and weight_grams > rate.max_weight_grams:
        return None
    if rate.basis == ShippingRate.Basis.FLAT:
        price = rate.amount
    else:
        measure = Decimal(weight_grams) if rate.basis == ShippingRate.Basis.WEIGHT else goods_value
        brackets: list[ShippingRateBracket] = sorted(
            rate.brackets.all(), key=lambda b: (b.up_to is None, b.up_to or ZERO)
        )
        bracket = next((b for b in brackets if b.up_to is None or measure <= b.up_to), None)
        price = bracket.amount if bracket is not None else None
    if price is None:
        return None
    if rate.free_above is not None and goods_value >= rate.free_above:
        return ZERO
    return price


def shipping_options(
    *,
    destination: Destination,
    currency: str,
    weight_grams: int,
    goods_value: Decimal,
    language: str = "",
) -> list[ShippingOption]:
    """The shipping methods that serve ``destination`` and take the cart, cheapest first.

    A method is offered when one of its zones lists the destination's country
    or region (a region's zone wins over its country's) and that zone has a
    rate in ``currency`` that takes ``weight_grams``. Free above the rate's
    threshold of ``goods_value`` (the goods as the shopper sees them) gives 0.00.
    """
    if weight_grams < 0:
        raise ValueError("weight_grams must not be negative")
    if goods_value < 0:
        raise ValueError("goods_value must not be negative")
    currency = currency.strip().upper()
    if not _is_storable(currency) or not destination_check(destination).ok:
        return []
    country = destination.country.strip().upper()
    region = destination.region.strip().upper()
    chosen = config_cached(
        _CONFIG,
        _key("rates", country, region, currency),
        lambda: _zone_rates(country, region, currency),
    )
    return _options_priced(
        chosen,
        weight_grams=weight_grams,
        goods_value=goods_value,
        currency=currency,
        language=language,
    )


def country_shipping_options(
    *, country: str, currency: str, weight_grams: int, goods_value: Decimal, language: str = ""
) -> list[ShippingOption]:
    """The shipping methods serving a whole country for one item, cheapest first.

    For product feeds, which state a price per destination country before any
    address is known: the country must be switched on for delivery; zones
    listing the country itself count (a zone listing only some of its regions
    does not). Priced like ``shipping_options``; read from the process's
    configuration cache, so a feed of any size costs no query per item.
    """
    if weight_grams < 0 or goods_value < 0:
        raise ValueError("weight_grams and goods_value must not be negative")
    country = country.strip().upper()
    currency = currency.strip().upper()
    if not (_is_storable(country) and _is_storable(currency)):
        return []
    delivers = config_cached(
        _CONFIG, _key("delivers", country), lambda: _delivery_country(country) is not None
    )
    if not delivers:
        return []
    chosen = config_cached(
        _CONFIG, _key("rates", country, "", currency), lambda: _zone_rates(country, "", currency)
    )
    return _options_priced(
        chosen,
        weight_grams=weight_grams,
        goods_value=goods_value,
        currency=currency,
        language=language,
    )


def _options_priced(
    chosen: tuple[tuple[ShippingMethod, ShippingRate], ...],
    *,
    weight_grams: int,
    goods_value: Decimal,
    currency: str,
    language: str,
) -> list[ShippingOption]:
    """The methods whose rate prices this parcel, cheapest first (then position,
    speed, code)."""
    options = []
    for method, rate in chosen:
        price = rate_price(rate, weight_grams=weight_grams, goods_value=goods_value)
        if price is None:
            continue
        options.append(
            ShippingOption(
                method_id=method.pk,
                code=method.code,
                carrier=method.carrier,
                name=method.name(language or translation.get_language() or ""),
                price=money_quantize(price, currency),
                currency=currency,
                price_includes_tax=rate.includes_tax,
                days_min=method.days_min,
                days_max=method.days_max,
            )
        )
    positions = {method.pk: method.position for method, _rate in chosen}
    options.sort(key=lambda o: (o.price, positions[o.method_id], o.days_max, o.code))
    return options


def _zone_rates(
    country: str, region_code: str, currency: str
) -> tuple[tuple[ShippingMethod, ShippingRate], ...]:
    """Each active method serving the place, with its zone's rate in ``currency``
    (brackets loaded): a region's zone wins over its country's."""
    region_codes: list[str] = []
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is not None:
            region_codes = [region.code]
            if region.parent_id:
                region_codes.append(
                    Region.objects.filter(pk=region.parent_id).values_list("code", flat=True)[0]
                )
    region_link = ShippingZone.regions.through.objects.filter(
        shippingzone_id=OuterRef("pk"), region__code__in=region_codes
    )
    zones = (
        ShippingZone.objects.filter(method__is_active=True)
        .filter(Q(countries__code=country) | Q(regions__code__in=region_codes))
        .annotate(serves_region=Exists(region_link))
        .select_related("method")
        .prefetch_related(
            Prefetch(
                "rates",
                queryset=ShippingRate.objects.filter(currency=currency).prefetch_related(
                    "brackets"
                ),
            )
        )
        .distinct()
        .order_by("method_id", "-serves_region", "pk")
    )
    chosen: dict[int, tuple[ShippingMethod, ShippingRate]] = {}
    for zone in zones:
        rates = list(zone.rates.all())
        if zone.method_id not in chosen and rates:
            chosen[zone.method_id] = (zone.method, rates[0])
    return tuple(chosen.values())


def tracking_url(*, method_id: int, tracking_number: str) -> str:
    """The carrier's tracking link for a parcel; "" when the method has no link pattern."""
    pattern = (
        ShippingMethod.objects.filter(pk=method_id)
        .values_list("tracking_url_pattern", flat=True)
        .first()
    )
    number = tracking_number.strip()
    if not pattern or not number:
        return ""
    return pattern.replace("{number}", quote(number, safe=""))


# --- Customs -----------------------------------------------------------------------------------


def _customs_areas(countries: set[str]) -> dict[str, int]:
    """Country → customs area, for those of ``countries`` in an area."""
    every = config_cached(
        _CONFIG,
        "customs-areas",
        lambda: dict(CustomsAreaCountry.objects.values_list("country_id", "area_id")),
    )
    return {country: every[country] for country in countries if country in every}


def _duty_rules(area_id: int, on: date) -> list[DutyRule]:
    """The area's active rules valid on ``on``, in the order they are tried."""
    every: tuple[DutyRule, ...] = config_cached(
        _CONFIG,
        f"duty-rules:{area_id}",
        lambda: tuple(
            DutyRule.objects.filter(is_active=True, area_id=area_id)
            .prefetch_related("chapter_rates")
            .order_by("position", "-valid_from", "pk")
        ),
    )
    return [
        rule
        for rule in every
        if rule.valid_from <= on and (rule.valid_to is None or rule.valid_to >= on)
    ]


def _crosses(from_country: str, to_country: str, areas: dict[str, int]) -> bool:
    if not from_country or from_country == to_country:
        return False
    from_area, to_area = areas.get(from_country), areas.get(to_country)
    return from_area is None or from_area != to_area


def crosses_customs_border(from_country: str, to_country: str) -> bool:
    """True when goods from ``from_country`` to ``to_country`` pass customs.

    Countries of one customs area (the EU's members) share their border; a
    country in no area is an area of its own.
    """
    origin, destination = from_country.strip().upper(), to_country.strip().upper()
    if origin == destination:
        return False
    return _crosses(origin, destination, _customs_areas({origin, destination}))


@dataclass(frozen=True)
class CustomsLine:
    """One line of a consignment as customs sees it."""

    key: str  # caller's line id
    hs_code: str  # may be "" (then only non-HS rules apply)
    origin_country: str
    ship_from_country: str
    value: Decimal  # goods value of the line, net of tax, in `currency`
    quantity: int


@dataclass(frozen=True)
class DutyQuote:
    """Duty on a consignment and how it is settled."""

    mode: str  # "none" | "ddp" | "dap"
    amount: Decimal  # duty charged at checkout (DDP), 0 otherwise; in `currency`, quantized
    currency: str
    import_vat_at_checkout: bool  # charge destination VAT/sales tax on crossing lines at checkout
    crossing_keys: tuple[str, ...]  # keys of lines that cross the customs border
    notice: str  # translated shopper text; for DAP: duties and taxes are collected on delivery
    rule_id: int | None = None


def _threshold_holds(rule: DutyRule, value: Decimal, currency: str, convert: Convert) -> bool:
    if rule.threshold_amount is None:
        return True
    in_threshold_currency = (
        value
        if rule.threshold_currency == currency
        else convert(value, currency, rule.threshold_currency)
    )
    if rule.threshold_applies == DutyRule.ThresholdApplies.BELOW:
        return in_threshold_currency <= rule.threshold_amount
    return in_threshold_currency > rule.threshold_amount


def _duty_amount(
    rule: DutyRule,
    lines: Sequence[CustomsLine],
    *,
    shipping_share: Decimal,
    currency: str,
    convert: Convert,
) -> Decimal:
    chapter_rates = {rate.hs_chapter: rate.percentage for rate in rule.chapter_rates.all()}
    duty = ZERO
    for line in lines:
        chapter = line.hs_code[:2] if line.hs_code else ""
        percentage = chapter_rates.get(chapter, rule.percentage)
        duty += line.value * percentage / HUNDRED
    if rule.percentage_includes_shipping and shipping_share:
        duty += shipping_share * rule.percentage / HUNDRED
    if rule.flat_per_subheading:
        subheadings = {
            line.hs_code.replace(".", "")[:6] for line in lines if len(line.hs_code) >= 6
        }
        flat = rule.flat_per_subheading * len(subheadings)
        if flat and rule.flat_currency != currency:
            flat = convert(flat, rule.flat_currency, currency)
        duty += flat
    return duty


def duty_quote(
    *,
    destination_country: str,
    lines: Sequence[CustomsLine],
    shipping: Decimal,
    currency: str,
    convert: Convert,
    on: date | None = None,
    language: str = "",
) -> DutyQuote:
    """Duty and import-tax handling for the lines of an order that cross a customs border.

    Only lines shipped from outside the destination's customs area count (a
    line without ship-from country counts as shipped inside it). The
    first active rule of the destination's area (by position) that is valid on
    ``on`` and whose threshold holds for the crossing goods' value decides:
    DDP charges its duty at checkout, DAP only gives notice. ``shipping`` is
    the order's shipping (net); a rule taxing shipping takes the crossing
    goods' share of it.
    """
    currency = currency.strip().upper()
    destination = destination_country.strip().upper()
    on = on or timezone.localdate()
    areas = _customs_areas({destination} | {line.ship_from_country.upper() for line in lines})
    crossing = [
        line for line in lines if _crosses(line.ship_from_country.upper(), destination, areas)
    ]
    nothing = DutyQuote(
        mode="none",
        amount=money_quantize(ZERO, currency),
        currency=currency,
        import_vat_at_checkout=False,
        crossing_keys=tuple(line.key for line in crossing),
        notice="",
    )
    if not crossing:
        return nothing
    crossing_value = sum((line.value for line in crossing), ZERO)
    total_value = sum((line.value for line in lines), ZERO)
    area_id = areas.get(destination)
    rules = _duty_rules(area_id, on) if area_id is not None else []
    rule = next((r for r in rules if _threshold_holds(r, crossing_value, currency, convert)), None)
    if rule is None:
        # A gap in the duty rules: do not sell silently untaxed, tell the shopper that
        # the carrier may collect duties and taxes (DAP), and the merchant to add a rule.
        logger.error(
            "No duty rule for goods into %s worth %s %s on %s: sold as DAP",
            destination,
            crossing_value,
            currency,
            on,
        )
        with _language(language):
            return replace(
                nothing,
                mode="dap",
                notice=_("Import duties and taxes may be due on delivery."),
            )
    with _language(language):
        if rule.mode == DutyRule.Mode.DAP:
            return DutyQuote(
                mode="dap",
                amount=money_quantize(ZERO, currency),
                currency=currency,
                import_vat_at_checkout=rule.import_vat_at_checkout,
                crossing_keys=nothing.crossing_keys,
                notice=_(
                    "Import duties and taxes are not included: the carrier collects them "
                    "on delivery."
                ),
                rule_id=rule.pk,
            )
        if not rule.charges_duty:
            notice = (
                _("Import taxes are included in the price; nothing more to pay on delivery.")
                if rule.import_vat_at_checkout
                else ""
            )
            return DutyQuote(
                mode="none",
                amount=money_quantize(ZERO, currency),
                currency=currency,
                import_vat_at_checkout=rule.import_vat_at_checkout,
                crossing_keys=nothing.crossing_keys,
                notice=notice,
                rule_id=rule.pk,
            )
        share = shipping * crossing_value / total_value if total_value else shipping
        amount = _duty_amount(
            rule, crossing, shipping_share=share, currency=currency, convert=convert
        )
        return DutyQuote(
            mode="ddp",
            amount=money_quantize(amount, currency),
            currency=currency,
            import_vat_at_checkout=rule.import_vat_at_checkout,
            crossing_keys=nothing.crossing_keys,
            notice=_("Import duties are charged at checkout; nothing more to pay on delivery."),
            rule_id=rule.pk,
        )
