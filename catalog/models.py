"""Products, variants, attributes, categories, brands and images."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import ean
from stdnum.exceptions import ValidationError as StdnumError
from treebeard.mp_tree import MP_Node, MP_NodeManager

LANGUAGE_CHOICES = settings.LANGUAGES


def validate_gtin(value: str) -> None:
    """GTIN-8/12/13/14 (EAN/UPC) with a correct check digit."""
    try:
        ean.validate(value)
    except StdnumError as error:
        raise ValidationError(
            _("%(value)s is not a valid GTIN/EAN barcode: %(reason)s"),
            params={"value": value, "reason": str(error)},
        ) from error


def validate_hs_code(value: str) -> None:
    if not re.fullmatch(r"\d{6}(\d{2}){0,2}", value.replace(".", "")):
        raise ValidationError(
            _("An HS code has 6, 8 or 10 digits (e.g. 6109.10 or 610910)."), code="hs_code"
        )


def translated(names: dict[str, str], language: str, fallback: str = "") -> str:
    """A label from a ``{language: text}`` map, falling back to English, then any."""
    return names.get(language) or names.get("en") or next(iter(names.values()), fallback)


class TaxClass(models.Model):
    """Standard, reduced, zero…: how the product is classified for tax.

    The catalogue only classifies; ``pricing`` maps each class to its rates
    per country.
    """

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("tax class")
        verbose_name_plural = _("tax classes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(MP_Node):
    """A node of the category tree; names and slugs live in CategoryTranslation."""

    code = models.SlugField(_("code"), max_length=100, unique=True)  # type: ignore[var-annotated]
    is_active = models.BooleanField(_("active"), default=True)  # type: ignore[var-annotated]
    node_order_by = ["code"]

    objects = MP_NodeManager()  # type: ignore[django-manager-missing,misc]

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.code


class CategoryTranslation(models.Model):
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("slug"), max_length=150, allow_unicode=True)
    description = models.TextField(_("description"), blank=True)
    seo_title = models.CharField(_("SEO title"), max_length=200, blank=True)
    seo_description = models.CharField(_("SEO description"), max_length=320, blank=True)

    class Meta:
        verbose_name = _("category translation")
        verbose_name_plural = _("category translations")
        constraints = [
            models.UniqueConstraint(fields=["category", "language"], name="category_language_once"),
            models.UniqueConstraint(fields=["language", "slug"], name="category_slug_per_language"),
        ]

    def __str__(self) -> str:
        return self.name


class Attribute(models.Model):
    """A property such as material, size or colour; option attributes tell variants apart."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    names = models.JSONField(_("names"), default=dict, help_text=_('{"en": "Size", "de": "Größe"}'))
    is_filterable = models.BooleanField(_("used as a filter"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("attribute")
        verbose_name_plural = _("attributes")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return translated(self.names, "en", self.code)

    def name_in(self, language: str) -> str:
        return translated(self.names, language, self.code)


class AttributeValue(models.Model):
    attribute = models.ForeignKey(Attribute, on_delete=models.CASCADE, related_name="values")
    code = models.SlugField(_("code"), max_length=50)
    names = models.JSONField(_("names"), default=dict)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("attribute value")
        verbose_name_plural = _("attribute values")
        ordering = ["attribute", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["attribute", "code"], name="attribute_value_code_once")
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {translated(self.names, 'en', self.code)}"

    def name_in(self, language: str) -> str:
        return translated(self.names, language, self.code)


class ProductType(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    option_attributes = models.ManyToManyField(
        Attribute,
        blank=True,
        related_name="+",
        verbose_name=_("variant options"),
        help_text=_("Attributes whose values tell the variants apart, e.g. size and colour."),
    )

    class Meta:
        verbose_name = _("product type")
        verbose_name_plural = _("product types")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visibility(models.TextChoices):
    EVERYWHERE = "everywhere", _("Everywhere")
    ONLY = "only", _("Only in the chosen countries")
    EXCEPT = "except", _("Everywhere except the chosen countries")


def published_until(at: datetime | None = None) -> datetime:
    """Up to the end of the minute of ``at`` (now): products published before it
    are shown. The same SQL for a whole minute (listing summaries are cached
    by it); a scheduled product may show up to a minute early, never late."""
    at = at or timezone.now()
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


class ProductQuerySet(models.QuerySet["Product"]):
    def published(self) -> ProductQuerySet:
        return self.filter(is_published=True, published_at__lt=published_until())

    def visible_in(self, country: str) -> ProductQuerySet:
        """Published products a shopper in ``country`` may see."""
        return self.published().filter(Product.visibility_condition(country))


class Product(models.Model):
    product_type = models.ForeignKey(
        ProductType, on_delete=models.PROTECT, related_name="products", verbose_name=_("type")
    )
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("brand"),
    )
    categories: models.ManyToManyField[Category, models.Model] = models.ManyToManyField(
        Category, blank=True, related_name="products", verbose_name=_("categories")
    )
    primary_category = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("main category"),
        help_text=_("Used for breadcrumbs."),
    )
    attribute_values = models.ManyToManyField(  # type: ignore[var-annotated]
        AttributeValue, blank=True, related_name="products", verbose_name=_("attributes")
    )
    tax_class = models.ForeignKey(
        TaxClass,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("tax class"),
        help_text=_("Which tax rates apply to the product (standard, reduced…)."),
    )
    weight_grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    hs_code = models.CharField(
        _("HS code"),
        max_length=13,
        blank=True,
        validators=[validate_hs_code],
        help_text=_("Harmonized System code for customs, e.g. 6109.10."),
    )
    country_of_origin = models.ForeignKey(
        "shop.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country of origin"),
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.EVERYWHERE
    )
    visibility_countries = ArrayField(
        models.CharField(max_length=2),
        verbose_name=_("visibility countries"),
        default=list,
        blank=True,
        help_text=_("ISO country codes the visibility rule names."),
    )
    is_published = models.BooleanField(_("published"), default=True)
    published_at = models.DateTimeField(_("publish date"), default=timezone.now)
    primary_image = models.ForeignKey(
        "ProductImage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ProductQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-published_at", "-id"]
        indexes = [
            GinIndex(fields=["visibility_countries"], name="product_visibility_countries"),
            models.Index(fields=["is_published", "published_at"], name="product_published"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility="everywhere") | ~Q(visibility_countries=[]),
                name="product_visibility_names_countries",
            ),
        ]

    def __str__(self) -> str:
        if self.pk is None:
            return str(_("New product"))
        names = {t.language: t.name for t in self.translations.all()}
        return names.get("en") or next(iter(names.values()), f"#{self.pk}")

    def clean(self) -> None:
        self.visibility_countries = sorted({c.upper() for c in self.visibility_countries})
        if self.visibility != Visibility.EVERYWHERE and not self.visibility_countries:
            raise ValidationError(
                {"visibility_countries": _("Choose the countries this visibility rule names.")}
            )
        if self.hs_code:
            self.hs_code = self.hs_code.replace(".", "")

    @staticmethod
    def visibility_condition(country: str, prefix: str = "") -> Q:
        """SQL condition: visible in ``country`` (``prefix`` for related lookups)."""
        country = country.upper()
        mode, countries = f"{prefix}visibility", f"{prefix}visibility_countries__contains"
        return (
            Q(**{mode: Visibility.EVERYWHERE})
            | Q(**{mode: Visibility.ONLY, countries: [country]})
            | (Q(**{mode: Visibility.EXCEPT}) & ~Q(**{countries: [country]}))
        )

    def is_shown_in(self, country: str, *, at: datetime | None = None) -> bool:
        """``Product.objects.visible_in(country)`` for this row, without a query."""
        return (
            self.is_published
            and self.published_at < published_until(at)
            and self.is_visible_in(country)
        )

    def is_visible_in(self, country: str) -> bool:
        country = country.upper()
        if self.visibility == Visibility.ONLY:
            return country in self.visibility_countries
        if self.visibility == Visibility.EXCEPT:
            return country not in self.visibility_countries
        return True


