"""Keep StockLevel.allows_backorder equal to Variant.allows_backorder in the database.

A composite foreign key with ON UPDATE CASCADE (Django has none, hence SQL):
switching backorder off on a variant re-checks "reserved <= quantity" on all
of its stock rows, and fails if any pool has promised more than it holds.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("pricing", "0001_price_lists_rates_tax_stock"),
        ("catalog", "0002_product_tax_category"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
                ALTER TABLE pricing_stocklevel
                ADD CONSTRAINT pricing_stocklevel_follows_variant_backorder
                FOREIGN KEY (variant_id, allows_backorder)
                REFERENCES catalog_variant (id, allows_backorder)
                ON UPDATE CASCADE ON DELETE CASCADE;
            """,
            reverse_sql="""
                ALTER TABLE pricing_stocklevel
                DROP CONSTRAINT pricing_stocklevel_follows_variant_backorder;
            """,
        ),
    ]
