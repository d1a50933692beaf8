from django.db import migrations


class Migration(migrations.Migration):
    """Order numbers come from their own sequence: unique and never reused."""

    dependencies = [("orders", "0001_carts_orders_reservations_shipments_outbox")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS orders_order_number_seq START 1",
            "DROP SEQUENCE IF EXISTS orders_order_number_seq",
        ),
    ]
