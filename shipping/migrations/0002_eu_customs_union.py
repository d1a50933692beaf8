"""The EU's customs union as a customs area: no customs border between its members.

Monaco is in the EU customs territory through France and is listed with it.
Merchants can change the list in the admin (e.g. for a new member state).
"""

from django.db import migrations

EU_CUSTOMS_UNION = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MC",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
]


def load(apps, schema_editor):
    CustomsArea = apps.get_model("shipping", "CustomsArea")
    CustomsAreaCountry = apps.get_model("shipping", "CustomsAreaCountry")
    Country = apps.get_model("shop", "Country")
    area, _created = CustomsArea.objects.get_or_create(
        code="eu", defaults={"name": "European Union customs union"}
    )
    for code in EU_CUSTOMS_UNION:
        if Country.objects.filter(pk=code).exists():
            CustomsAreaCountry.objects.get_or_create(country_id=code, defaults={"area": area})


def unload(apps, schema_editor):
    apps.get_model("shipping", "CustomsArea").objects.filter(code="eu").delete()


class Migration(migrations.Migration):
    dependencies = [("shipping", "0001_delivery_regions_methods_rates_customs")]

    operations = [migrations.RunPython(load, unload)]
