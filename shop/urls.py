from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from shop import views

# The project's URLs wire the apps by dotted path: the core imports none of them.

handler404 = "shop.views.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/status", views.healthz_status, name="healthz-status"),
    path("market/", views.choose_market, name="choose-market"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("payments/", include("payments.urls")),
    path("feeds/", include("integrations.feeds.urls")),
    path("api/v1/", include("integrations.erp.urls")),
    path("", include("storefront.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
