"""The web page and the API docs under the app's Content-Security-Policy, in real Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from api.main import create_app

from .helpers import free_port, wait_until
from .test_browser import (  # noqa: F401 - fixtures
    MILK_TEA,
    Traffic,
    base_url,
    browser,
    desktop,
    wait_for_answers,
)

pytestmark = pytest.mark.slow


def csp_violations(page: Page) -> list[str]:
    """Console messages in which the browser reports a Content-Security-Policy refusal."""
    messages: list[str] = []
    page.on(
        "console",
        lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return messages


def test_page_works_under_its_content_security_policy(
    desktop: tuple[Page, Traffic],  # noqa: F811 - the fixture imported above
    base_url: str,  # noqa: F811
) -> None:
    page, traffic = desktop
    violations = csp_violations(page)
    response = page.goto(base_url)
    assert (
        response is not None and "default-src 'self'" in response.headers["content-security-policy"]
    )
    page.get_by_role("button", name=MILK_TEA).click()
    wait_for_answers(page, 1)
    expect(page.locator(".msg.bot .card").first).to_be_visible()
    assert violations == [] and traffic.foreign_hosts() == set()


@pytest.fixture(scope="module")
def docs_url(advisor: Any) -> Iterator[str]:
    """The app with FINADVISOR_API_DOCS on, on its own uvicorn."""
    app = create_app(advisor.settings.model_copy(update={"api_docs": True}), advisor=advisor)
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="uvicorn")
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize(("path", "rendered"), [("/docs", ".swagger-ui .info"), ("/redoc", "h1")])
def test_api_docs_render_from_local_assets_only(
    desktop: tuple[Page, Traffic],  # noqa: F811 - the fixture imported above
    docs_url: str,
    path: str,
    rendered: str,
) -> None:
    page, traffic = desktop
    violations = csp_violations(page)
    page.goto(docs_url + path)
    expect(page.locator(rendered).first).to_contain_text("finadvisor")
    assert traffic.foreign_hosts() == set()
    assert [r.url for r in traffic.responses if r.status >= 400] == []
    assert [v for v in violations if "script" in v] == []
