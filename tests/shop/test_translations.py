"""Interface translations: every catalogue is complete, and each market speaks its language."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation import trans_real

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
PO_FILES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def catalog_read(path: Path) -> Catalog:
    """The catalogue; its locale and plural rule come from the file's own header."""
    with path.open("rb") as po_file:
        return read_po(po_file)


@pytest.fixture(scope="session", autouse=True)
def _compiled_messages() -> Iterator[None]:
    """Compile every .po next to itself (as ``make messages`` does), then reload them."""
    for po_path in PO_FILES:
        catalog = catalog_read(po_path)
        handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        with os.fdopen(handle, "wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(temporary, po_path.with_suffix(".mo"))
    # Catalogues loaded before the files were (re)written stay cached in the process.
    trans_real._translations = {}
    trans_real._default = None
    yield


@pytest.mark.parametrize(
    ("prefix", "language", "texts"),
    [
        (
            "de-de",
            "de",
            [
                "Zum Inhalt springen",
                "Produkte suchen",
                "Willkommen in unserem Shop",
                "Sie kaufen im Shop Europe ein; die Preise sind in EUR.",
                "Preise inkl. MwSt.",
            ],
        ),
        (
            "tr-tr",
            "tr",
            [
                "İçeriğe geç",
                "Ürün ara",
                "Mağazamıza hoş geldiniz",
                "Türkiye mağazasında alışveriş yapıyorsunuz; fiyatlar TRY cinsindendir.",
                "Fiyatlara KDV dahildir",
            ],
        ),
        (
            "fr-fr",
            "fr",
            [
                "Aller au contenu",
                "Rechercher des produits",
                "Bienvenue dans notre boutique",
                "Vous achetez sur la boutique Europe\N{NO-BREAK SPACE}; les prix sont en EUR.",
                "Prix TTC",
            ],
        ),
        (
            "en-us",
            "en",
            [
                "Skip to content",
                "Search products",
                "Welcome to our shop",
                "You are shopping in United States; prices are in USD.",
                "Prices exclude tax; tax is added at checkout",
            ],
        ),
    ],
)
@pytest.mark.usefixtures("demo_markets")
def test_storefront_home_speaks_the_language_of_its_prefix(client, prefix, language, texts):
    response = client.get(f"/{prefix}/")

    assert response.status_code == 200
    assert response["Content-Language"] == language
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    for text in texts:
        assert text in html
    if language != "en":
        for english in ("Skip to content", "Search products", "Welcome to our shop"):
            assert english not in html


def test_every_interface_language_has_a_message_catalogue():
    languages = {code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE}

    assert languages == {"tr", "de", "fr"}
    assert {path.parent.parent.name for path in PO_FILES} >= languages


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda path: path.parent.parent.name)
def test_catalogue_is_complete_and_not_fuzzy(po_path):
    catalog = catalog_read(po_path)

    assert not catalog.fuzzy, "the header is marked fuzzy"
    assert catalog.locale_identifier == po_path.parent.parent.name, "Language header"
    assert catalog.charset.lower() == "utf-8"
    fuzzy, untranslated = [], []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(message.id)
        forms = message.string if isinstance(message.string, tuple | list) else [message.string]
        if not all(forms):
            untranslated.append(message.id)
    assert not fuzzy, f"fuzzy entries in {po_path}: {fuzzy}"
    assert not untranslated, f"untranslated entries in {po_path}: {untranslated}"


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda path: path.parent.parent.name)
def test_catalogue_keeps_placeholders_and_plural_forms(po_path):
    """The checks ``pybabel compile`` runs: placeholders and number of plural forms."""
    catalog = catalog_read(po_path)

    problems = [
        f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors
    ]
    assert not problems, "\n".join(problems)
