"""No ERP API call answers 5xx or strays from its own OpenAPI document, whatever it is
sent (schemathesis 4, bounded: a few operations, a few examples each).

Every answer is checked against the document: status code documented, content
type and body conforming to the schema. Half the cases carry a real token
(all scopes) and a real order number, so they reach the services.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integrations.erp.api import api
from integrations.erp.tokens import api_token_create
from tests.integrations.erp.conftest import ALL_SCOPES
from tests.orders.factories import cart_with, order_from

EXAMPLES = int(os.environ.get("KERVAN_FUZZ_EXAMPLES", "8"))
DERANDOMIZE = "KERVAN_FUZZ_EXAMPLES" not in os.environ
FUZZED = {
    "GET /api/v1/products",
    "GET /api/v1/variants",
    "POST /api/v1/stock",
    "POST /api/v1/prices",
    "GET /api/v1/orders",
    "GET /api/v1/orders/{number}",
    "POST /api/v1/orders/{number}/acknowledgement",
    "POST /api/v1/orders/{number}/shipments",
}
SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations() if result.ok().label in FUZZED]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_fuzzed_operation_is_in_the_document():
    assert {operation.label for operation in OPERATIONS} == FUZZED


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_no_api_call_answers_a_server_error_or_off_schema(checkout_shop, operation, mode):
    order = order_from(cart_with({"KRV-TEE-M": 1}))
    _row, token = api_token_create(name="fuzz", scopes=ALL_SCOPES)
    client = Client()

    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def call(case, real):
        path_parameters = dict(case.path_parameters or {})
        headers = {key: str(value) for key, value in (case.headers or {}).items()}
        if real:
            if "number" in path_parameters:
                path_parameters["number"] = order.number
            headers["Authorization"] = f"Bearer {token}"
        path = operation.path
        for name, value in path_parameters.items():
            path = path.replace(f"{{{name}}}", str(value))
        query = urlencode(case.query or {}, doseq=True)
        url = f"{path}?{query}" if query else path
        body = case.body
        if isinstance(body, NotSet) or body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode()
        answer = client.generic(
            operation.method.upper(),
            url,
            data=data,
            content_type="application/json",
            headers=headers,
        )
        request = requests.Request(
            operation.method.upper(), f"http://testserver{url}", headers=headers, data=data
        ).prepare()
        response = Response(
            status_code=answer.status_code,
            headers={name.lower(): [value] for name, value in answer.headers.items()},
            content=answer.content,
            request=request,
            elapsed=0.0,
            verify=False,
        )
        assert answer.status_code < 500, (operation.label, case.body, answer.content[:500])
        case.validate_response(response, checks=CHECKS)

    call()
