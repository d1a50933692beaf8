"""Product feeds: what each feed is (market, language, format), each build, and how
the shop's categories map to Google's product taxonomy."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FeedFormat(models.TextChoices):
    GOOGLE = "google", _("Google Merchant Center (RSS 2.0 XML)")
    META = "meta", _("Meta catalogue (CSV)")
    PARTNER = "partner", _("Partner XML")


# The stable file name of each format under /feeds/<market>/<language>/.
FILE_NAMES = {
    FeedFormat.GOOGLE: "google.xml",
    FeedFormat.META: "meta.csv",
    FeedFormat.PARTNER: "partner.xml",
}


class FeedConfig(models.Model):
    """One feed: a market's catalogue in one language and format, served at a stable URL.

    Prices, tax display and currency are the market's; ``country`` (the
    market's default country when empty) is the storefront the links open
    and whose tax rate splits a gross price.
    """

    market = models.ForeignKey(
        "shop.Market", on_delete=models.CASCADE, related_name="+", verbose_name=_("market")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    format = models.CharField(_("format"), max_length=10, choices=FeedFormat.choices)
    country = models.ForeignKey(
        "shop.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("storefront country"),
        help_text=_("Which of the market's storefronts the links open. Empty: its default."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Built every hour and served.")
    )
    access_token = models.CharField(
        _("access token"),
        max_length=100,
        blank=True,
        help_text=_(
            "When set, the feed is served only with ?token= followed by this value. Empty: public."
        ),
    )
    current_build = models.ForeignKey(
        "FeedBuild",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("current file"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("product feed")
        verbose_name_plural = _("product feeds")
        ordering = ["market__position", "language", "format"]
        constraints = [
            models.UniqueConstraint(
                fields=["market", "language", "format"],
                name="feed_once_per_market_language_format",
                violation_error_message=_(
                    "This market already has a feed in this language and format."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market.code}/{self.language}/{FILE_NAMES[FeedFormat(self.format)]}"

    def clean(self) -> None:
        if self.market_id is None:
            return
        errors: dict[str, str] = {}
        if self.language and self.language not in self.market.languages:
            errors["language"] = str(
                _("The market is not sold in this language (%(languages)s).")
                % {"languages": ", ".join(self.market.languages)}
            )
        if (
            self.country_id
            and not self.market.country_links.filter(country_id=self.country_id).exists()
        ):
            errors["country"] = str(_("The market does not serve this country."))
        if errors:
            raise ValidationError(errors)

    @property
    def file_name(self) -> str:
        return FILE_NAMES[FeedFormat(self.format)]

    @property
    def path(self) -> str:
        """The feed's URL path (stable across builds)."""
        return f"/feeds/{self.market.code}/{self.language}/{self.file_name}"


class GoogleCategory(models.Model):
    """A shop category's place in Google's product taxonomy (``google_product_category``).

    Products take the mapping of their main category or of its nearest
    ancestor that has one.
    """

    category = models.OneToOneField(
        "catalog.Category",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("category"),
    )
    google_id = models.PositiveIntegerField(
        _("Google category ID"),
        help_text=_("The numeric ID from Google's product taxonomy, e.g. 1604 for Clothing."),
    )
    google_path = models.CharField(
        _("Google category"),
        max_length=300,
        blank=True,
        help_text=_("For reference only, e.g. Apparel & Accessories > Clothing."),
    )

    class Meta:
        verbose_name = _("Google product category")
        verbose_name_plural = _("Google product categories")
        ordering = ["category__path"]
        constraints = [
            models.CheckConstraint(condition=Q(google_id__gt=0), name="google_category_id_positive")
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.google_id}"


class FeedBuild(models.Model):
    """One run that wrote a feed's file: what it wrote, what it left out and why."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCESS = "success", _("built")
        FAILED = "failed", _("failed")

    feed = models.ForeignKey(
        FeedConfig, on_delete=models.CASCADE, related_name="builds", verbose_name=_("feed")
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.RUNNING
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    products_total = models.PositiveIntegerField(_("products visible"), default=0)
    items_written = models.PositiveIntegerField(_("items written"), default=0)
    items_skipped = models.PositiveIntegerField(_("items skipped"), default=0)
    # {reason: count} of items left out, {note: count} of items written with a
    # fallback, and a few SKUs of each, for the merchant to look at.
    skipped_reasons = models.JSONField(_("skipped, by reason"), default=dict, blank=True)
    notes = models.JSONField(_("notes"), default=dict, blank=True)
    samples = models.JSONField(_("examples"), default=dict, blank=True)
    file_name = models.CharField(_("file"), max_length=300, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size (bytes)"), default=0)
    checksum = models.CharField(_("SHA-256"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("feed build")
        verbose_name_plural = _("feed builds")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["feed", "-started_at"], name="feed_build_latest")]

    def __str__(self) -> str:
        return f"{self.feed} @ {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 1)
