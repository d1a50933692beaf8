"""Middleware of the core: malformed input is refused; the market context is resolved once."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.utils import translation
from django.utils.cache import patch_vary_headers

from shop.context import MarketContext, MarketInfo
from shop.market_resolution import choose_market, is_crawler
from shop.models import Customer
from shop.request_memo import request_scope
from shop.selectors import MarketDirectory, market_directory

# Programs call these paths: they get JSON errors, never an HTML page.
API_PATH = "/api/"


class MalformedInputMiddleware:
    """Refuses input no page can mean before it reaches a view or the database.

    PostgreSQL refuses NUL in text, and bytes that are not UTF-8 name
    nothing the shop sells. A path with either is 404 (no such page); a
    query string or form value with either is 400.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        is_api = request.path_info.startswith(API_PATH)
        if not _is_clean_path(request):
            if is_api:
                return JsonResponse(
                    {"code": "not_found", "message": "No API address has these characters."},
                    status=404,
                )
            raise Http404("The address contains characters no page has.")
        if not _is_clean_encoded(request.META.get("QUERY_STRING", "")) or not _is_clean_form(
            request
        ):
            if is_api:
                return JsonResponse(
                    {
                        "code": "malformed_request",
                        "message": "The query contains characters that are not allowed.",
                    },
                    status=400,
                )
            return HttpResponseBadRequest(
                "Bad request: the query or form contains characters that are not allowed.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


def _is_clean_text(raw: bytes) -> bool:
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_clean_path(request: HttpRequest) -> bool:
    if "\x00" in request.path_info:
        return False
    if isinstance(request, WSGIRequest):
        # WSGI hands over the decoded path as latin-1 code points: these are its bytes.
        # (Django re-quotes bytes that are not UTF-8, so path_info cannot show them.)
        raw_path = request.META.get("PATH_INFO", "")
        try:
            return _is_clean_text(raw_path.encode("latin-1"))
        except UnicodeEncodeError:  # not from a WSGI server: already text
            return True
    return True


def _is_clean_encoded(encoded: str) -> bool:
    """A query string or form body: percent-decoded, it must be NUL-free UTF-8."""
    if not encoded:
        return True
    try:
        raw = encoded.encode("latin-1")
    except UnicodeEncodeError:
        raw = encoded.encode("utf-8", errors="surrogateescape")
    return _is_clean_text(unquote_to_bytes(raw.replace(b"+", b" ")))


def _is_clean_form(request: HttpRequest) -> bool:
    if request.method != "POST":
        return True
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        return _is_clean_encoded(request.body.decode("latin-1"))
    if content_type == "multipart/form-data":
        return not any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.POST.lists()
        )
    return True


PREFIX_PATTERN = re.compile(r"^/([a-z]{2,3})-([a-z]{2})(/|$)", re.IGNORECASE)

# Paths that live outside any market: they are never redirected.
UNPREFIXED_PATHS = (
    "/admin/",
    "/static/",
    "/media/",
    "/healthz",
    "/api/",
    "/payments/",
    "/feeds/",
    "/market/",
    "/robots.txt",
    "/sitemap",
    "/favicon.ico",
    "/__",
)


class MarketMiddleware:
    """Sets ``request.market_context`` from the ``/<language>-<country>/`` prefix.

    Unknown prefixes are 404. A storefront path without a prefix is
    redirected to the visitor's market (see ``choose_market``), except for
    crawlers, which are served the default market's page in place.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_scope():
            return self._handle(request)

    def _handle(self, request: HttpRequest) -> HttpResponse:
        request.market_context = None  # type: ignore[attr-defined]
        path = request.path_info
        match = PREFIX_PATTERN.match(path)
        if match is None and path.startswith(UNPREFIXED_PATHS):
            language = translation.get_language_from_request(request)
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
            with translation.override(language):
                return self.get_response(request)

        directory = market_directory()
        if match is None and path.startswith(IN_MARKET_PATHS):
            # Customer accounts: one address for every market, shown in the market the
            # visitor came from (see _account_market).
            market, country, language = _account_market(request, directory)
            request.robots_noindex = True  # type: ignore[attr-defined]
        elif match is not None:
            resolved = directory.resolve_prefix(f"{match[1]}-{match[2]}")
            if resolved is None:
                raise Http404("No market serves this country and language.")
            market, country, language = resolved
            if match[0].lower() != match[0]:  # /DE-de/ → /de-de/
                return HttpResponseRedirect(path.lower() + _query(request))
        else:
            choice = choose_market(request, directory)
            if choice is None:
                raise Http404("No market is configured.")
            if not is_crawler(request.META.get("HTTP_USER_AGENT", "")):
                redirect = HttpResponseRedirect(f"/{choice.prefix}{path}{_query(request)}")
                patch_vary_headers(redirect, ("Cookie", "Accept-Language"))
                return redirect
            # Crawlers are never redirected: they get the default market's page.
            assert directory.default is not None
            market = directory.default
            country, language = market.default_country, market.default_language
            request.path_info = f"/{market.default_prefix}{path}"

        context = MarketContext(
            market=market,
            country=country,
            language=language,
            customer_group_id=_customer_group_id(request),
        )
        request.market_context = context  # type: ignore[attr-defined]
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        # override(): the language is active for this request only, not for
        # whatever the thread serves next.
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        if match is None:
            patch_vary_headers(response, ("User-Agent",))
            _remember_account_market(request, response)
        return response


# Paths served in the visitor's market without a prefix (allauth builds their URLs).
IN_MARKET_PATHS = ("/accounts/",)
ACCOUNT_MARKET_COOKIE = "kervan_account_market"


def _account_market(
    request: HttpRequest, directory: MarketDirectory
) -> tuple[MarketInfo, str, str]:
    """``?market=`` (the storefront's links say where the visitor came from), else the
    one remembered from such a link (a cookie: allauth's own redirects and e-mail
    links carry no market), else where the visitor would be sent."""
    for prefix in (request.GET.get("market", ""), request.COOKIES.get(ACCOUNT_MARKET_COOKIE, "")):
        resolved = directory.resolve_prefix(prefix) if isinstance(prefix, str) and prefix else None
        if resolved is not None:
            request.account_market = prefix  # type: ignore[attr-defined]
            return resolved
    choice = choose_market(request, directory)
    if choice is None:
        raise Http404("No market is configured.")
    return choice.market, choice.country, choice.language


def _remember_account_market(request: HttpRequest, response: HttpResponse) -> None:
    prefix = getattr(request, "account_market", "")
    if prefix and request.COOKIES.get(ACCOUNT_MARKET_COOKIE) != prefix:
        response.set_cookie(
            ACCOUNT_MARKET_COOKIE,
            prefix,
            max_age=settings.MARKET_COOKIE_AGE,
            samesite="Lax",
            secure=not settings.DEBUG and getattr(settings, "SESSION_COOKIE_SECURE", False),
            httponly=True,
        )


def _query(request: HttpRequest) -> str:
    query = request.META.get("QUERY_STRING", "")
    return f"?{query}" if query else ""


def _customer_group_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    # One query, for signed-in shoppers only.
    try:
        return user.customer.group_id
    except Customer.DoesNotExist:
        return None


def set_market_cookie(response: HttpResponse, prefix: str) -> None:
    """Remember a visitor's explicit market choice."""
    response.set_cookie(
        settings.MARKET_COOKIE_NAME,
        prefix,
        max_age=settings.MARKET_COOKIE_AGE,
        samesite="Lax",
        secure=not settings.DEBUG and getattr(settings, "SESSION_COOKIE_SECURE", False),
        httponly=True,
    )
