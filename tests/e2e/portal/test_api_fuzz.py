"""The JSON API fuzzed from its own OpenAPI document with schemathesis: whatever the request (valid
or not: paths, query strings, bodies, ids), the running portal never answers with a server error, and
what it answers is what the document says.

Requests go to the real portal process (real Kafka and PostgreSQL), signed in as a seller who has an
order and a listing, so generated requests also reach the code paths behind them. PORTAL_FUZZ_EXAMPLES
sets the examples per operation (default 60).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.e2e.portal.conftest import Feed, RunningPortal, api_json

pytestmark = pytest.mark.e2e

SELLER = "seller-fuzz"
EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "60"))


@pytest.fixture(scope="module")
async def fuzz_target(portal: RunningPortal, feed: Feed) -> RunningPortal:
    await feed.order(SELLER, "fuzz-1", placed_at=datetime.now(UTC) - timedelta(days=1))
    await feed.listing(SELLER, "fuzz-mug")
    async with portal.api(SELLER) as api:
        await api_json(api, "/api/v1/orders/shop-1/fuzz-1")
        await api_json(api, "/api/v1/listings/fuzz-mug")
    return portal


@pytest.fixture(scope="module")
def api_schema(fuzz_target: RunningPortal) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_target.url}/api/openapi.json")


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_api_never_answers_a_generated_request_with_a_server_error(
    api_schema: schemathesis.BaseSchema, fuzz_target: RunningPortal, mode: schemathesis.GenerationMode
) -> None:
    """Every operation, with requests that fit the document (positive) and that break it (negative)."""
    headers = {"Authorization": f"Bearer {fuzz_target.token(SELLER)}"}
    checks = [not_a_server_error] if mode is schemathesis.GenerationMode.NEGATIVE else [not_a_server_error, status_code_conformance, response_schema_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=fuzz_target.url, headers=headers, checks=checks, timeout=30)

        fuzz()
