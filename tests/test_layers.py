"""The apps depend on each other in layers, and imports point down only.

shop ← catalog ← pricing, shipping ← orders ← payments, invoicing ← storefront,
integrations
(ARCHITECTURE.md). Every Python file of every app is read, migrations
included, and each ``import`` statement is checked, wherever it stands (top of
the module, inside a function, under ``TYPE_CHECKING``); migrations are
checked for their imports only. A lower app reaches a higher one only by a
dotted string that Django resolves (URLconf, settings, ``call_command``),
never by importing it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# An app may import the apps of a lower layer only; apps of the same layer
# (pricing and shipping, payments and invoicing) must not import each other.
LAYERS = {
    "shop": 0,
    "catalog": 1,
    "pricing": 2,
    "shipping": 2,
    "orders": 3,
    "payments": 4,
    "invoicing": 4,
    "storefront": 5,
    "integrations": 5,  # feeds, marketplaces, erp: they may import each other
}
# The Django apps (labels) of each package that holds several.
APP_LABELS = {"integrations": ["feeds", "marketplaces", "erp"]}


def imported_apps(path: Path) -> Iterator[tuple[int, str]]:
    """(line, app) for every absolute import of a first-party app in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue  # relative imports stay inside their own app
        for name in names:
            app = name.partition(".")[0]
            if app in LAYERS:
                yield node.lineno, app


def imports_of(app: str) -> list[tuple[str, int, str]]:
    """(file, line, imported app) for every import of another app in ``app``'s files."""
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for line, imported in imported_apps(path):
            if imported != app:
                found.append((relative, line, imported))
    return found


def importers(app: str, forbidden: set[str]) -> list[str]:
    """``file:line imports app`` for each import of a ``forbidden`` app."""
    return [
        f"{file}:{line} imports {imported}"
        for file, line, imported in imports_of(app)
        if imported in forbidden
    ]


def test_every_app_has_a_layer():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    apps |= {path.parent.parent.name for path in ROOT.glob("*/*/apps.py")}

    assert apps == set(LAYERS)


def test_the_catalogue_imports_nothing_above_it():
    forbidden = {"pricing", "shipping", "orders", "payments", "invoicing", "storefront"}

    assert importers("catalog", forbidden) == []


def test_the_shop_core_imports_no_app():
    forbidden = {
        "catalog",
        "pricing",
        "shipping",
        "orders",
        "payments",
        "invoicing",
        "storefront",
    }

    assert importers("shop", forbidden) == []


@pytest.mark.parametrize("app", sorted(LAYERS))
def test_an_app_imports_only_apps_of_lower_layers(app):
    forbidden = {other for other, layer in LAYERS.items() if layer >= LAYERS[app]} - {app}

    assert importers(app, forbidden) == []


@pytest.mark.parametrize("app", sorted(LAYERS))
def test_models_refer_only_to_models_of_lower_layers(app):
    """Foreign keys and many-to-many fields point down too (the migration graph follows)."""
    from django.apps import apps

    layer_of = dict(LAYERS)
    for package, labels in APP_LABELS.items():
        layer_of |= dict.fromkeys(labels, LAYERS[package])
    upward = [
        f"{model.__name__}.{field.name} → {field.related_model._meta.label}"
        for label in APP_LABELS.get(app, [app])
        for model in apps.get_app_config(label).get_models()
        for field in model._meta.get_fields()
        if field.is_relation
        and field.concrete
        and field.related_model is not None
        and field.related_model._meta.app_label in layer_of
        and layer_of[field.related_model._meta.app_label] > LAYERS[app]
    ]

    assert upward == []
