"""Demo delivery regions, shipping methods and rates and duty rules for the demo markets.

Türkiye ships with Yurtiçi Kargo (free from 1,500 TRY) and an Istanbul courier,
and lists Istanbul's districts; Europe ships with DHL by weight; the US with
USPS by state group (and UPS); the UK with Royal Mail at a flat rate. The duty
rules follow the regimes of December 2026: US duty on every consignment, the
EU's flat 3 EUR per tariff subheading up to 150 EUR (since 1 July 2026) with
IOSS, the UK's VAT at checkout up to 135 GBP, and DAP notices above.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from shipping.models import CustomsArea, DutyRule, ShippingRate
from shipping.services import (
    customs_area_upsert,
    delivery_city_upsert,
    delivery_country_set,
    delivery_regions_set,
    duty_rule_upsert,
    postal_code_rule_add,
    shipping_method_upsert,
    shipping_rate_upsert,
    shipping_zone_upsert,
)

DEMO_DELIVERY_COUNTRIES = ["TR", "DE", "AT", "FR", "NL", "US", "GB"]

ISTANBUL_DISTRICTS = [
    "Ataşehir",
    "Bakırköy",
    "Başakşehir",
    "Beşiktaş",
    "Beykoz",
    "Beylikdüzü",
    "Beyoğlu",
    "Esenyurt",
    "Eyüpsultan",
    "Fatih",
    "Kadıköy",
    "Kartal",
    "Maltepe",
    "Pendik",
    "Sarıyer",
    "Şişli",
    "Ümraniye",
    "Üsküdar",
    "Zeytinburnu",
]
# The Princes' Islands have no motor traffic: the courier cannot deliver there.
ISTANBUL_DISTRICTS_OFF = ["Adalar"]

# US territories the demo carriers do not serve.
US_REGIONS_OFF = ["US-AS", "US-GU", "US-MP", "US-UM", "US-VI"]

POSTAL_CODE_RULES: list[dict[str, str]] = [
    # Heligoland and Büsingen are outside the EU's VAT and customs territory.
    {"country": "DE", "action": "exclude", "kind": "exact", "value": "27498"},
    {"country": "DE", "action": "exclude", "kind": "exact", "value": "78266"},
    # French overseas departments and territories: outside the EU VAT area.
    {"country": "FR", "action": "exclude", "kind": "prefix", "value": "97"},
    {"country": "FR", "action": "exclude", "kind": "prefix", "value": "98"},
    # Guernsey, Jersey and the Isle of Man have their own customs and VAT.
    {"country": "GB", "action": "exclude", "kind": "prefix", "value": "GY"},
    {"country": "GB", "action": "exclude", "kind": "prefix", "value": "JE"},
    {"country": "GB", "action": "exclude", "kind": "prefix", "value": "IM"},
    # Türkiye: the postal codes of its 81 provinces (01000–81999).
    {"country": "TR", "action": "include", "kind": "range", "start": "01000", "end": "81999"},
]

US_EAST = [
    "CT", "DC", "DE", "MA", "MD", "ME", "NH", "NJ", "NY", "PA", "RI", "VA", "VT", "WV",
    "NC", "SC", "GA", "FL", "OH", "MI", "IN", "KY", "TN", "AL", "MS",
]  # fmt: skip
US_CENTRAL = [
    "IL", "WI", "MN", "IA", "MO", "AR", "LA", "TX", "OK", "KS", "NE", "SD", "ND",
]  # fmt: skip
US_WEST = [
    "MT", "WY", "CO", "NM", "AZ", "UT", "ID", "NV", "CA", "OR", "WA",
]  # fmt: skip


def _brackets(*steps: tuple[int | None, str]) -> list[tuple[Decimal | int | None, Decimal]]:
    return [(up_to, Decimal(amount)) for up_to, amount in steps]


def _usps_rate(up_to_1kg: str, up_to_5kg: str, up_to_20kg: str) -> dict[str, Any]:
    """USPS by weight in USD, shown before sales tax like the US market's prices."""
    return {
        "currency": "USD",
        "basis": ShippingRate.Basis.WEIGHT,
        "brackets": _brackets((1000, up_to_1kg), (5000, up_to_5kg), (20000, up_to_20kg)),
        "max_weight_grams": 20000,
        "includes_tax": False,
    }


