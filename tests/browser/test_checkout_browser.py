"""A shopper buys KRV-TEE-M through the HTML pages in a real browser.

Debian's Chromium, driven by Playwright, at desktop and phone size: in
``/de-de/`` with bank transfer and in ``/tr-tr/`` with cash on delivery.
A screenshot of every step is saved under ``tests/artifacts/`` (git-ignored).
Skipped, with the reason, where Playwright or Chromium is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.cache import cache

from orders.models import Order, OrderStatus

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


pytestmark = [
    pytest.mark.slow,
    # Committed data that the live server's thread sees; the migrations' data
    # (countries, regions) is restored for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        chromium_path() is None,
        reason="Chromium is not installed (Debian: apt-get install chromium; make test does it)",
    ),
]


def screenshots(page, name: str) -> Callable[[str], None]:
    """A function saving a numbered full-page screenshot of each step under tests/artifacts/."""
    numbers = iter(range(1, 100))

    def shot(step: str) -> None:
        path = ARTIFACTS / f"{name}-{next(numbers):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)

    return shot


def fill_address(page, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        page.fill(f"#id_{name}", value)


def buy(page, base: str, prefix: str, shot: Callable[[str], None], address) -> None:
    """Product page → cart → address → shipping, up to the payment step."""
    page.goto(f"{base}/{prefix}/sku/KRV-TEE-M/")
    shot("product")
    page.click("form.add-to-cart button[type=submit]")
    page.wait_for_url(f"**/{prefix}/cart/")
    assert page.inner_text("[data-cart-count]") == " (1)"  # the script read the count cookie
    assert "KRV-TEE-M" in page.inner_text("main")
    shot("cart")
    page.click(f"a[href='/{prefix}/checkout/']")
    page.wait_for_url(f"**/{prefix}/checkout/")
    address(page)
    shot("address")
    page.click(".form-actions button[type=submit]")
    page.wait_for_url(f"**/{prefix}/checkout/shipping/")
    shot("shipping")
    page.click(".form-actions button[type=submit]")
    page.wait_for_url(f"**/{prefix}/checkout/payment/")


def place(page, prefix: str, shot: Callable[[str], None]) -> str:
    page.click(".form-actions button[type=submit]")
    page.wait_for_url(f"**/{prefix}/checkout/review/")
    shot("review")
    page.click("form[data-submit-once] button[type=submit]")
    page.wait_for_url(f"**/{prefix}/order/**")
    shot("confirmation")
    assert page.inner_text("[data-cart-count]") == ""  # the cart is gone
    return page.inner_text("main")


def german_address(page) -> None:
    fill_address(
        page,
        {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "line1": "Unter den Linden 1",
            "postal_code": "10117",
            "city": "Berlin",
            "email": "erika@example.com",
        },
    )


def turkish_address(page) -> None:
    # Choosing the province re-renders the form with Istanbul's districts.
    with page.expect_navigation():
        page.select_option("#id_region", "TR-34")
    assert page.locator("#id_district_list option[value='Kadıköy']").count() == 1
    fill_address(
        page,
        {
            "first_name": "Ayşe",
            "last_name": "Yılmaz",
            "line1": "Moda Caddesi 1",
            "postal_code": "34710",
            "city": "İstanbul",
            "district": "Kadıköy",
            "email": "ayse@example.com",
            "phone": "+90 532 000 00 00",
        },
    )


def test_a_shopper_buys_a_t_shirt_in_germany_and_turkiye_at_desktop_and_phone_size(
    live_server, demo_shop
):
    # Demo data is created here, in the live server's database (committed).
    from payments.demo import payments_demo_setup
    from shipping.demo import shipping_demo_setup

    shipping_demo_setup()
    payments_demo_setup()
    cache.clear()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    texts: dict[tuple[str, str], str] = {}

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            for size, viewport in VIEWPORTS.items():
                for prefix, address, method in (
                    ("de-de", german_address, "bank-transfer"),
                    ("tr-tr", turkish_address, "cash-on-delivery"),
                ):
                    context = browser.new_context(viewport=viewport)
                    page = context.new_page()
                    page.set_default_timeout(10_000)
                    shot = screenshots(page, f"{prefix}-{size}")

                    buy(page, live_server.url, prefix, shot, address)
                    page.check(f"input[name=payment_method][value={method}]")
                    shot("payment")
                    texts[(prefix, size)] = place(page, prefix, shot)
                    context.close()
        finally:
            browser.close()

    orders = list(Order.objects.order_by("pk"))
    assert len(orders) == 4
    assert all(order.status == OrderStatus.PENDING_PAYMENT for order in orders)
    german = [order for order in orders if order.currency == "EUR"]
    turkish = [order for order in orders if order.currency == "TRY"]
    assert len(german) == len(turkish) == 2
    assert all(order.payment_method_code == "bank-transfer" for order in german)
    assert all(order.pays_on_delivery for order in turkish)
    for size in VIEWPORTS:
        assert "NL91ABNA0417164300" in texts[("de-de", size)]
        assert any(order.number in texts[("de-de", size)] for order in german)
        assert any(order.number in texts[("tr-tr", size)] for order in turkish)
