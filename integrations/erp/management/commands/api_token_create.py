"""``manage.py api_token_create NAME --scopes orders:read,stock:write``: a new ERP API
token, printed once (only its hash is kept)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.erp.models import Scope
from integrations.erp.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an ERP API token and print it once. Scopes: " + ", ".join(Scope.values)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who uses the token, e.g. 'Warehouse ERP'.")
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated: " + ", ".join(Scope.values),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row, token = api_token_create(name=options["name"], scopes=options["scopes"].split(","))
        except ValidationError as invalid:
            raise CommandError(" ".join(invalid.messages)) from invalid
        self.stdout.write(f"Token {row.name} ({row.prefix}), scopes: {', '.join(row.scopes)}")
        self.stdout.write("Copy it now; it is not shown again:")
        self.stdout.write(token)
