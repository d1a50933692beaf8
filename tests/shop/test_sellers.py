"""Sellers: the legal entity behind each market."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shop.models import Seller
from shop.services import seller_upsert


def test_demo_markets_are_sold_by_their_legal_entities(demo_markets):
    sellers = {code: market.seller for code, market in demo_markets.items()}

    assert sellers["tr"].legal_name == "Kervan Ticaret A.Ş."
    assert sellers["tr"].country_id == "TR"
    assert {sellers[code].legal_name for code in ("eu", "gb", "us")} == {"Kervan Europe B.V."}
    assert sellers["eu"].in_eu and sellers["eu"].oss_registered and sellers["eu"].ioss_number


@pytest.mark.parametrize(
    ("field", "value"),
    [("iban", "NL91ABNA0417164301"), ("vat_number", "NL004495446B01")],
)
def test_a_seller_with_a_bad_iban_or_vat_number_is_refused(demo_markets, field, value):
    fields = {"legal_name": "Broken B.V.", "line1": "Kade 1", "city": "Rotterdam"}

    with pytest.raises(ValidationError) as error:
        seller_upsert(code="broken", country_id="NL", **fields, **{field: value})

    assert field in error.value.message_dict
    assert not Seller.objects.filter(code="broken").exists()


def test_iban_and_vat_number_are_stored_without_spaces(demo_markets):
    seller = seller_upsert(
        code="spaced",
        legal_name="Spaced B.V.",
        line1="Kade 2",
        city="Rotterdam",
        country_id="NL",
        iban="nl91 abna 0417 1643 00",
        vat_number="nl 004495445 b01",
    )

    assert (seller.iban, seller.vat_number) == ("NL91ABNA0417164300", "NL004495445B01")
