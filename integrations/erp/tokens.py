"""API tokens: made with a random secret shown once, kept as a SHA-256 hash only.

A token reads ``kvn_<prefix>_<secret>``: the prefix (public, unique) finds the
row, the hash of the whole token is compared in constant time. 32 random bytes
make the secret, so a plain hash (no slow key derivation) is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from integrations.erp.models import ApiToken, Scope

TOKEN_START = "kvn_"
PREFIX_LENGTH = 8
LAST_USED_EVERY = timedelta(minutes=1)  # at most one write a minute per token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scopes_clean(scopes: Iterable[str]) -> list[str]:
    """The scopes, sorted and without repeats; ``ValidationError`` naming unknown ones."""
    given = {scope.strip() for scope in scopes if scope.strip()}
    unknown = sorted(given - set(Scope.values))
    if unknown:
        raise ValidationError(
            gettext("Unknown scope: %(scopes)s. Known scopes: %(known)s.")
            % {"scopes": ", ".join(unknown), "known": ", ".join(Scope.values)}
        )
    if not given:
        raise ValidationError(gettext("Give the token at least one scope."))
    return sorted(given)


@transaction.atomic
def api_token_create(*, name: str, scopes: Iterable[str]) -> tuple[ApiToken, str]:
    """A new active token and its secret (shown to the merchant once, never stored).

    Raises ``ValidationError`` for an unknown scope or an empty name (nothing is made).
    """
    name = name.strip()
    if not name:
        raise ValidationError(gettext("Give the token a name."))
    cleaned = scopes_clean(scopes)
    while True:
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(
        name=name[:100], prefix=prefix, token_hash=token_hash(token), scopes=cleaned
    )
    return row, token


def api_token_for(token: str) -> ApiToken | None:
    """The active token ``token`` opens, or None (unknown, revoked, or malformed)."""
    if not token.startswith(TOKEN_START) or len(token) > 200:
        return None
    prefix, _separator, secret = token[len(TOKEN_START) :].partition("_")
    if len(prefix) != PREFIX_LENGTH or not secret:
        return None
    row = ApiToken.objects.filter(prefix=prefix, is_active=True).first()
    if row is None or not hmac.compare_digest(row.token_hash, token_hash(token)):
        return None
    return row


def api_token_used(row: ApiToken) -> None:
    """Note that ``row`` was used now (one conditional UPDATE, at most once a minute)."""
    now = timezone.now()
    if row.last_used_at is not None and row.last_used_at > now - LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=row.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
    ).update(last_used_at=now)
    row.last_used_at = now
