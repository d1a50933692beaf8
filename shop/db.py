"""Database helpers below every app."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
    CursorDebugWrapper,
    ServerBindingCursor,
)
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet


class _PlannedDebugCursor(CursorDebugWrapper):
    """Logs a planned query as written, with its values in (a server-bound query
    has no client-side text for Django's usual logging to show)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


def planned_cursor() -> CursorWrapper:
    """A cursor for a hot query of fixed text: its parameters are bound by the server,
    so PostgreSQL parses and plans it once per connection and keeps the plan
    (``DATABASE_PREPARED_STATEMENTS``), instead of planning it on every request.

    Only for queries whose text never varies with the values (arrays, not ``IN``
    lists) and that are valid with typed parameters (cast them: ``%s::bigint[]``).
    Queries are logged like any other (query counts in tests include them).
    """
    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return _PlannedDebugCursor(raw, connection)
    return connection.make_cursor(raw)


@dataclass(frozen=True)
class CompiledQuery:
    """A queryset's SQL and parameters, with the places of the values that change
    from one run to the next (``compiled_query``)."""

    sql: str
    params: tuple[object, ...]
    slots: dict[str, int]

    def run(self, **values: object) -> list[tuple[Any, ...]]:
        """The rows of the query with ``values`` in its slots (a planned cursor)."""
        params: list[Any] = list(self.params)
        for name, value in values.items():
            params[self.slots[name]] = value
        with planned_cursor() as cursor:
            cursor.execute(self.sql, params)
            return cursor.fetchall()


class Slot:
    """Stands for a value of a query being compiled: give it to the queryset where the
    value goes (``compiled_query``). Found again by identity, so Django must pass it
    through unchanged: an array (``[]``) to a ``RawSQL`` with a cast, or a string to
    an expression that takes it as a parameter."""

    def __init__(self, kind: type[list[Any]] | type[str] = list) -> None:
        # A fresh object of the type the database is to receive.
        self.value: Any = [] if kind is list else "".join(["\x00", str(id(self)), "\x00"])


_compiled: dict[Hashable, CompiledQuery] = {}
_compiled_lock = threading.Lock()
COMPILED_QUERIES = 256  # kept per process; all of them are forgotten beyond that


def compiled_query(
    key: Hashable, build: Callable[[], tuple[QuerySet[Any], dict[str, Slot]]]
) -> CompiledQuery:
    """The SQL of a hot ORM query, compiled once per ``key`` and process, not per request.

    ``build`` returns the queryset and its ``Slot``s by name; ``CompiledQuery.run``
    fills them. The key must hold everything else the SQL depends on (a country,
    a language, the minute a visibility rule reads).
    """
    with _compiled_lock:
        found = _compiled.get(key)
    if found is not None:
        return found
    queryset, slots = build()
    sql, params = queryset.query.sql_with_params()
    places = {}
    for name, slot in slots.items():
        at = [place for place, param in enumerate(params) if param is slot.value]
        if len(at) != 1:
            raise ValueError(f"The slot {name!r} is {len(at)} times among the parameters.")
        places[name] = at[0]
    found = CompiledQuery(sql, tuple(params), places)
    with _compiled_lock:
        if len(_compiled) >= COMPILED_QUERIES:
            _compiled.clear()
        _compiled[key] = found
    return found


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while many rows are read and indexed at once.

    Tens of thousands of new row tuples set off collections that each scan the
    whole heap: they made reading a listing of 20,000 rows six times slower.
    Rows hold no cycles, so nothing is collected later than it would be.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