METHODS: list[dict[str, Any]] = [
    {
        "code": "yurtici",
        "carrier": "Yurtiçi Kargo",
        "names": {"tr": "Yurtiçi Kargo", "en": "Yurtiçi Kargo standard"},
        "days_min": 1,
        "days_max": 3,
        "tracking_url_pattern": (
            "https://www.yurticikargo.com/tr/online-servisler/gonderi-sorgula?code={number}"
        ),
        "position": 1,
        "zones": [
            {
                "name": "Türkiye",
                "countries": ["TR"],
                "rates": [
                    {
                        "currency": "TRY",
                        "basis": ShippingRate.Basis.FLAT,
                        "amount": Decimal("89.90"),
                        "free_above": Decimal("1500"),
                        "max_weight_grams": 30000,
                    }
                ],
            }
        ],
    },
    {
        "code": "istanbul-courier",
        "carrier": "Kervan Kurye",
        "names": {"tr": "İstanbul içi kurye (aynı gün)", "en": "Istanbul courier (same day)"},
        "days_min": 0,
        "days_max": 1,
        "position": 2,
        "zones": [
            {
                "name": "Istanbul",
                "regions": ["TR-34"],
                "rates": [
                    {
                        "currency": "TRY",
                        "basis": ShippingRate.Basis.ORDER_VALUE,
                        "brackets": _brackets((500, "149.90"), (None, "99.90")),
                        "max_weight_grams": 10000,
                    }
                ],
            }
        ],
    },
    {
        "code": "dhl",
        "carrier": "DHL",
        "names": {
            "en": "DHL Parcel",
            "de": "DHL Paket",
            "fr": "DHL Colis",
            "tr": "DHL Paket",
        },
        "days_min": 1,
        "days_max": 3,
        "tracking_url_pattern": (
            "https://www.dhl.de/de/privatkunden/dhl-sendungsverfolgung.html?piececode={number}"
        ),
        "position": 1,
        "zones": [
            {
                "name": "Germany",
                "countries": ["DE"],
                "rates": [
                    {
                        "currency": "EUR",
                        "basis": ShippingRate.Basis.WEIGHT,
                        "brackets": _brackets(
                            (2000, "5.90"), (5000, "7.49"), (10000, "10.49"), (31500, "19.99")
                        ),
                        "max_weight_grams": 31500,
                    }
                ],
            },
            {
                "name": "Austria, France, Netherlands",
                "countries": ["AT", "FR", "NL"],
                "rates": [
                    {
                        "currency": "EUR",
                        "basis": ShippingRate.Basis.WEIGHT,
                        "brackets": _brackets(
                            (2000, "9.90"), (5000, "13.90"), (10000, "17.90"), (31500, "29.90")
                        ),
                        "max_weight_grams": 31500,
                    }
                ],
            },
        ],
    },
    {
        "code": "dhl-express",
        "carrier": "DHL",
        "names": {"en": "DHL Express", "de": "DHL Express", "fr": "DHL Express"},
        "days_min": 1,
        "days_max": 1,
        "tracking_url_pattern": "https://www.dhl.com/track?tracking-id={number}",
        "position": 2,
        "zones": [
            {
                "name": "Europe",
                "countries": ["DE", "AT", "FR", "NL"],
                "rates": [
                    {
                        "currency": "EUR",
                        "basis": ShippingRate.Basis.FLAT,
                        "amount": Decimal("14.90"),
                        "max_weight_grams": 20000,
                    }
                ],
            },
        ],
    },
    {
        "code": "usps-ground",
        "carrier": "USPS",
        "names": {"en": "USPS Ground Advantage", "de": "USPS Ground Advantage"},
        "days_min": 2,
        "days_max": 5,
        "tracking_url_pattern": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
        "position": 1,
        "zones": [
            {
                "name": "US East",
                "regions": [f"US-{state}" for state in US_EAST],
                "rates": [_usps_rate("6.95", "12.95", "24.95")],
            },
            {
                "name": "US Central",
                "regions": [f"US-{state}" for state in US_CENTRAL],
                "rates": [_usps_rate("7.95", "14.95", "27.95")],
            },
            {
                "name": "US West",
                "regions": [f"US-{state}" for state in US_WEST],
                "rates": [_usps_rate("8.95", "16.95", "29.95")],
            },
            {
                # Alaska, Hawaii and Puerto Rico: every state not in a group above.
                "name": "US other",
                "countries": ["US"],
                "rates": [_usps_rate("14.95", "29.95", "49.95")],
            },
        ],
    },
    {
        "code": "ups-2day",
        "carrier": "UPS",
        "names": {"en": "UPS 2nd Day Air", "de": "UPS 2nd Day Air"},
        "days_min": 2,
        "days_max": 2,
        "tracking_url_pattern": "https://www.ups.com/track?tracknum={number}",
        "position": 2,
        "zones": [
            {
                "name": "United States",
                "countries": ["US"],
                "rates": [
                    {
                        "currency": "USD",
                        "basis": ShippingRate.Basis.FLAT,
                        "amount": Decimal("24.95"),
                        "includes_tax": False,
                        "max_weight_grams": 30000,
                    }
                ],
            }
        ],
    },
    {
        "code": "royal-mail",
        "carrier": "Royal Mail",
        "names": {"en": "Royal Mail Tracked 48"},
        "days_min": 2,
        "days_max": 3,
        "tracking_url_pattern": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
        "position": 1,
        "zones": [
            {
                "name": "United Kingdom",
                "countries": ["GB"],
                "rates": [
                    {
                        "currency": "GBP",
                        "basis": ShippingRate.Basis.FLAT,
                        "amount": Decimal("4.95"),
                        "max_weight_grams": 20000,
                    }
                ],
            }
        ],
    },
]


