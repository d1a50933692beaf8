from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from catalog import sitemaps
from catalog.urls import urlpatterns as storefront_patterns
from shop import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("market/", views.choose_market, name="choose-market"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("sitemap.xml", sitemaps.index, name="sitemap-index"),
    path("sitemap-<str:section>.xml", sitemaps.section, name="sitemap-section"),
    re_path(r"^(?P<prefix>[a-z]{2,3}-[a-z]{2})/", include((storefront_patterns, "storefront"))),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
