"""Make PostgreSQL keep MarketCountry.is_market_active equal to Market.is_active.

Django has no composite foreign keys, so this one is added in SQL. With it,
"a country belongs to at most one active market" is guarded by the database
alone: the partial unique index on (country) WHERE is_market_active sees
every change of a market's activity through ON UPDATE CASCADE.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_markets_geography_customers")]

    operations = [
        migrations.RunSQL(
            sql="""
                ALTER TABLE shop_marketcountry
                ADD CONSTRAINT shop_marketcountry_follows_market_activity
                FOREIGN KEY (market_id, is_market_active)
                REFERENCES shop_market (id, is_active)
                ON UPDATE CASCADE ON DELETE CASCADE;
            """,
            reverse_sql="""
                ALTER TABLE shop_marketcountry
                DROP CONSTRAINT shop_marketcountry_follows_market_activity;
            """,
        ),
    ]
