"""Show an order for support: status, lines, totals, payments, reservations, history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.models import Order
from orders.selectors import order_for_number, order_reservations
from payments.selectors import order_payments
from pricing.money import quantize


class Command(BaseCommand):
    help = "Show an order: status, lines, totals, payments, stock reservations and history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", help="The order number, e.g. KRV-2026-000042.")

    def handle(self, *args: Any, **options: Any) -> None:
        order = order_for_number(options["number"])
        if order is None:
            raise CommandError(f"No order {options['number']!r}.")
        write = self.stdout.write

        def money(amount: Decimal) -> str:
            return f"{quantize(amount, order.currency)} {order.currency}"

        write(f"Order {order.number}  [{order.status}]")
        write(
            f"Placed {order.created_at:%Y-%m-%d %H:%M} in {order.market.name}, "
            f"sold by {order.seller_as_sold['legal_name']}"
        )
        rate = (
            "n/a" if order.exchange_rate is None else format(order.exchange_rate.normalize(), "f")
        )
        write(f"Currency {order.currency}, {rate} per EUR")
        write(
            f"Customer {order.customer_name} <{order.email}>, ships to "
            f"{order.shipping_city} {order.shipping_postal_code} {order.shipping_country}"
        )
        write("Lines:")
        for line in order.lines.all():
            write(
                f"  {line.quantity} × {line.sku} {line.name}: net {money(line.line_net)}, "
                f"tax {money(line.line_tax)} ({line.tax_rate}%), gross {money(line.line_gross)}"
            )
        write(
            f"Items:    {money(order.subtotal_gross)} (net {money(order.subtotal_net)}, "
            f"tax {money(order.subtotal_tax)})"
        )
        write(f"Shipping: {money(order.shipping_gross)} {order.shipping_method_name}")
        write(f"Duty:     {money(order.duty_amount)} ({order.duty_mode})")
        write(f"Fee:      {money(order.payment_fee_gross)} {order.payment_method_name}")
        write(
            f"Total:    {money(order.total_gross)} (net {money(order.total_net)}, "
            f"tax {money(order.total_tax)})"
        )
        self._payments(order, money)
        write("Reservations:")
        for reservation in order_reservations(order):
            write(
                f"  {reservation.quantity} × {reservation.variant.sku} @ "
                f"{reservation.pool.code}: {reservation.state}"
                + (
                    f", expires {reservation.expires_at:%Y-%m-%d %H:%M}"
                    if reservation.expires_at and reservation.state == "open"
                    else ""
                )
            )
        write("History:")
        for change in order.status_changes.all():
            write(
                f"  {change.at:%Y-%m-%d %H:%M} {change.from_status or '-'} → "
                f"{change.to_status} by {change.by}" + (f": {change.note}" if change.note else "")
            )

    def _payments(self, order: Order, money: Any) -> None:
        self.stdout.write("Payments:")
        for payment in order_payments(order):
            self.stdout.write(
                f"  {payment.method.code}: {money(payment.amount)} "
                f"[{payment.status}] ref {payment.reference}"
            )
