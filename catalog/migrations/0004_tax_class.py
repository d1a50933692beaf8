"""Tax classes belong to the catalogue: a product is classified, pricing maps classes to rates.

Products get a nullable ``tax_class`` here; ``pricing`` 0005 copies the old
tax categories into classes, and 0005 of this app makes the class required.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_search_typo_threshold"),
    ]

    operations = [
        migrations.CreateModel(
            name="TaxClass",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.SlugField(max_length=30, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
            ],
            options={
                "verbose_name": "tax class",
                "verbose_name_plural": "tax classes",
                "ordering": ["name"],
            },
        ),
        migrations.AddField(
            model_name="product",
            name="tax_class",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="products",
                to="catalog.taxclass",
                verbose_name="tax class",
            ),
        ),
    ]
