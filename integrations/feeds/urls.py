"""Feed URLs: ``/feeds/<market>/<language>/google.xml``, ``meta.csv``, ``partner.xml``."""

from django.urls import URLPattern, re_path

from integrations.feeds import views

urlpatterns: list[URLPattern] = [
    re_path(
        r"^(?P<market>[\w-]+)/(?P<language>[a-z]{2,3})/(?P<file_name>google\.xml|meta\.csv|partner\.xml)$",
        views.feed_file,
        name="feed",
    ),
]
