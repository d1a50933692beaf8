"""Test suite: a throwaway embedded PostgreSQL/Redis unless URLs are given."""

from shop.embedded import ensure_throwaway_services

ensure_throwaway_services()

from .base import *  # noqa: E402, F403
from .base import REDIS_URL  # noqa: E402

DEBUG = False
SECRET_KEY = "test-secret-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
STOREFRONT_CACHE_SECONDS = 0  # tests of the page cache switch it on
# A build thread would not see a test's uncommitted rows: its own test switches it on.
LISTING_INDEX_BACKGROUND_BUILD = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {
    "default": {
        "BACKEND": "shop.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "kervan-test",
        # Roomier than production: a busy test machine must not trip the circuit.
        "OPTIONS": {"socket_timeout": 2.0, "socket_connect_timeout": 2.0},
    }
}
