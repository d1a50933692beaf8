"""Database helpers below every app."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
    CursorDebugWrapper,
    ServerBindingCursor,
)
from django.db.backends.utils import CursorWrapper


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
