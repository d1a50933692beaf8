"""The one error the ERP services raise: an HTTP status, a code for programs, a
message for people, and the input at fault (a field, or rows of a bulk call)."""

from __future__ import annotations

from typing import Any, TypedDict


class RowError(TypedDict):
    """A rejected row of a bulk call: its 0-based position in ``rows``, the field, why."""

    row: int | None
    field: str
    message: str


class ErpError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str = "",
        errors: list[RowError] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.errors = field, errors or []

    def payload(self) -> dict[str, Any]:
        """The JSON body of the error answer: ``{"code", "message"}``, plus ``field``
        and ``errors`` when they say more."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.errors:
            body["errors"] = self.errors
        return body
