"""Production settings, the compose stack and the image definition."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "ALLOWED_HOSTS"}
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "shop.settings.production", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "SECRET_KEY": "p4Lq9-very-long-random-production-secret-key-8s7d6f5g4h3j2k1l0zxcvbnm",
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "postgres://kervan@db.invalid/kervan",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": ""}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "Set ALLOWED_HOSTS" in result.stderr


def test_compose_file_defines_the_stack_on_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    assert services["postgres"]["image"] == "postgres:18"
    assert services["redis"]["image"] == "redis:7"
    assert {services[name]["build"] for name in ("web", "worker", "beat")} == {"."}
    assert {services[name]["image"] for name in ("web", "worker", "beat")} == {"kervan:latest"}
    assert "gunicorn shop.wsgi" in services["web"]["command"]
    assert "celery -A shop worker" in services["worker"]["command"]
    assert "celery -A shop beat" in services["beat"]["command"]
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://")
        assert environment["DJANGO_SETTINGS_MODULE"] == "shop.settings.production"


def test_dockerfile_installs_the_project():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert dockerfile.startswith("# ") and "FROM python:3.11" in dockerfile
    assert "COPY pyproject.toml" in dockerfile
    assert "RUN pip install ." in dockerfile
    assert "collectstatic" in dockerfile
    for package in ("shop", "catalog", "pricing", "templates", "locale"):
        assert f"COPY {package}/ {package}/" in dockerfile


def test_the_wsgi_application_loads_its_urls_and_freezes_them_out_of_gc_scans():
    probe = (
        "import gc, sys, shop.wsgi; "
        "print(gc.get_freeze_count() > 50_000, 'storefront.views' in sys.modules)"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings.production"}
    environment.update(PRODUCTION_ENV)
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
