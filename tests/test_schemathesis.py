"""Property-based API testing over the OpenAPI schema with all of schemathesis's checks.

Valid requests (positive data) must be accepted and invalid ones (negative data) refused with a
documented 4xx; every status, content type, header and body must match what the schema says.
413 counts as a refusal: the schema documents it for bodies and texts over the length limits.
It may also answer valid data in one case JSON Schema cannot express: the user messages of one
chat-completions request together longer than ``openai_max_chars``.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from api import create_app
from bot.advisor import Advisor

CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "404", "413", "429"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "404", "405", "406", "408", "409", "413", "415", "422", "428", "429"]
"""


def test_the_schema_tells_the_truth(advisor: Advisor) -> None:
    app = create_app(
        advisor.settings.model_copy(update={"rate_limit": "100000/minute"}), advisor=advisor
    )
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=SchemathesisConfig.from_str(CONFIG)
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        takes_input = bool(list(operation.iter_parameters()) or list(operation.body))
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if takes_input else [])
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def conforms(case: schemathesis.Case) -> None:
                response = case.call()
                case.validate_response(response)
                assert "Traceback" not in response.text

            conforms()
