"""No storefront API call answers 5xx, whatever it is sent (schemathesis, from our own OpenAPI).

Every operation of the OpenAPI document gets valid and invalid examples
(wrong types, missing and extra fields, odd strings, huge numbers). Half of
them carry a real cart's id and token, so they reach the services behind
the authentication; the rest are turned away at the door.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from orders.cart import cart_create, cart_line_add
from shop.models import Market
from storefront.api import api

EXAMPLES = int(os.environ.get("KERVAN_FUZZ_EXAMPLES", "15"))
DERANDOMIZE = "KERVAN_FUZZ_EXAMPLES" not in os.environ
OPERATIONS = [
    result.ok()
    for result in schemathesis.openapi.from_dict(
        api.get_openapi_schema(path_prefix="/api/storefront/v1")
    ).get_all_operations()
]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_no_api_call_answers_a_server_error(checkout_shop, operation, mode):
    cart, token = cart_create(market=Market.objects.get(code="eu"), language="de")
    cart_line_add(cart=cart, sku="KRV-TEE-M", quantity=1)
    client = Client()

    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), real_cart=st.booleans())
    def call(case, real_cart):
        path_parameters = dict(case.path_parameters or {})
        headers = {key: str(value) for key, value in (case.headers or {}).items()}
        if real_cart:
            if "cart_id" in path_parameters:
                path_parameters["cart_id"] = cart.pk
            headers["Authorization"] = f"Bearer {token}"
        path = operation.path
        for name, value in path_parameters.items():
            path = path.replace(f"{{{name}}}", str(value))
        query = urlencode(case.query or {}, doseq=True)
        body = case.body
        if isinstance(body, NotSet) or body is None:
            data = ""
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body)
        response = client.generic(
            operation.method.upper(),
            f"{path}?{query}" if query else path,
            data=data,
            content_type="application/json",
            headers=headers,
        )

        assert response.status_code < 500, (operation.label, case.body, response.content[:500])
        if response.status_code >= 400:
            assert response.json()["code"]

    call()
