"""Hot queries are planned once per connection and still logged."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from shop.db import Slot, compiled_query, planned_cursor
from shop.models import Country

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


def countries_named(codes: Slot, name: Slot):
    among = RawSQL("code = ANY(%s::varchar[])", (codes.value,), output_field=BooleanField())
    return Country.objects.filter(among, name__gte=name.value).order_by("code")


def test_a_compiled_query_runs_with_the_values_of_its_slots():
    Country.objects.update_or_create(code="DE", defaults={"name": "Germany"})
    Country.objects.update_or_create(code="TR", defaults={"name": "Türkiye"})
    built = []

    def build():
        codes, name = Slot(), Slot(str)
        built.append(1)
        return countries_named(codes, name).values_list("code"), {"codes": codes, "name": name}

    query = compiled_query(("test countries",), build)
    assert query.run(codes=["DE", "TR"], name="") == [("DE",), ("TR",)]
    assert query.run(codes=["DE", "TR"], name="H") == [("TR",)]
    assert query.run(codes=[], name="") == []
    # Compiled once per key: the second call finds it.
    assert compiled_query(("test countries",), build) is query
    assert built == [1]


def test_a_slot_the_queryset_does_not_pass_through_is_refused():
    def build():
        codes, unused = Slot(), Slot(str)
        return countries_named(codes, Slot(str)), {"codes": codes, "unused": unused}

    with pytest.raises(ValueError, match="'unused' is 0 times"):
        compiled_query(("test refused",), build)


def test_gc_paused_restores_the_collectors_state():
    import gc

    from shop.db import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # still the outer pause
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()
