"""The JSON API fuzzed from its own OpenAPI spec (schemathesis): no input makes it answer 5xx."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings


def test_no_input_makes_the_api_fail(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14  # every API route is in the spec
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            response = case.call(base_url=server)
            statuses.append(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}"
            )
            assert "Traceback" not in response.text

        call()
    assert len(statuses) > 10 * len(operations)
    assert {200, 404} <= set(statuses) and any(400 <= s < 500 and s != 404 for s in statuses)
