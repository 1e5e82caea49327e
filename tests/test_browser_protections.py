"""Browser protections on every answer; the API docs are off by default and local when on."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api import create_app
from bot.advisor import Advisor

PATHS = ["/", "/static/app.js", "/v1/models", "/healthz", "/v1/docs/tax-loan?format=html",
         "/no-such-page", "/openapi.json"]  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_protections(advisor: Advisor, path: str) -> None:
    with TestClient(create_app(advisor.settings, advisor=advisor)) as client:
        headers = client.get(path).headers
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_page_has_no_inline_script_or_style(advisor: Advisor) -> None:
    with TestClient(create_app(advisor.settings, advisor=advisor)) as client:
        page = client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "<style" not in page
    assert " style=" not in page and not re.search(r"\son[a-z]+=", page)


def test_api_docs_are_off_by_default(advisor: Advisor) -> None:
    with TestClient(create_app(advisor.settings, advisor=advisor)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 200


def test_api_docs_when_on_load_nothing_from_outside(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(update={"api_docs": True})
    with TestClient(create_app(settings, advisor=advisor)) as client:
        for path in ("/docs", "/redoc"):
            page = client.get(path)
            assert page.status_code == 200
            urls = re.findall(r'(?:src|href|spec-url)="([^"]+)"', page.text)
            assert urls and all(url.startswith("/") for url in urls), urls
            assert "<script>" not in page.text  # no inline script: the CSP stays script-src 'self'
            for url in urls:
                assert client.get(url).status_code == 200, url
            assert "script-src 'self';" in page.headers["content-security-policy"]
