"""The query parameters of cached storefront pages, validated and in one spelling.

A page's form is both what its view reads and its page-cache key
(``shop.page_cache.cached_page``): the canonical query has only the form's
fields, in their declared order, with valid values only and without the
defaults. Whatever the view ignores (unknown parameters, invalid values) is
left out of the key too, so equivalent URLs show the same page from one entry.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from django import forms
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from storefront.listing import DEFAULT_SORT, ListingFilters

SEARCH_TEXT_LENGTH = 200


class PageQueryForm(forms.Form):
    """Query parameters of a page; invalid values are dropped, never an error page.

    A field's ``initial`` is its default: a missing or invalid value reads as
    it, and the canonical query leaves it out.
    """

    @classmethod
    def of(cls, request: HttpRequest) -> Self:
        """The form of ``request``'s query, built once per request (the page cache's key
        and the view read the same one)."""
        forms_of_request = request.__dict__.setdefault("_page_query_forms", {})
        form = forms_of_request.get(cls)
        if form is None:
            form = forms_of_request[cls] = cls(request.GET)
        return form  # type: ignore[no-any-return]

    @classmethod
    def canonical_query_of(cls, request: HttpRequest) -> str:
        """The page-cache key's query for ``request`` (see ``cached_page``)."""
        return cls.of(request).canonical_query()

    def param(self, name: str) -> Any:
        """The valid value of field ``name``, or its default."""
        self.is_valid()
        field = self.fields[name]
        value = self.cleaned_data.get(name)
        return field.initial if value in field.empty_values else value

    def canonical_query(self, *, without: str = "") -> str:
        """The query with every field but ``without`` that is not at its default."""
        query = QueryDict(mutable=True)
        for name, field in self.fields.items():
            value = self.param(name)
            if name == without or value == field.initial:
                continue
            values = value if isinstance(value, list) else [value]
            # A ticked box reads "1", as the listing's checkbox sends it.
            query.setlist(name, ["1" if item is True else str(item) for item in values])
        return query.urlencode()


class PagedQueryForm(PageQueryForm):
    """A query of a page of results; page 1 is the default (also for 0 or less)."""

    page = forms.IntegerField(min_value=1, required=False, initial=1)


def _plain_decimal(value: Decimal | None) -> Decimal | None:
    """One spelling per amount, so ``10``, ``10.0`` and ``10,00`` are one page and one key.

    Whole amounts lose their decimals, others their trailing zeros (``10.5``),
    and none is written with an exponent (``1E+1``).
    """
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


class ListingForm(PagedQueryForm):
    """Category listing parameters: sort order and filters."""

    sort = forms.ChoiceField(
        choices=[
            ("newest", _("Newest")),
            ("price", _("Price: low to high")),
            ("-price", _("Price: high to low")),
            ("name", _("Name")),
        ],
        required=False,
        initial=DEFAULT_SORT,
    )
    brand = forms.TypedMultipleChoiceField(coerce=int, required=False)
    value = forms.TypedMultipleChoiceField(coerce=int, required=False)
    min_price = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, required=False)
    max_price = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, required=False)
    in_stock = forms.BooleanField(required=False, initial=False)

    def __init__(self, data: Any) -> None:
        data = data.copy()
        for field in ("min_price", "max_price"):
            if field in data:
                data[field] = data[field].replace(",", ".").strip()
        # A checkbox sends "on" when ticked; a link saying 0, off, no or false means unticked
        # (Django's checkbox counts every value but "false" as ticked).
        if data.get("in_stock", "").strip().lower() in {"", "0", "off", "no", "false"}:
            data.pop("in_stock", None)
        super().__init__(data)
        # Any integer is accepted here; unknown ids simply match nothing.
        self.fields["brand"].valid_value = lambda value: str(value).isdigit()  # type: ignore[attr-defined]
        self.fields["value"].valid_value = lambda value: str(value).isdigit()  # type: ignore[attr-defined]

    def clean_brand(self) -> list[int]:
        return sorted(set(self.cleaned_data["brand"]))

    def clean_value(self) -> list[int]:
        return sorted(set(self.cleaned_data["value"]))

    def clean_min_price(self) -> Decimal | None:
        return _plain_decimal(self.cleaned_data["min_price"])

    def clean_max_price(self) -> Decimal | None:
        return _plain_decimal(self.cleaned_data["max_price"])

    def filters(self) -> ListingFilters:
        return ListingFilters(
            brand_ids=tuple(self.param("brand") or ()),
            attribute_value_ids=tuple(self.param("value") or ()),
            price_min=self.param("min_price"),
            price_max=self.param("max_price"),
            in_stock_only=self.param("in_stock"),
            sort=self.param("sort"),
        )


class SearchForm(PagedQueryForm):
    """Search parameters: the text, trimmed, its spaces collapsed, at most 200 characters."""

    q = forms.CharField(required=False, initial="")

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())[:SEARCH_TEXT_LENGTH].strip()


class ProductForm(PageQueryForm):
    """Product page parameters: the SKU of the variant to show, in capitals."""

    variant = forms.CharField(
        required=False, max_length=Variant._meta.get_field("sku").max_length, initial=""
    )

    def clean_variant(self) -> str:
        return self.cleaned_data["variant"].upper()
