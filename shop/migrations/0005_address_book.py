import django.utils.timezone
from django.db import migrations, models


def split_full_name(apps, schema_editor):
    Address = apps.get_model("shop", "Address")
    for address in Address.objects.all():
        first, _space, last = address.full_name.strip().rpartition(" ")
        address.first_name, address.last_name = (first, last) if first else (last, "")
        address.save(update_fields=["first_name", "last_name"])


def join_full_name(apps, schema_editor):
    Address = apps.get_model("shop", "Address")
    for address in Address.objects.all():
        address.full_name = f"{address.first_name} {address.last_name}".strip()
        address.save(update_fields=["full_name"])


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0004_sellers_per_market"),
    ]

    operations = [
        migrations.AddField(
            model_name="address",
            name="first_name",
            field=models.CharField(default="", max_length=100, verbose_name="first name"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="address",
            name="last_name",
            field=models.CharField(default="", max_length=100, verbose_name="last name"),
            preserve_default=False,
        ),
        migrations.RunPython(split_full_name, join_full_name, elidable=True),
        migrations.RemoveField(model_name="address", name="full_name"),
        migrations.AddField(
            model_name="address",
            name="vat_number",
            field=models.CharField(blank=True, max_length=40, verbose_name="VAT number"),
        ),
        migrations.AddField(
            model_name="address",
            name="district",
            field=models.CharField(blank=True, max_length=100, verbose_name="district"),
        ),
        migrations.AddField(
            model_name="address",
            name="created_at",
            field=models.DateTimeField(
                auto_now_add=True, default=django.utils.timezone.now, verbose_name="created"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="address",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
    ]
