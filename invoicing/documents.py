"""What an invoice, credit note or proforma says, computed from an order.

The order froze every amount, rate and address when it was placed; a document
takes them as they are, so it always says what the customer was charged. The
tax breakdown groups lines and charges by tax category and rate (EN 16931
BG-23); its tax is the sum of the tax charged on them, and the totals follow
the EN 16931 arithmetic (BR-CO-10 … BR-CO-16).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from orders.models import Order, OrderLine
from orders.quote import CartQuote
from pricing.money import quantize

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# Tax categories (UNCL 5305, as EN 16931 uses them) and why no tax is charged.
EXEMPTIONS: dict[str, tuple[str, object]] = {
    "AE": ("VATEX-EU-AE", _("Reverse charge")),
    "G": ("VATEX-EU-G", _("Export outside the EU")),
    "K": ("VATEX-EU-IC", _("Intra-community supply")),
    "E": ("", _("Exempt from VAT")),
    "O": ("VATEX-EU-O", _("Not subject to VAT")),
}
ZERO_TAX_CATEGORIES = {"AE", "G", "K", "E", "O", "Z"}


@dataclass(frozen=True)
class Line:
    name: str
    quantity: Decimal
    line_net: Decimal
    tax_category: str
    tax_rate: Decimal
    line_tax: Decimal
    sku: str = ""
    order_line_id: int | None = None
    hs_code: str = ""
    origin_country: str = ""
    unit_code: str = "C62"  # "one" (UN/ECE Recommendation 20)

    @property
    def unit_price(self) -> Decimal:
        """The net price of one unit (six decimals: quantity × price gives the line net)."""
        if not self.quantity:
            return ZERO
        return (self.line_net / self.quantity).quantize(Decimal("0.000001"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Extra:
    """A document-level charge (shipping, duty, fee) or allowance (a discount)."""

    reason: str
    amount: Decimal  # net, positive
    tax_category: str
    tax_rate: Decimal
    tax: Decimal
    is_charge: bool = True
    reason_code: str = ""


@dataclass(frozen=True)
class TaxRow:
    category: str
    rate: Decimal
    taxable: Decimal
    tax: Decimal
    exemption_code: str = ""
    exemption_reason: str = ""


@dataclass(frozen=True)
class Totals:
    lines_net: Decimal
    allowances: Decimal
    charges: Decimal
    tax_exclusive: Decimal
    tax_total: Decimal
    tax_inclusive: Decimal
    prepaid: Decimal
    payable: Decimal


@dataclass(frozen=True)
class Content:
    """The lines, charges, tax breakdown and totals of a document."""

    lines: tuple[Line, ...]
    extras: tuple[Extra, ...] = ()
    taxes: tuple[TaxRow, ...] = field(default=())
    totals: Totals | None = None


def _category(category: str, rate: Decimal) -> str:
    """The category of an item (orders before categories were frozen: by its rate)."""
    return category or ("S" if rate else "Z")


def order_lines(order: Order, quantities: Mapping[int, int] | None = None) -> list[Line]:
    """The order's lines as sold, or ``quantities`` (line id → units) of them, with
    net and tax in proportion to the units."""
    lines = []
    for line in OrderLine.objects.filter(order=order).order_by("pk"):
        units = line.quantity if quantities is None else quantities.get(line.pk, 0)
        if units <= 0:
            continue
        net, tax = line.line_net, line.line_tax
        if units != line.quantity:
            net = quantize(line.line_net * units / line.quantity, order.currency)
            tax = quantize(line.line_tax * units / line.quantity, order.currency)
        lines.append(
            Line(
                name=line.name,
                sku=line.sku,
                quantity=Decimal(units),
                line_net=net,
                tax_category=_category(line.tax_category, line.tax_rate),
                tax_rate=line.tax_rate,
                line_tax=tax,
                order_line_id=line.pk,
                hs_code=line.hs_code,
                origin_country=line.origin_country,
            )
        )
    return lines


def order_extras(order: Order, *, shipping: bool = True, fee: bool = True) -> list[Extra]:
    """Shipping, import duty (delivered duty paid) and the payment fee or discount."""
    extras = []
    main = next(
        iter(order_lines(order)), Line("", Decimal(1), ZERO, "S", ZERO, ZERO)
    )  # duty follows the goods' category
    if shipping and order.shipping_gross:
        extras.append(
            Extra(
                reason=str(_("Shipping")),
                reason_code="FC",  # freight charge (UNTDID 7161)
                amount=order.shipping_net,
                tax_category=_category(order.shipping_tax_category, order.shipping_tax_rate),
                tax_rate=order.shipping_tax_rate,
                tax=order.shipping_tax,
            )
        )
    if shipping and order.duty_mode == "ddp" and order.duty_amount:
        category = main.tax_category if main.tax_category in ZERO_TAX_CATEGORIES else "G"
        extras.append(
            Extra(
                reason=str(_("Import duty")),
                reason_code="ABW",  # customs duty charge (UNTDID 7161)
                amount=order.duty_amount,
                tax_category=category,
                tax_rate=ZERO,
                tax=ZERO,
            )
        )
    if fee and order.payment_fee_gross:
        discount = order.payment_fee_gross < 0
        extras.append(
            Extra(
                reason=str(_("Payment discount") if discount else _("Payment fee")),
                reason_code="95" if discount else "",  # discount (UNTDID 5189)
                amount=abs(order.payment_fee_net),
                tax_category=_category(order.payment_fee_tax_category, order.payment_fee_tax_rate),
                tax_rate=order.payment_fee_tax_rate,
                tax=abs(order.payment_fee_tax),
                is_charge=not discount,
            )
        )
    return extras


def quote_lines(quote: CartQuote) -> list[Line]:
    """A cart's lines as the checkout quote prices them now."""
    return [
        Line(
            name=line.name,
            sku=line.sku,
            quantity=Decimal(line.quantity),
            line_net=line.total.net,
            tax_category=_category(line.tax_category, line.tax_rate),
            tax_rate=line.tax_rate,
            line_tax=line.total.tax,
            hs_code=line.hs_code,
            origin_country=line.origin_country,
        )
        for line in quote.lines
    ]


