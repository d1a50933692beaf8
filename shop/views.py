"""Shop-wide views: health, market choice, home."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import DatabaseError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import page_not_found

from shop.health import public_report, readiness_report, status_report
from shop.middleware import API_PATH, set_market_cookie
from shop.selectors import market_directory


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness of this web process for load balancers: 503 only when the database is down."""
    report = readiness_report()
    return JsonResponse(public_report(report), status=503 if report["status"] == "error" else 200)


@never_cache
@require_GET
def healthz_status(request: HttpRequest) -> JsonResponse:
    """Full status for support: staff users, or ``Authorization: Bearer <HEALTH_STATUS_TOKEN>``."""
    if not _may_see_status(request):
        return JsonResponse({"status": "forbidden"}, status=403)
    report = status_report()
    return JsonResponse(report, status=503 if report["status"] == "error" else 200)


def _may_see_status(request: HttpRequest) -> bool:
    token = settings.HEALTH_STATUS_TOKEN
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer":
        return hmac.compare_digest(given.strip().encode(), token.encode())
    try:
        return bool(request.user.is_authenticated and request.user.is_staff)
    except DatabaseError:  # no database, no session: only the token opens the status
        return False


# No CSRF token: the form is on cached pages, and the only effect is a
# preference cookie that the visitor can change again at any time.
@csrf_exempt
@require_POST
def choose_market(request: HttpRequest) -> HttpResponse:
    """Store the visitor's explicit country/language choice and go there."""
    prefix = request.POST.get("prefix", "").lower()
    if market_directory().resolve_prefix(prefix) is None:
        return HttpResponseBadRequest(_("This country and language are not available."))
    next_path = request.POST.get("next", "/")
    if not next_path.startswith("/") or not url_has_allowed_host_and_scheme(
        next_path, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_path = "/"
    response = redirect(f"/{prefix}{next_path}")
    set_market_cookie(response, prefix)
    return response


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /market/",
        "Disallow: /*/search/",
        "Allow: /",
        f"Sitemap: {request.build_absolute_uri('/sitemap.xml')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: JSON for API callers, the shop's page for people."""
    if request.path_info.startswith(API_PATH):
        return JsonResponse(
            {"code": "not_found", "message": _("There is nothing at this API address.")},
            status=404,
        )
    return page_not_found(request, exception)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them to the icon."""
    return HttpResponsePermanentRedirect(static("shop/favicon.svg"))
