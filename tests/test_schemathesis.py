"""Property-based API testing over the OpenAPI schema: no input may cause a server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api import create_app
from bot.advisor import Advisor


def test_no_server_errors(advisor: Advisor) -> None:
    app = create_app(
        advisor.settings.model_copy(update={"rate_limit": "100000/minute"}), advisor=advisor
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error])
            assert "Traceback" not in response.text

        no_server_error()