def duty_rules() -> list[dict[str, Any]]:
    """The demo duty rules by customs area code (December 2026 regimes)."""
    return [
        {
            "area": "us",
            "name": "US: duty on every consignment (no de minimis since 29 Aug 2025)",
            "valid_from": date(2025, 8, 29),
            "mode": DutyRule.Mode.DDP,
            "percentage": Decimal("10"),
            "import_vat_at_checkout": True,
        },
        {
            "area": "eu",
            "name": "EU up to 150 EUR: 3 EUR per tariff subheading, IOSS",
            "valid_from": date(2026, 7, 1),
            "mode": DutyRule.Mode.DDP,
            "flat_per_subheading": Decimal("3"),
            "flat_currency": "EUR",
            "threshold_amount": Decimal("150"),
            "threshold_currency": "EUR",
            "threshold_applies": DutyRule.ThresholdApplies.BELOW,
            "import_vat_at_checkout": True,
            "position": 1,
        },
        {
            "area": "eu",
            "name": "EU up to 150 EUR: duty-free, IOSS (until 30 Jun 2026)",
            "valid_from": date(2021, 7, 1),
            "valid_to": date(2026, 6, 30),
            "mode": DutyRule.Mode.DDP,
            "threshold_amount": Decimal("150"),
            "threshold_currency": "EUR",
            "threshold_applies": DutyRule.ThresholdApplies.BELOW,
            "import_vat_at_checkout": True,
            "position": 1,
        },
        {
            "area": "eu",
            "name": "EU above 150 EUR: duties and VAT on delivery",
            "valid_from": date(2021, 7, 1),
            "mode": DutyRule.Mode.DAP,
            "threshold_amount": Decimal("150"),
            "threshold_currency": "EUR",
            "threshold_applies": DutyRule.ThresholdApplies.ABOVE,
            "position": 2,
        },
        {
            "area": "gb",
            "name": "UK up to 135 GBP: VAT at checkout, no duty",
            "valid_from": date(2021, 1, 1),
            "mode": DutyRule.Mode.DDP,
            "threshold_amount": Decimal("135"),
            "threshold_currency": "GBP",
            "threshold_applies": DutyRule.ThresholdApplies.BELOW,
            "import_vat_at_checkout": True,
            "position": 1,
        },
        {
            "area": "gb",
            "name": "UK above 135 GBP: duties and VAT on delivery",
            "valid_from": date(2021, 1, 1),
            "mode": DutyRule.Mode.DAP,
            "threshold_amount": Decimal("135"),
            "threshold_currency": "GBP",
            "threshold_applies": DutyRule.ThresholdApplies.ABOVE,
            "position": 2,
        },
        {
            "area": "tr",
            "name": "Türkiye: duties and taxes on delivery",
            "valid_from": date(2024, 8, 1),
            "mode": DutyRule.Mode.DAP,
        },
    ]


CUSTOMS_AREAS: list[dict[str, Any]] = [
    {"code": "us", "name": "United States", "countries": ["US"]},
    {"code": "gb", "name": "United Kingdom", "countries": ["GB"]},
    {"code": "tr", "name": "Türkiye", "countries": ["TR"]},
]


@transaction.atomic
def shipping_demo_setup() -> None:
    """Create or update the demo delivery regions, methods, rates and duty rules."""
    for country in DEMO_DELIVERY_COUNTRIES:
        delivery_country_set(country=country, is_enabled=True)
    delivery_regions_set(regions=US_REGIONS_OFF, is_enabled=False)
    delivery_city_upsert(
        country="TR",
        region="TR-34",
        name="İstanbul",
        districts=ISTANBUL_DISTRICTS,
        disabled_districts=ISTANBUL_DISTRICTS_OFF,
    )
    for rule in POSTAL_CODE_RULES:
        postal_code_rule_add(
            country=rule["country"],
            action=rule["action"],
            kind=rule["kind"],
            value=rule.get("value", ""),
            range_start=rule.get("start", ""),
            range_end=rule.get("end", ""),
        )
    for spec in METHODS:
        method = shipping_method_upsert(
            code=spec["code"],
            carrier=spec["carrier"],
            names=spec["names"],
            days_min=spec["days_min"],
            days_max=spec["days_max"],
            tracking_url_pattern=spec.get("tracking_url_pattern", ""),
            position=spec["position"],
        )
        for zone_spec in spec["zones"]:
            zone = shipping_zone_upsert(
                method=method,
                name=zone_spec["name"],
                countries=zone_spec.get("countries", ()),
                regions=zone_spec.get("regions", ()),
            )
            for rate in zone_spec["rates"]:
                shipping_rate_upsert(zone=zone, **rate)
    areas = {area.code: area for area in _customs_areas()}
    for rule in duty_rules():
        fields: dict[str, Any] = {**rule, "area": areas[rule["area"]]}
        duty_rule_upsert(**fields)


def _customs_areas() -> list[CustomsArea]:
    areas = [customs_area_upsert(**spec) for spec in CUSTOMS_AREAS]
    # The EU's customs union comes with the database (migration 0002); keep what it lists.
    areas.append(CustomsArea.objects.get(code="eu"))
    return areas
