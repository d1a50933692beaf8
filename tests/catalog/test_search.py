"""Search: per-language full text, typo tolerance and Turkish case folding."""

from __future__ import annotations

import pytest

from catalog.models import ProductTranslation
from catalog.search import fold_case, fold_plain, translations_index_update

pytestmark = pytest.mark.usefixtures("demo_shop")


@pytest.fixture
def istanbul_mug():
    """The Turkish name of the mug becomes "İstanbul Kupası"."""
    ProductTranslation.objects.filter(language="tr", product__variants__sku="KRV-MUG").update(
        name="İstanbul Kupası", description="Işıltılı sırlı seramik kupa."
    )
    translations_index_update()


def names(client, url):
    return [card.name for card in client.get(url).context["cards"]]


def test_turkish_case_folding():
    assert fold_case("İSTANBUL", "tr") == "istanbul"
    assert fold_case("ISPARTA", "tr") == "ısparta"
    assert fold_case("ISTANBUL", "en") == "istanbul"
    assert fold_plain("Çanta IŞIK Größe") == "canta isik grosse"


@pytest.mark.parametrize(
    "query", ["istanbul", "İSTANBUL", "İstanbul", "ISTANBUL", "kupası", "kupa"]
)
def test_turkish_search_finds_istanbul_however_it_is_typed(client, istanbul_mug, query):
    assert names(client, f"/tr-tr/search/?q={query}") == ["İstanbul Kupası"]


def test_turkish_stemming_matches_other_word_forms(client, istanbul_mug):
    assert names(client, "/tr-tr/search/?q=kupalar") == ["İstanbul Kupası"]


def test_a_typo_still_finds_the_product_first(client):
    assert names(client, "/en-gb/search/?q=kervn t-shrt")[0] == "Kervan T-shirt"


def test_german_search_uses_german_text_and_stemming(client):
    assert names(client, "/de-de/search/?q=Bechern") == ["Kervan Becher"]
    assert names(client, "/de-de/search/?q=Tasse") == []


def test_a_sku_finds_its_product(client):
    assert names(client, "/en-gb/search/?q=KRV-TEE-M") == ["Kervan T-shirt"]


def test_an_empty_query_shows_no_results_and_no_error(client):
    response = client.get("/en-gb/search/?q=")

    assert response.status_code == 200
    assert response.context["cards"] == []
