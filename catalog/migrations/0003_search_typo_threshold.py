"""Typo tolerance for search: word similarity of 0.3 counts as a match.

The storefront filters with pg_trgm's ``<%`` operator so that the trigram
index is used; the operator's threshold is a server setting, set here for the
database (new connections) and for the connection running the migration.
"""

from django.db import migrations

SET_FOR_DATABASE = """
DO $$
BEGIN
    EXECUTE format(
        'ALTER DATABASE %I SET pg_trgm.word_similarity_threshold = 0.3', current_database()
    );
END $$;
SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', false);
"""

RESET_FOR_DATABASE = """
DO $$
BEGIN
    EXECUTE format(
        'ALTER DATABASE %I RESET pg_trgm.word_similarity_threshold', current_database()
    );
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_product_tax_category")]

    operations = [migrations.RunSQL(SET_FOR_DATABASE, RESET_FOR_DATABASE)]
