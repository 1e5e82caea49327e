"""The OpenAPI schema, made to tell the truth about limits that depend on the settings.

FastAPI writes the schema from the routes; this adds what only the settings know: the longest
accepted message (``maxLength``), the most messages one chat-completions request may hold
(``maxItems``) and, when API keys are configured, the bearer scheme every ``/v1`` route needs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bot.settings import Settings

_TEXT_FIELDS = (("ChatRequest", "message"), ("DiagnoseRequest", "text"))


def _limit_text_fields(schema: dict[str, Any], settings: Settings) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for model, field in _TEXT_FIELDS:
        prop = components.get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["maxLength"] = settings.max_message_chars
    messages = components.get("ChatCompletionRequest", {}).get("properties", {}).get("messages")
    if messages is not None:
        messages["maxItems"] = settings.openai_max_messages
    search = schema.get("paths", {}).get("/v1/search", {}).get("get", {})
    for parameter in search.get("parameters", []):
        if parameter.get("name") == "q":
            parameter["schema"]["maxLength"] = settings.max_message_chars


def _require_bearer(schema: dict[str, Any]) -> None:
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["apiKey"] = {"type": "http", "scheme": "bearer", "description": "FINADVISOR_API_KEYS"}
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                operation["security"] = [{"apiKey": []}]


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace ``app.openapi`` with one that writes the settings' limits into the schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            _limit_text_fields(schema, settings)
            if settings.api_key_set():
                _require_bearer(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
