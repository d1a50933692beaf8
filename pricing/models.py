"""Price lists, exchange rates, tax and stock pools."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from shop.models import validate_currency_code

# A derived list is at most this many steps from the list typed by hand that
# its prices come from (also enforced by a trigger, migration 0007).
MAX_DERIVATION_DEPTH = 5


def amount_field(verbose_name: StrOrPromise, **options: object) -> models.DecimalField:  # type: ignore[type-arg]
    """An amount in a list's currency, stored with room for exact conversion."""
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=4, **options)  # type: ignore[arg-type]


class TaxRate(models.Model):
    """The rate of a tax class in a country (or US state) for a period."""

    tax_class = models.ForeignKey(
        "catalog.TaxClass",
        on_delete=models.CASCADE,
        related_name="rates",
        verbose_name=_("tax class"),
    )
    country = models.ForeignKey(
        "shop.Country", on_delete=models.CASCADE, related_name="+", verbose_name=_("country")
    )
    region = models.ForeignKey(
        "shop.Region",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("region"),
        help_text=_("For sales tax that differs by state; empty for the whole country."),
    )
    rate = models.DecimalField(
        _("rate (%)"), max_digits=6, decimal_places=3, validators=[MinValueValidator(0)]
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        ordering = ["country", "tax_class", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lt=100), name="tax_rate_between_0_and_100"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="tax_rate_period_in_order",
            ),
            models.UniqueConstraint(
                fields=["tax_class", "country", "region", "valid_from"],
                nulls_distinct=False,
                name="tax_rate_once_per_start",
            ),
        ]
        indexes = [models.Index(fields=["country", "tax_class"], name="tax_rate_lookup")]

    def __str__(self) -> str:
        where = self.region.code if self.region_id and self.region else self.country_id
        return f"{self.tax_class} {where} {self.rate}%"

    def clean(self) -> None:
        region = self.region
        if region is not None and self.country_id and region.country_id != self.country_id:
            raise ValidationError({"region": _("This region is not in the chosen country.")})


class Rounding(models.TextChoices):
    NONE = "none", _("No rounding (currency minor units)")
    WHOLE = "whole", _("Whole units")
    END_99 = "99", _("Ends in .99")
    END_90 = "90", _("Ends in .90")
    END_95 = "95", _("Ends in .95")
    NEAREST_005 = "0.05", _("Nearest 0.05")
    NEAREST_5 = "5", _("Nearest 5")


def validate_price_positive(value: Decimal) -> None:
    """Every price is more than zero: a price, sale or compare-at price of 0 gives an item away."""
    if value < 0:
        raise ValidationError(_("A price cannot be negative."), code="negative")
    if value == 0:
        raise ValidationError(
            _("A price of zero would give the item away: enter an amount above zero."),
            code="zero",
        )


def currency_locked_message(currency: str) -> str:
    """Why a price list's currency is fixed once it has prices."""
    return gettext(
        "The currency cannot change while the list has prices: they were set in "
        "%(currency)s. Create a new price list for another currency."
    ) % {"currency": currency}


