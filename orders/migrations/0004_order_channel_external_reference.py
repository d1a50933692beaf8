from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_frozen_seller_tax_categories_optional_rate"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="channel",
            field=models.CharField(
                default="storefront",
                help_text="Where the order was placed: the storefront, or a marketplace's code.",
                max_length=40,
                verbose_name="channel",
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="external_reference",
            field=models.CharField(
                blank=True,
                help_text="The channel's own number for the order (e.g. a marketplace package id).",
                max_length=100,
                verbose_name="reference in the channel",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["updated_at", "id"], name="order_by_change"),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_reference", ""), _negated=True),
                fields=("channel", "external_reference"),
                name="order_external_reference_once_per_channel",
            ),
        ),
    ]
