"""Rules every write passes, enforced by PostgreSQL rather than by forms alone.

* Prices are positive: a price, a sale price or a compare-at price of zero
  would give an item away. Existing zero or negative sale and compare-at
  prices are cleared; entries whose price is zero are removed (the variant
  is not sold in that list until it gets a real price).
* A price list's currency is locked once the list has prices: changing it
  would silently reinterpret every amount. Inserting prices takes a share
  lock on their lists, so a currency change and a first price cannot commit
  past each other (the later one waits, then sees the other).
* Derivation never forms a cycle and is at most 5 steps deep
  (``pricing.models.MAX_DERIVATION_DEPTH``).
  Source changes are serialised by a transaction-level advisory
  lock, so two concurrent changes cannot close a cycle neither of them sees.
"""

from django.db import migrations, models


def prices_made_positive(apps, schema_editor):  # type: ignore[no-untyped-def]
    PriceEntry = apps.get_model("pricing", "PriceEntry")
    PriceEntry.objects.filter(compare_at_amount__lte=0).update(compare_at_amount=None)
    PriceEntry.objects.filter(sale_amount__lte=0).update(
        sale_amount=None, sale_starts_at=None, sale_ends_at=None
    )
    PriceEntry.objects.filter(amount__lte=0).delete()


CURRENCY_LOCK = """
CREATE FUNCTION pricing_price_list_currency_locked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pricing_priceentry WHERE price_list_id = OLD.id) THEN
        RAISE EXCEPTION 'price list % has prices in %: its currency cannot change to %',
            OLD.code, OLD.currency, NEW.currency
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'price_list_currency_locked_by_prices';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER price_list_currency_locked
BEFORE UPDATE OF currency ON pricing_pricelist
FOR EACH ROW WHEN (OLD.currency IS DISTINCT FROM NEW.currency)
EXECUTE FUNCTION pricing_price_list_currency_locked();

-- A new price holds a share lock on its list until it commits: a concurrent
-- currency change waits for it and then sees it (and the other way round).
CREATE FUNCTION pricing_price_entries_lock_lists() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM pricing_pricelist
    WHERE id IN (SELECT DISTINCT price_list_id FROM new_entries)
    ORDER BY id
    FOR SHARE;
    RETURN NULL;
END
$$;

CREATE TRIGGER price_entries_lock_lists
AFTER INSERT ON pricing_priceentry
REFERENCING NEW TABLE AS new_entries
FOR EACH STATEMENT EXECUTE FUNCTION pricing_price_entries_lock_lists();
"""

CURRENCY_LOCK_REVERSE = """
DROP TRIGGER price_entries_lock_lists ON pricing_priceentry;
DROP FUNCTION pricing_price_entries_lock_lists();
DROP TRIGGER price_list_currency_locked ON pricing_pricelist;
DROP FUNCTION pricing_price_list_currency_locked();
"""

DERIVATION_GUARD = """
CREATE FUNCTION pricing_price_list_source_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    max_depth CONSTANT integer := 5;  -- pricing.models.MAX_DERIVATION_DEPTH
    closes_cycle boolean;
    levels_above integer;
    levels_below integer;
BEGIN
    -- One source change at a time, so each sees the others' committed chains.
    PERFORM pg_advisory_xact_lock(hashtext('pricing_pricelist.source_id'));

    WITH RECURSIVE chain (id, source_id, steps) AS (
        SELECT id, source_id, 1 FROM pricing_pricelist WHERE id = NEW.source_id
        UNION ALL
        SELECT list.id, list.source_id, chain.steps + 1
        FROM pricing_pricelist list JOIN chain ON list.id = chain.source_id
        WHERE chain.id <> NEW.id AND chain.steps <= max_depth
    )
    SELECT coalesce(bool_or(id = NEW.id), false), coalesce(max(steps), 0)
    INTO closes_cycle, levels_above
    FROM chain;

    IF closes_cycle THEN
        RAISE EXCEPTION 'price list % cannot derive from itself (through list %)',
            NEW.code, NEW.source_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'price_list_derivation_acyclic';
    END IF;

    WITH RECURSIVE followers (id, steps) AS (
        SELECT id, 1 FROM pricing_pricelist WHERE source_id = NEW.id
        UNION ALL
        SELECT list.id, followers.steps + 1
        FROM pricing_pricelist list JOIN followers ON list.source_id = followers.id
        WHERE followers.steps <= max_depth
    )
    SELECT coalesce(max(steps), 0) INTO levels_below FROM followers;

    IF levels_above + levels_below > max_depth THEN
        RAISE EXCEPTION 'price list % would be % derivation steps deep (at most %)',
            NEW.code, levels_above + levels_below, max_depth
            USING ERRCODE = 'check_violation', CONSTRAINT = 'price_list_derivation_depth';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER price_list_source_guard_insert
BEFORE INSERT ON pricing_pricelist
FOR EACH ROW WHEN (NEW.source_id IS NOT NULL)
EXECUTE FUNCTION pricing_price_list_source_guard();

CREATE TRIGGER price_list_source_guard_update
BEFORE UPDATE OF source_id ON pricing_pricelist
FOR EACH ROW WHEN (NEW.source_id IS NOT NULL AND NEW.source_id IS DISTINCT FROM OLD.source_id)
EXECUTE FUNCTION pricing_price_list_source_guard();
"""

DERIVATION_GUARD_REVERSE = """
DROP TRIGGER price_list_source_guard_update ON pricing_pricelist;
DROP TRIGGER price_list_source_guard_insert ON pricing_pricelist;
DROP FUNCTION pricing_price_list_source_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("pricing", "0006_delete_tax_category")]

    operations = [
        migrations.RemoveConstraint(model_name="priceentry", name="price_not_negative"),
        migrations.RemoveConstraint(model_name="priceentry", name="sale_price_not_negative"),
        migrations.RemoveConstraint(model_name="priceentry", name="compare_at_price_not_negative"),
        migrations.RunPython(prices_made_positive, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="priceentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="price_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="priceentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("sale_amount__isnull", True), ("sale_amount__gt", 0), _connector="OR"
                ),
                name="sale_price_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="priceentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("compare_at_amount__isnull", True),
                    ("compare_at_amount__gt", 0),
                    _connector="OR",
                ),
                name="compare_at_price_positive",
            ),
        ),
        migrations.RunSQL(CURRENCY_LOCK, CURRENCY_LOCK_REVERSE),
        migrations.RunSQL(DERIVATION_GUARD, DERIVATION_GUARD_REVERSE),
    ]