class PriceList(models.Model):
    """A set of prices in one currency ("flexible prices").

    Manual lists hold prices typed by the merchant. A derived list computes
    its prices from a source list: the source's net price, adjusted by a
    percentage and a fixed amount, converted at the latest exchange rate,
    taxed if this list includes tax, then rounded. Manual entries on a derived
    list override the rule.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    includes_tax = models.BooleanField(_("prices include tax"), default=True)
    tax_country = models.ForeignKey(
        "shop.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tax country"),
        help_text=_("Whose tax rates are inside the gross prices of this list."),
    )
    source = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="derived_lists",
        verbose_name=_("derived from"),
    )
    adjustment_percent = models.DecimalField(
        _("adjustment (%)"),
        max_digits=7,
        decimal_places=3,
        default=Decimal(0),
        help_text=_("Applied to the source's net price: -15 lowers it by 15%."),
    )
    adjustment_amount = amount_field(
        _("fixed adjustment"),
        default=Decimal(0),
        help_text=_("Added after the percentage, in the source list's currency."),
    )
    rounding = models.CharField(
        _("rounding"), max_length=5, choices=Rounding.choices, default=Rounding.NONE
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(includes_tax=False) | Q(tax_country__isnull=False),
                name="price_list_tax_included_names_country",
            ),
            models.CheckConstraint(
                condition=~Q(source=F("id")), name="price_list_not_its_own_source"
            ),
            models.CheckConstraint(
                condition=Q(adjustment_percent__gt=-100),
                name="price_list_adjustment_above_minus_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    @property
    def is_derived(self) -> bool:
        return self.source_id is not None

    def clean(self) -> None:
        if self.currency:
            self.currency = self.currency.upper()
        if self.includes_tax and not self.tax_country_id:
            raise ValidationError(
                {"tax_country": _("Choose the country whose tax the gross prices include.")}
            )
        ancestor, seen, steps = self.source, {self.pk}, 0
        while ancestor is not None:
            if ancestor.pk in seen:
                raise ValidationError({"source": _("A price list cannot derive from itself.")})
            seen.add(ancestor.pk)
            steps += 1
            ancestor = ancestor.source
        if steps and steps + self.derived_levels_below() > MAX_DERIVATION_DEPTH:
            raise ValidationError(
                {
                    "source": _(
                        "Prices can be derived at most %(depth)d steps away from a list "
                        "typed by hand."
                    )
                    % {"depth": MAX_DERIVATION_DEPTH}
                }
            )
        if self.pk is not None and self.currency:
            stored = PriceList.objects.filter(pk=self.pk).values_list("currency", flat=True).first()
            if stored and stored != self.currency and self.has_prices():
                raise ValidationError({"currency": currency_locked_message(stored)})

    def has_prices(self) -> bool:
        return self.pk is not None and PriceEntry.objects.filter(price_list_id=self.pk).exists()

    def derived_levels_below(self) -> int:
        """How many levels of lists derive from this one (0: none), up to the limit."""
        if self.pk is None:
            return 0
        levels, current = 0, [self.pk]
        while current and levels <= MAX_DERIVATION_DEPTH:
            current = list(
                PriceList.objects.filter(source_id__in=current).values_list("pk", flat=True)
            )
            if current:
                levels += 1
        return levels


class PriceEntry(models.Model):
    """The price of a variant in a price list."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries")
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="price_entries"
    )
    amount = amount_field(_("price"))
    compare_at_amount = amount_field(
        _("compare-at price"), null=True, blank=True, help_text=_("Shown struck out.")
    )
    sale_amount = amount_field(_("sale price"), null=True, blank=True)
    sale_starts_at = models.DateTimeField(_("sale starts"), null=True, blank=True)
    sale_ends_at = models.DateTimeField(_("sale ends"), null=True, blank=True)
    is_manual = models.BooleanField(
        _("set by hand"),
        default=True,
        help_text=_("On a derived list, a manual price overrides the rule."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "variant"], name="price_once_per_list"),
            # No item is ever given away: every price, sale and compare-at included.
            models.CheckConstraint(condition=Q(amount__gt=0), name="price_positive"),
            models.CheckConstraint(
                condition=Q(sale_amount__isnull=True) | Q(sale_amount__gt=0),
                name="sale_price_positive",
            ),
            models.CheckConstraint(
                condition=Q(compare_at_amount__isnull=True) | Q(compare_at_amount__gt=0),
                name="compare_at_price_positive",
            ),
            models.CheckConstraint(
                condition=Q(sale_starts_at__isnull=True)
                | Q(sale_ends_at__isnull=True)
                | Q(sale_ends_at__gt=F("sale_starts_at")),
                name="sale_period_in_order",
            ),
        ]
        indexes = [
            models.Index(fields=["variant", "price_list"], name="price_by_variant"),
            # Sales that start or end are found by time (pricing.listing_upkeep).
            models.Index(
                fields=["sale_starts_at"],
                name="price_sale_starts",
                condition=Q(sale_starts_at__isnull=False),
            ),
            models.Index(
                fields=["sale_ends_at"],
                name="price_sale_ends",
                condition=Q(sale_ends_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} @ {self.price_list_id}: {self.amount}"


class MarketPriceList(models.Model):
    """Which price list a market uses: its retail list, or a customer group's list."""

    market = models.ForeignKey(
        "shop.Market",
        on_delete=models.CASCADE,
        related_name="price_lists",
        verbose_name=_("market"),
    )
    customer_group = models.ForeignKey(
        "shop.CustomerGroup",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer group"),
        help_text=_("Empty: the market's retail prices."),
    )
    price_list = models.ForeignKey(
        PriceList, on_delete=models.PROTECT, related_name="markets", verbose_name=_("price list")
    )

    class Meta:
        verbose_name = _("market price list")
        verbose_name_plural = _("market price lists")
        constraints = [
            models.UniqueConstraint(
                fields=["market", "customer_group"],
                nulls_distinct=False,
                name="one_price_list_per_market_and_group",
            )
        ]

    def __str__(self) -> str:
        group = self.customer_group or gettext("retail")
        return f"{self.market} / {group}: {self.price_list}"


class ExchangeRate(models.Model):
    """Units of ``currency`` per one euro on a date (ECB reference or set by hand)."""

    class Source(models.TextChoices):
        ECB = "ecb", _("European Central Bank")
        MANUAL = "manual", _("Set by hand")

    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    rate = models.DecimalField(_("units per EUR"), max_digits=18, decimal_places=8)
    effective_date = models.DateField(_("date"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    is_pinned = models.BooleanField(
        _("pinned"),
        default=False,
        help_text=_("A pinned manual rate is used even when newer reference rates arrive."),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-effective_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.UniqueConstraint(
                fields=["currency", "effective_date", "source"], name="exchange_rate_once_a_day"
            ),
            models.CheckConstraint(
                condition=Q(is_pinned=False) | Q(source="manual"),
                name="only_manual_rates_are_pinned",
            ),
        ]

    def __str__(self) -> str:
        return f"1 EUR = {self.rate} {self.currency} ({self.effective_date})"


class StockPool(models.Model):
    """A stock location or allocation ("country-based stock"), e.g. a warehouse."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    country = models.ForeignKey(
        "shop.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("located in"),
    )

    class Meta:
        verbose_name = _("stock pool")
        verbose_name_plural = _("stock pools")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MarketStockPool(models.Model):
    """A pool a market sells from; a market draws from its pools in order."""

    market = models.ForeignKey(
        "shop.Market",
        on_delete=models.CASCADE,
        related_name="stock_pools",
        verbose_name=_("market"),
    )
    pool = models.ForeignKey(
        StockPool, on_delete=models.PROTECT, related_name="markets", verbose_name=_("stock pool")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("market stock pool")
        verbose_name_plural = _("market stock pools")
        ordering = ["market", "position"]
        constraints = [
            models.UniqueConstraint(fields=["market", "pool"], name="market_pool_once"),
        ]

    def __str__(self) -> str:
        return f"{self.market} ← {self.pool}"


class StockLevel(models.Model):
    """How many of a variant a pool holds, and how many are promised to orders.

    ``allows_backorder`` copies the variant's flag (kept true by a composite
    foreign key with ON UPDATE CASCADE, see the migration) so that the check
    "reserved never exceeds quantity unless the variant allows backorder"
    is enforced by PostgreSQL.
    """

    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="stock_levels"
    )
    pool = models.ForeignKey(StockPool, on_delete=models.CASCADE, related_name="levels")
    quantity = models.IntegerField(_("quantity"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    allows_backorder = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["variant", "pool"], name="stock_once_per_pool"),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="stock_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(allows_backorder=True) | Q(reserved__lte=F("quantity")),
                name="stock_reserved_within_quantity",
            ),
        ]
        indexes = [models.Index(fields=["pool", "variant"], name="stock_by_pool")]

    def __str__(self) -> str:
        return f"{self.variant_id} @ {self.pool_id}: {self.quantity} ({self.reserved} reserved)"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.allows_backorder = self.variant.allows_backorder
        if self.pk is not None and not self._state.adding and "update_fields" not in kwargs:
            # ``reserved`` belongs to checkout (conditional UPDATEs); a form
            # that loaded the row earlier must not write back a stale value.
            kwargs["update_fields"] = ["quantity", "allows_backorder", "updated_at"]
        super().save(*args, **kwargs)

    @property
    def available(self) -> int:
        return max(self.quantity - self.reserved, 0)


# The listing table: what listing pages sort and filter by, derived from
# ``offers_for`` and the catalogue by ``pricing.listing_upkeep``.


class ListingContext(models.Model):
    """Where and for whom listing rows are derived: a market's country, for retail
    shoppers or for a customer group with its own price list there.

    ``fingerprint`` sums up the settings the rows were derived with (currency,
    tax display, lists, pools, tax rates): when it no longer matches, the
    context's rows are derived again.
    """

    market = models.ForeignKey("shop.Market", on_delete=models.CASCADE, related_name="+")
    country = models.ForeignKey("shop.Country", on_delete=models.CASCADE, related_name="+")
    customer_group = models.ForeignKey(
        "shop.CustomerGroup", on_delete=models.CASCADE, null=True, related_name="+"
    )
    fingerprint = models.CharField(max_length=64, blank=True)
    built_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("listing context")
        verbose_name_plural = _("listing contexts")
        constraints = [
            models.UniqueConstraint(
                fields=["market", "country", "customer_group"],
                name="listing_context_once",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        group = self.customer_group_id or "retail"
        return f"{self.market_id}/{self.country_id}/{group}"


class ListingEntry(models.Model):
    """A product as a listing in one context shows it: its card's price, whether it
    is on sale and can be bought, and what it is found by.

    ``price`` is the amount the card shows (``offers_for`` of the cheapest
    variant that can be bought, else of the cheapest), in the market's
    currency and tax display. A product without a price or not visible in the
    context has no row. ``languages`` is a bit per entry of
    ``settings.LANGUAGES`` the product has a text in.
    """

    pk = models.CompositePrimaryKey("context", "product")
    # The primary key and the GIN index lead with the context: no index of its own.
    context = models.ForeignKey(
        ListingContext, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    price = amount_field(_("price"))
    on_sale = models.BooleanField(default=False)
    in_stock = models.BooleanField(default=False)
    languages = models.IntegerField(default=0)
    brand_id = models.BigIntegerField(null=True)
    published_at = models.DateTimeField()
    category_ids = ArrayField(models.BigIntegerField(), default=list)
    value_ids = ArrayField(models.BigIntegerField(), default=list)

    class Meta:
        verbose_name = _("listing entry")
        verbose_name_plural = _("listing entries")
        indexes = [
            models.Index(fields=["context", "price", "product"], name="listing_by_price"),
            models.Index(fields=["context", "published_at", "product"], name="listing_by_date"),
            models.Index(fields=["product"], name="listing_by_product"),
            GinIndex(fields=["context", "category_ids", "value_ids"], name="listing_filters"),
        ]

    def __str__(self) -> str:
        return f"{self.context_id}/{self.product_id}: {self.price}"


class ListingClock(models.Model):
    """How far sale starts and ends and scheduled publications have been applied
    to the listing table (one row)."""

    checked_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.checked_until:%Y-%m-%d %H:%M:%S}"
