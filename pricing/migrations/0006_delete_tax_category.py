from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_product_tax_class_required"),
        ("pricing", "0005_tax_rates_by_tax_class"),
    ]

    operations = [
        migrations.DeleteModel(name="TaxCategory"),
    ]
