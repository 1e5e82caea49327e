"""The OpenAPI schema, made to tell the truth about limits that depend on the settings.

FastAPI writes the schema from the routes; this adds what only the settings know: the longest
accepted message (``maxLength``), the most messages one chat-completions request may hold
(``maxItems``), the taxonomy codes the catalog filters accept (``enum``) and, when API keys are
configured, the bearer scheme every ``/v1`` route needs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bot.advisor import Advisor
from core.settings import Settings

_TEXT_FIELDS = (("ChatRequest", "message"), ("DiagnoseRequest", "text"))
_CATALOG_FILTERS = {"segment": "segments", "channel": "channels", "purpose": "purposes"}


def _enumerate_codes(schema: dict[str, Any], advisor: Advisor | None) -> None:
    if advisor is None:
        return
    channels = schema.get("paths", {}).get("/v1/channels", {}).get("get", {})
    for parameter in channels.get("parameters", []):
        section = _CATALOG_FILTERS.get(parameter.get("name", ""))
        if section is not None:
            parameter["schema"] = {"type": "string",
                                   "enum": sorted(advisor.taxonomy.codes(section))}  # fmt: skip


def _limit_text_fields(schema: dict[str, Any], settings: Settings) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for model, field in _TEXT_FIELDS:
        prop = components.get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["maxLength"] = settings.max_message_chars
    messages = components.get("ChatCompletionRequest", {}).get("properties", {}).get("messages")
    if messages is not None:
        messages["maxItems"] = settings.openai_max_messages
        messages["contains"] = {  # at least one user message with text to answer
            "type": "object",
            "required": ["role", "content"],
            "properties": {
                "role": {"const": "user"},
                "content": {"type": "string", "pattern": r"\S"},
            },
        }
    content = components.get("OpenAIMessage", {}).get("properties", {}).get("content", {})
    for variant in content.get("anyOf", []):
        if variant.get("type") == "string":
            variant["maxLength"] = settings.max_message_chars
    search = schema.get("paths", {}).get("/v1/search", {}).get("get", {})
    for parameter in search.get("parameters", []):
        if parameter.get("name") == "q":
            parameter["schema"]["maxLength"] = settings.max_message_chars


def _no_null_parameters(schema: dict[str, Any]) -> None:
    """An optional parameter is sent by leaving it out, never as ``null``: drop that variant."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                variants = parameter.get("schema", {}).get("anyOf", [])
                kept = [v for v in variants if v.get("type") != "null"]
                if len(kept) == 1 and len(variants) == 2:
                    parameter["schema"] = {**{k: v for k, v in parameter["schema"].items()
                                              if k != "anyOf"}, **kept[0]}  # fmt: skip


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
            _enumerate_codes(schema, app.state.advisor)
            _no_null_parameters(schema)
            if settings.api_key_set():
                _require_bearer(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