def quote_extras(quote: CartQuote) -> list[Extra]:
    """A cart's shipping and import duty (delivered duty paid) as the quote has them."""
    extras = []
    if quote.shipping is not None and quote.shipping.amounts.gross:
        extras.append(
            Extra(
                reason=str(_("Shipping")),
                reason_code="FC",
                amount=quote.shipping.amounts.net,
                tax_category=_category(quote.shipping.tax_category, quote.shipping.tax_rate),
                tax_rate=quote.shipping.tax_rate,
                tax=quote.shipping.amounts.tax,
            )
        )
    if quote.duty.charged:
        goods = next(iter(quote_lines(quote)), None)
        category = (
            goods.tax_category if goods and goods.tax_category in ZERO_TAX_CATEGORIES else "G"
        )
        extras.append(
            Extra(
                str(_("Import duty")), quote.duty.charged, category, ZERO, ZERO, reason_code="ABW"
            )
        )
    return extras


def tax_rows(lines: Iterable[Line], extras: Iterable[Extra], currency: str) -> list[TaxRow]:
    """The tax breakdown: per category and rate, what is taxed and the tax on it."""
    taxable: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    tax: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for line in lines:
        key = (line.tax_category, line.tax_rate)
        taxable[key] += line.line_net
        tax[key] += line.line_tax
    for extra in extras:
        sign = 1 if extra.is_charge else -1
        key = (extra.tax_category, extra.tax_rate)
        taxable[key] += sign * extra.amount
        tax[key] += sign * extra.tax
    rows = []
    for (category, rate), amount in sorted(taxable.items()):
        code, reason = EXEMPTIONS.get(category, ("", ""))
        rows.append(
            TaxRow(
                category=category,
                rate=rate,
                taxable=quantize(amount, currency),
                tax=quantize(tax[(category, rate)], currency),
                exemption_code=code,
                exemption_reason=str(reason),
            )
        )
    return rows


