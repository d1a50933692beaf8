"""Whole-page cache for anonymous storefront visitors.

A page is stored per host, path and canonical query (the path carries the
market, country and language; ``cached_page`` tells what the query is) with
the versions of what it shows: the category tree, the catalogue, the
market's configuration and price lists, and the stock of the variants on it
(see ``shop.versions``). A change retires only the pages that showed it; a
short lifetime bounds what time alone changes (a sale that starts or ends).
Signed-in shoppers, whose customer group may have its own prices, are never
served from the cache. While the cache is unavailable pages are rendered
from the database and not stored.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from shop.versions import is_known, versions

_collecting = threading.local()

View = Callable[..., HttpResponse]
CanonicalQuery = Callable[[HttpRequest], str]


def page_depends_on(*concerns: str) -> None:
    """Declare that the page being rendered shows data of ``concerns`` (see shop.versions).

    Call it before reading the data: the versions read now are stored with
    the page, and a later change of any of them retires the stored page.
    Outside a cached page it does nothing.
    """
    collected: dict[str, int] | None = getattr(_collecting, "versions", None)
    if collected is None:
        return
    missing = [concern for concern in concerns if concern not in collected]
    if missing:
        collected.update(versions(missing))


def page_not_stored() -> None:
    """Keep the page being rendered out of the cache.

    For a query that is well formed but names nothing (a page past the last,
    a variant the product does not have): only the view can tell, after the
    key was made, and storing such pages would give every made-up value an
    entry of its own. Outside a cached page it does nothing.
    """
    if getattr(_collecting, "versions", None) is not None:
        _collecting.store = False


def no_query(request: HttpRequest) -> str:
    """For pages that read no query parameter: any query string is ignored."""
    return ""


def cached_page(query: CanonicalQuery = no_query) -> Callable[[View], View]:
    """Serve anonymous GETs of a storefront view from the cache.

    A stored page carries the versions of what it showed (``page_depends_on``);
    it is served only while all of them are unchanged (one cache round trip
    for the page and one for the versions).

    The key is the host, the path and ``query(request)``: the view's canonical
    query, with only the parameters it reads, in a fixed order, with valid
    values in one spelling. Unknown parameters and invalid values are left out
    of it rather than bypassing the cache, because the view ignores them too:
    the page for ``?sort=evil&utm_source=x`` is the page without them, so it
    shares their entry, and no made-up parameter or value adds one. Values
    only the view can judge it keeps out with ``page_not_stored``.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            seconds = settings.STOREFRONT_CACHE_SECONDS
            if not seconds or request.method != "GET" or request.user.is_authenticated:
                return view(request, *args, **kwargs)
            address = f"{request.get_host()}{request.path}?{query(request)}"
            digest = hashlib.sha256(address.encode()).hexdigest()[:32]
            key = f"storefront:page:{digest}"
            stored = cache.get(key)
            if stored is not None:
                content, content_type, language, shown = stored
                if versions(shown) == shown:
                    response = HttpResponse(content, content_type=content_type)
                    response["Content-Language"] = language
                    response["X-Page-Cache"] = "hit"
                    return response
            _collecting.versions = {}
            _collecting.store = True
            try:
                response = view(request, *args, **kwargs)
                shown, store = _collecting.versions, _collecting.store
            finally:
                _collecting.versions = None
            if (
                store
                and response.status_code == 200
                and not response.streaming
                and not response.cookies
                and is_known(shown)
            ):
                cache.set(
                    key,
                    (response.content, response["Content-Type"], translation.get_language(), shown),
                    seconds,
                )
                response["X-Page-Cache"] = "miss"
            return response

        return wrapper

    return decorator