class ProductTranslation(models.Model):
    """Name, slug, description and SEO text of a product in one language."""

    # No index of its own: product_language_once (product, language) serves lookups
    # by product, and by product and language without reading the other languages.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="translations", db_index=False
    )
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, allow_unicode=True)
    description = models.TextField(_("description"), blank=True)
    seo_title = models.CharField(_("SEO title"), max_length=200, blank=True)
    seo_description = models.CharField(_("SEO description"), max_length=320, blank=True)
    # Maintained by catalog.search.translation_index_update(): folded text for
    # trigram matching and a vector built with the language's configuration.
    search_name = models.CharField(max_length=200, blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name = _("product translation")
        verbose_name_plural = _("product translations")
        constraints = [
            models.UniqueConstraint(fields=["product", "language"], name="product_language_once"),
            models.UniqueConstraint(fields=["language", "slug"], name="product_slug_per_language"),
        ]
        indexes = [
            # Listings sorted by name walk this index.
            models.Index(fields=["language", "name", "product"], name="product_name_order"),
            # Every search is in one language: with the language in the index (btree_gin)
            # a search reads only that language's entries, not a bitmap of the others.
            GinIndex(fields=["language", "search_vector"], name="product_search_per_language"),
            GinIndex(
                fields=["language", "search_name"],
                name="product_trigram_per_language",
                opclasses=["varchar_ops", "gin_trgm_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SearchWord(models.Model):
    """A word of product names in one language (folded: lower case, no accents).

    The vocabulary that typo-tolerant search compares a misspelt word with
    (trigram similarity on a few thousand words, not on every name); kept by
    ``catalog.search.translations_index_update``.
    """

    language = models.CharField(max_length=10)
    word = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["language", "word"], name="search_word_once"),
        ]
        indexes = [
            GinIndex(fields=["word"], name="search_word_trigram", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.language}: {self.word}"


class ProductImage(models.Model):
    """An uploaded image and the renditions the storefront serves."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to="products/original/")
    listing = models.ImageField(upload_to="products/listing/", blank=True, editable=False)
    detail = models.ImageField(upload_to="products/detail/", blank=True, editable=False)
    alt_texts = models.JSONField(
        _("alt text"), default=dict, blank=True, help_text=_('{"en": "…", "tr": "…"}')
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.image.name

    def alt_in(self, language: str) -> str:
        return translated(self.alt_texts, language)


class VariantQuerySet(models.QuerySet["Variant"]):
    def active(self) -> VariantQuerySet:
        return self.filter(is_active=True)


class Variant(models.Model):
    """A sellable item ("sub-product"): one SKU of a product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    gtin = models.CharField(
        _("barcode (GTIN)"), max_length=14, blank=True, validators=[validate_gtin]
    )
    option_values = models.ManyToManyField(
        AttributeValue, blank=True, related_name="variants", verbose_name=_("options")
    )
    weight_grams = models.PositiveIntegerField(
        _("weight override (g)"), null=True, blank=True, help_text=_("Empty: the product's.")
    )
    allows_backorder = models.BooleanField(
        _("allow backorder"), default=False, help_text=_("Sell even when no stock is left.")
    )
    low_stock_threshold = models.PositiveIntegerField(_("low stock threshold"), default=5)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = VariantQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["product", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(sku__regex=r"^\S+$"), name="variant_sku_no_spaces"),
            # Target of StockLevel's composite foreign key (pricing migration).
            models.UniqueConstraint(fields=["id", "allows_backorder"], name="variant_id_backorder"),
        ]
        indexes = [models.Index(fields=["gtin"], name="variant_gtin")]

    def __str__(self) -> str:
        return self.sku

    def clean(self) -> None:
        self.sku = self.sku.strip().upper()

    @property
    def weight(self) -> int | None:
        return self.weight_grams if self.weight_grams is not None else self.product.weight_grams


class ProductChange(models.Model):
    """A product whose storefront listing rows must be derived again.

    A transactional outbox: written in the same transaction as the change
    (product, variant, price or stock) by ``catalog.services.products_changed``,
    and drained in the background by ``pricing.listing_upkeep``, which owns
    the listing table. No foreign key: a deleted product's row still says
    that its listing rows must go.
    """

    id = models.BigAutoField(primary_key=True)
    product_id = models.BigIntegerField()
    # What changed: empty for the product itself (texts, categories, variants…),
    # else a price list's prices ("price-list:<id>") or stock ("stock-pool:<id>",
    # "stock"), which only the rows of the markets using them follow.
    source = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("product change")
        verbose_name_plural = _("product changes")
        indexes = [models.Index(fields=["product_id"], name="product_change_product")]

    def __str__(self) -> str:
        return f"{self.product_id} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
