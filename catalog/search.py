"""Product search: PostgreSQL full text per language plus trigram similarity for typos."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from django.db import connection

from catalog.models import ProductTranslation
from shop import versions

SEARCH_CONFIGS = {"tr": "turkish", "de": "german", "fr": "french", "en": "english"}


def search_config(language: str) -> str:
    return SEARCH_CONFIGS.get(language, "simple")


def fold_case(text: str, language: str) -> str:
    """Lower-case with the language's rules: in Turkish İ→i and I→ı."""
    if language in {"tr", "az"}:
        text = text.replace("İ", "i").replace("I", "ı")
    return text.lower()


def fold_plain(text: str) -> str:
    """Case- and accent-free text for typo-tolerant matching ("Çanta" ~ "canta")."""
    text = text.replace("ı", "i").replace("İ", "i").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# The words of folded names, for the vocabulary of typo-tolerant search.
WORDS_SQL = """
INSERT INTO catalog_searchword (language, word)
SELECT DISTINCT t.language, w
FROM catalog_producttranslation t, regexp_split_to_table(t.search_name, '[^[:alnum:]]+') AS w
"""


def translations_index_update(
    translation_ids: Iterable[int] | None = None, *, missing_only: bool = False
) -> int:
    """Refresh the search columns of product translations (all, or the given ones;
    ``missing_only``: those never indexed, e.g. after a bulk import)."""
    rows = ProductTranslation.objects.select_related("product__brand").prefetch_related(
        "product__variants"
    )
    if translation_ids is not None:
        rows = rows.filter(pk__in=list(translation_ids))
    if missing_only:
        rows = rows.filter(search_vector__isnull=True)
    updated = 0
    batch: list[tuple[int, str, str, str, str, str]] = []
    for translation in rows.iterator(chunk_size=1000):
        product = translation.product
        brand = product.brand.name if product.brand else ""
        skus = " ".join(variant.sku for variant in product.variants.all())
        language = translation.language
        batch.append(
            (
                translation.pk,
                search_config(language),
                fold_case(f"{translation.name} {brand}", language),
                fold_case(f"{translation.description} {translation.seo_title}", language),
                skus.lower(),
                fold_plain(translation.name)[:200],
            )
        )
        if len(batch) >= 500:
            updated += _write(batch)
            batch = []
    versions.retire(versions.CATALOGUE)
    return updated + _write(batch)


def _write(batch: list[tuple[int, str, str, str, str, str]]) -> int:
    if not batch:
        return 0
    values = ", ".join(["(%s, %s::regconfig, %s, %s, %s, %s)"] * len(batch))
    params = [value for row in batch for value in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE catalog_producttranslation AS t
            SET search_name = v.plain,
                search_vector = setweight(to_tsvector(v.config, v.title), 'A')
                    || setweight(to_tsvector('simple', v.skus), 'A')
                    || setweight(to_tsvector(v.config, v.body), 'B')
            FROM (VALUES {values}) AS v(id, config, title, body, skus, plain)
            WHERE t.id = v.id
            """,  # noqa: S608 - only placeholders are interpolated
            params,
        )
        cursor.execute(
            WORDS_SQL + " WHERE t.id = ANY(%s) AND length(w) >= 3 ON CONFLICT DO NOTHING",
            [[row[0] for row in batch]],
        )
    return len(batch)
