"""Every product has a tax class; the old reference to pricing's categories goes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_tax_class"),
        ("pricing", "0005_tax_rates_by_tax_class"),
    ]

    operations = [
        migrations.RemoveField(model_name="product", name="tax_category"),
        migrations.AlterField(
            model_name="product",
            name="tax_class",
            field=models.ForeignKey(
                help_text="Which tax rates apply to the product (standard, reduced…).",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="products",
                to="catalog.taxclass",
                verbose_name="tax class",
            ),
        ),
    ]
