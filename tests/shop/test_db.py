"""Hot queries are planned once per connection and still logged."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.db import planned_cursor

pytestmark = pytest.mark.django_db

QUERY = "SELECT count(*) FROM shop_country WHERE code = ANY(%s::varchar[])"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_planned_query_is_prepared_once_and_logged_with_its_values():
    with CaptureQueriesContext(connection) as captured:
        for codes in (["DE"], ["DE", "TR"], []):
            with planned_cursor() as cursor:
                cursor.execute(QUERY, [codes])
                assert cursor.fetchone()[0] == len(codes)

    prepared = [s for s in prepared_statements() if "shop_country" in s]
    assert len(prepared) == 1 and "$1" in prepared[0]
    assert [q["sql"] for q in captured.captured_queries][1] == (
        "SELECT count(*) FROM shop_country WHERE code = ANY('{DE,TR}'::varchar[])"
    )


def test_prepared_statements_can_be_turned_off(settings):
    from shop.settings.base import database_from_env

    assert database_from_env()["OPTIONS"]["prepare_threshold"] == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
        assert "prepare_threshold" not in database_from_env()["OPTIONS"]