def totals_of(
    lines: Iterable[Line], extras: Iterable[Extra], taxes: Iterable[TaxRow], prepaid: Decimal
) -> Totals:
    """The document totals, by EN 16931's arithmetic."""
    extras = list(extras)
    lines_net = sum((line.line_net for line in lines), ZERO)
    charges = sum((extra.amount for extra in extras if extra.is_charge), ZERO)
    allowances = sum((extra.amount for extra in extras if not extra.is_charge), ZERO)
    tax_exclusive = lines_net - allowances + charges
    tax_total = sum((row.tax for row in taxes), ZERO)
    tax_inclusive = tax_exclusive + tax_total
    prepaid = min(prepaid, tax_inclusive)
    return Totals(
        lines_net=lines_net,
        allowances=allowances,
        charges=charges,
        tax_exclusive=tax_exclusive,
        tax_total=tax_total,
        tax_inclusive=tax_inclusive,
        prepaid=prepaid,
        payable=tax_inclusive - prepaid,
    )


def content_of(
    lines: Iterable[Line], extras: Iterable[Extra], currency: str, *, paid: bool
) -> Content:
    lines, extras = tuple(lines), tuple(extras)
    taxes = tuple(tax_rows(lines, extras, currency))
    totals = totals_of(lines, extras, taxes, ZERO)
    if paid:
        totals = replace(totals, prepaid=totals.tax_inclusive, payable=ZERO)
    return Content(lines=lines, extras=extras, taxes=taxes, totals=totals)


def order_content(order: Order) -> Content:
    """Everything the order's invoice says (in the order's language): its lines,
    charges, breakdown and totals."""
    with override(order.language):
        return content_of(
            order_lines(order), order_extras(order), order.currency, paid=order.paid_at is not None
        )


def refund_content(
    order: Order,
    *,
    lines: Mapping[int, tuple[int, Decimal]],
    shipping: Decimal,
    other: Decimal,
) -> Content:
    """A credit note's content for a refund: units of lines (with the gross refunded
    for them), shipping and a free amount, each split into net and tax at the rate
    it was charged at. The free amount is split over the order's tax rows in
    proportion to their gross."""
    with override(order.language):
        return _refund_content(order, lines=lines, shipping=shipping, other=other)


def _refund_content(
    order: Order,
    *,
    lines: Mapping[int, tuple[int, Decimal]],
    shipping: Decimal,
    other: Decimal,
) -> Content:
    credited: list[Line] = []
    sold = {line.order_line_id: line for line in order_lines(order)}
    for line_id, (units, gross) in sorted(lines.items()):
        base = sold.get(line_id)
        if base is None or units <= 0:
            continue
        credited.append(_split_line(base, Decimal(units), gross, order.currency))
    extras: list[Extra] = []
    if shipping > 0:
        extras.append(_split_extra(str(_("Shipping")), "FC", shipping, order))
    if other > 0:
        credited += _spread(other, list(sold.values()), order.currency)
    return content_of(credited, extras, order.currency, paid=True)


def _split_line(base: Line, units: Decimal, gross: Decimal, currency: str) -> Line:
    tax = quantize(gross * base.tax_rate / (HUNDRED + base.tax_rate), currency)
    return replace(base, quantity=units, line_net=gross - tax, line_tax=tax)


def _split_extra(reason: str, code: str, gross: Decimal, order: Order) -> Extra:
    rate = order.shipping_tax_rate
    tax = quantize(gross * rate / (HUNDRED + rate), order.currency)
    return Extra(
        reason=reason,
        reason_code=code,
        amount=gross - tax,
        tax_category=_category(order.shipping_tax_category, rate),
        tax_rate=rate,
        tax=tax,
    )


def _spread(amount: Decimal, lines: list[Line], currency: str) -> list[Line]:
    """A refunded amount as one line per tax row, in proportion to each row's gross."""
    gross: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for line in lines:
        gross[(line.tax_category, line.tax_rate)] += line.line_net + line.line_tax
    total = sum(gross.values(), ZERO)
    if not total:
        return []
    parts, left = [], amount
    keys = sorted(gross)
    for index, key in enumerate(keys):
        share = left if index == len(keys) - 1 else quantize(amount * gross[key] / total, currency)
        left -= share
        category, rate = key
        tax = quantize(share * rate / (HUNDRED + rate), currency)
        parts.append(
            Line(
                name=str(_("Refund")),
                quantity=Decimal(1),
                line_net=share - tax,
                tax_category=category,
                tax_rate=rate,
                line_tax=tax,
            )
        )
    return parts
