"""Tax rates refer to the catalogue's tax classes instead of pricing's own categories.

Each tax category becomes the tax class of the same code; rates and products
follow. ``catalog`` 0005 then drops the product's old column and 0006 here
deletes the categories.
"""

import django.db.models.deletion
from django.db import migrations, models


def categories_to_classes(apps, schema_editor):  # type: ignore[no-untyped-def]
    TaxCategory = apps.get_model("pricing", "TaxCategory")
    TaxRate = apps.get_model("pricing", "TaxRate")
    TaxClass = apps.get_model("catalog", "TaxClass")
    Product = apps.get_model("catalog", "Product")
    for category in TaxCategory.objects.all():
        tax_class, _created = TaxClass.objects.get_or_create(
            code=category.code, defaults={"name": category.name}
        )
        TaxRate.objects.filter(category=category).update(tax_class=tax_class)
        Product.objects.filter(tax_category=category).update(tax_class=tax_class)


def classes_to_categories(apps, schema_editor):  # type: ignore[no-untyped-def]
    TaxCategory = apps.get_model("pricing", "TaxCategory")
    TaxRate = apps.get_model("pricing", "TaxRate")
    TaxClass = apps.get_model("catalog", "TaxClass")
    Product = apps.get_model("catalog", "Product")
    for tax_class in TaxClass.objects.all():
        category, _created = TaxCategory.objects.get_or_create(
            code=tax_class.code, defaults={"name": tax_class.name}
        )
        TaxRate.objects.filter(tax_class=tax_class).update(category=category)
        Product.objects.filter(tax_class=tax_class).update(tax_category=category)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_tax_class"),
        ("pricing", "0004_rename_whole_units_rounding"),
    ]

    operations = [
        migrations.AddField(
            model_name="taxrate",
            name="tax_class",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rates",
                to="catalog.taxclass",
                verbose_name="tax class",
            ),
        ),
        migrations.RunPython(categories_to_classes, classes_to_categories),
        migrations.RemoveConstraint(model_name="taxrate", name="tax_rate_once_per_start"),
        migrations.RemoveIndex(model_name="taxrate", name="tax_rate_lookup"),
        migrations.AlterField(
            model_name="taxrate",
            name="category",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rates",
                to="pricing.taxcategory",
                verbose_name="category",
            ),
        ),
        migrations.RemoveField(model_name="taxrate", name="category"),
        migrations.AlterField(
            model_name="taxrate",
            name="tax_class",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rates",
                to="catalog.taxclass",
                verbose_name="tax class",
            ),
        ),
        migrations.AlterModelOptions(
            name="taxrate",
            options={
                "ordering": ["country", "tax_class", "-valid_from"],
                "verbose_name": "tax rate",
                "verbose_name_plural": "tax rates",
            },
        ),
        migrations.AddConstraint(
            model_name="taxrate",
            constraint=models.UniqueConstraint(
                fields=("tax_class", "country", "region", "valid_from"),
                nulls_distinct=False,
                name="tax_rate_once_per_start",
            ),
        ),
        migrations.AddIndex(
            model_name="taxrate",
            index=models.Index(fields=["country", "tax_class"], name="tax_rate_lookup"),
        ),
    ]
