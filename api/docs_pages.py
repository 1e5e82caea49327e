"""/docs (Swagger UI) and /redoc (ReDoc), only when ``FINADVISOR_API_DOCS`` is set.

Their scripts and styles come from the ``fastapi-offline`` package's copies, served here under
``/docs/assets``, and Swagger UI starts from ``/static/swagger-init.js``: nothing is loaded from
outside and no inline script is needed, so the pages work under the app's CSP. The ReDoc bundle
names one outside URL, its logo; it is served with that URL replaced by an empty local image.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
_HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>finadvisor API</title>'
SWAGGER_PAGE = (
    f'{_HEAD}<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>'
    '<body><div id="swagger-ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>'
    '<script src="/static/swagger-init.js"></script></body></html>'
)
REDOC_PAGE = (
    f'{_HEAD}</head><body><redoc spec-url="/openapi.json"></redoc>'
    '<script src="/docs/assets/redoc.standalone.js"></script></body></html>'
)


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


@cache
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle with its one outside URL made local."""
    return (
        (ASSETS / "redoc.standalone.js")
        .read_bytes()
        .replace(REDOC_LOGO.encode(), EMPTY_IMAGE.encode())
    )


def mount_api_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from local assets."""

    @app.get("/docs/assets/redoc.standalone.js", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(redoc_bundle(), media_type="application/javascript")

    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE)
