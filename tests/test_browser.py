"""The web chat page in a real browser: Debian Chromium, driven by Playwright, on a real uvicorn.

Chromium comes from the system (``/usr/bin/chromium``, installed by ``.ci/run``), never from
``playwright install``: nothing here may download anything.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Request, Response, expect, sync_playwright

from api.main import create_app
from knowledge.catalog import load_catalog

from .helpers import free_port, wait_until

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}
TIMEOUT_MS = 60_000

JIEBEI = "借呗有入口但是开不了，芝麻分620，没有逾期"
MILK_TEA = "开奶茶店三年，纳税B级，想借20万进货"
JIEBEI_EN = "Jiebei shows an entry but I can't open it, Sesame score 620, never overdue"


@pytest.fixture(scope="module")
def base_url(advisor: Any) -> Iterator[str]:
    """The real app on a real uvicorn server on 127.0.0.1, for this module."""
    app = create_app(advisor.settings, advisor=advisor)
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; missing it is a broken environment, not a reason to skip."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run .ci/run (it installs Debian's chromium and "
            "fonts-noto-cjk); never `playwright install`, which downloads browsers.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Traffic:
    """Every request and response of one browser context."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.responses: list[Response] = []

    def record_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def record_response(self, response: Response) -> None:
        self.responses.append(response)

    def foreign_hosts(self) -> set[str]:
        """Hosts other than 127.0.0.1 the pages tried to reach (data: URLs have none)."""
        hosts = {urlsplit(url).hostname for url in self.requests}
        return {host for host in hosts if host and host != "127.0.0.1"}


def open_page(browser: Browser, viewport: dict[str, int]) -> tuple[Page, Traffic]:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    traffic = Traffic()
    context.on("request", traffic.record_request)
    context.on("response", traffic.record_response)
    # Anything not aimed at the test server is recorded above and then refused here.
    context.route(
        re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"),
        lambda route: route.abort() if urlsplit(route.request.url).hostname else route.continue_(),
    )
    return context.new_page(), traffic


@pytest.fixture
def desktop(browser: Browser) -> Iterator[tuple[Page, Traffic]]:
    page, traffic = open_page(browser, DESKTOP)
    yield page, traffic
    page.context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[tuple[Page, Traffic]]:
    page, traffic = open_page(browser, PHONE)
    yield page, traffic
    page.context.close()


def ask_with_keyboard(page: Page, message: str) -> None:
    """Type into the labelled input as a person would, then press Enter."""
    page.get_by_label("你的问题").click()
    page.keyboard.type(message)
    page.keyboard.press("Enter")


def wait_for_answers(page: Page, count: int) -> None:
    """Wait until ``count`` bot messages have received their final ``turn`` event."""
    page.wait_for_function(
        """count => document.querySelectorAll(".msg.bot[data-state=done]").length >= count
            || !document.getElementById("error").hidden""",
        arg=count,
        timeout=TIMEOUT_MS,
    )
    error = page.locator("#error")
    if error.is_visible():
        pytest.fail(f"the page showed an error instead of answer {count}: {error.inner_text()}")
    expect(page.locator(".msg.bot[data-state=done]")).to_have_count(count)


def save_screenshot(page: Page, name: str) -> None:
    """The whole conversation, taken with a viewport as tall as the page so that the sticky
    input bar sits at the bottom instead of over the middle of the log."""
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": width, "height": height})
    page.screenshot(path=ARTIFACTS / name)


def session_id(page: Page) -> str | None:
    return page.evaluate("sessionStorage.getItem('finadvisor.session_id')")


def test_conversation_renders_the_structured_turn_and_follows_up(
    desktop: tuple[Page, Traffic], base_url: str, advisor: Any
) -> None:
    page, traffic = desktop
    page.goto(base_url)
    expect(page.get_by_role("button", name=JIEBEI)).to_be_visible()

    ask_with_keyboard(page, JIEBEI)
    expect(page.get_by_role("button", name="发送")).to_be_disabled()
    wait_for_answers(page, 1)
    answer = page.locator(".msg.bot").first
    expect(page.locator(".msg.user").first).to_have_text(JIEBEI)
    expect(page.get_by_label("你的问题")).to_have_value("")

    chips = answer.locator(".reasons .chip")
    expect(chips.first).to_be_visible()
    codes = chips.evaluate_all("chips => chips.map(c => c.dataset.code)")
    labels = chips.locator(".chip-label").all_inner_texts()
    assert labels == [advisor.taxonomy.label("reasons", code) for code in codes]
    assert not any(re.search(r"[a-z]+_[a-z_]+", text) for text in chips.all_inner_texts())
    expect(chips.first.locator(".chip-confidence")).to_have_text(re.compile(r"可信度 \d+%"))
    expect(chips.first.locator(".bar-fill")).to_have_attribute("style", re.compile(r"width: \d+%"))
    expect(chips.first.locator(".chip-evidence")).not_to_be_empty()

    cards = answer.locator(".rec-card")
    assert cards.count() >= 1
    aprs = answer.locator(".rec-card .apr dd").all_inner_texts()
    assert any(re.search(r"\d+(\.\d+)?%", apr) for apr in aprs), aprs
    expect(cards.first.locator(".card-title")).not_to_be_empty()
    channels = cards.evaluate_all("cards => cards.map(c => c.dataset.channel)")
    badges = answer.locator(".rec-card .badge").all_inner_texts()
    assert badges == [advisor.taxonomy.label("channels", code) for code in channels]

    sources = answer.locator(".sources a")
    assert sources.count() >= 1
    for href in sources.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert href.startswith("/v1/docs/") and "?format=html" in href, href
    inline = answer.locator(".reply a.cite")
    assert inline.count() >= 1, "citation markers in the reply text should be links"
    expect(inline.first).to_have_attribute("target", "_blank")

    first_session = session_id(page)
    assert first_session
    follow_up = answer.locator(".follow-up")
    field = follow_up.get_attribute("data-field")
    question = advisor.engine.diagnoser.questions[field]
    buttons = follow_up.locator("button.option:not(.skip)")
    assert buttons.all_inner_texts() == [o.zh for o in question.options]
    values = buttons.evaluate_all("buttons => buttons.map(b => JSON.parse(b.dataset.value))")
    assert values == [o.value for o in question.options]
    expect(follow_up.locator("button.skip")).to_have_text("跳过")
    option = buttons.last
    option_text = option.inner_text()
    option.click()
    wait_for_answers(page, 2)
    expect(page.locator(".msg.user").nth(1)).to_have_text(option_text)
    expect(option).to_be_disabled()
    assert session_id(page) == first_session
    assert getattr(advisor.profile(first_session), field) == question.options[-1].value
    stored = advisor.store.load(first_session)
    assert [t["role"] for t in stored.turns] == ["user", "assistant"] * 2
    assert stored.turns[2]["text"] == option_text

    save_screenshot(page, "chat.png")

    page.get_by_role("button", name="新对话").click()
    expect(page.locator(".msg")).to_have_count(0)
    expect(page.locator("#welcome")).to_be_visible()
    assert session_id(page) is None
    wait_until(lambda: not advisor.store.exists(first_session), timeout=10, what="session delete")

    assert traffic.foreign_hosts() == set()


def test_too_long_message_shows_the_error_and_keeps_the_text(
    desktop: tuple[Page, Traffic], base_url: str
) -> None:
    page, traffic = desktop
    page.goto(base_url)
    box = page.get_by_label("你的问题")
    box.click()
    page.keyboard.type("第一行")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("第二行")
    expect(box).to_have_value("第一行\n第二行")
    expect(page.locator(".msg")).to_have_count(0)

    too_long = "借" * 2001
    box.fill(too_long)
    expect(page.locator("#counter")).to_have_text("2001 / 2000")
    with page.expect_response(re.compile(r"/v1/chat/stream$")) as answered:
        box.press("Enter")
    assert answered.value.status == 413
    error = page.get_by_role("alert")
    expect(error).to_contain_text("2000")
    expect(error).to_contain_text(answered.value.json()["error"])
    expect(box).to_have_value(too_long)
    expect(box).to_be_enabled()
    expect(page.locator(".msg")).to_have_count(0)
    assert traffic.foreign_hosts() == set()


def test_phone_width_has_no_horizontal_scroll(phone: tuple[Page, Traffic], base_url: str) -> None:
    page, traffic = phone
    page.goto(base_url)
    ask_with_keyboard(page, MILK_TEA)
    wait_for_answers(page, 1)
    expect(page.locator(".rec-card").first).to_be_visible()

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.get_by_label("你的问题")
    expect(box).to_be_visible()
    frame = box.bounding_box()
    assert frame is not None
    assert frame["x"] >= 0 and frame["x"] + frame["width"] <= PHONE["width"]
    assert frame["y"] >= 0 and frame["y"] + frame["height"] <= PHONE["height"]
    expect(page.get_by_role("button", name="发送")).to_be_in_viewport()

    save_screenshot(page, "chat-mobile.png")
    assert traffic.foreign_hosts() == set()


def test_citation_link_opens_the_source_document(
    desktop: tuple[Page, Traffic], base_url: str
) -> None:
    page, traffic = desktop
    page.goto(base_url)
    page.get_by_role("button", name=MILK_TEA).click()
    wait_for_answers(page, 1)
    source = page.locator(".sources a").first
    title = source.inner_text()
    href = source.get_attribute("href")
    assert href is not None
    heading = unquote(urlsplit(href).fragment)

    with page.context.expect_page() as opened:
        source.click()
    document = opened.value
    document.wait_for_load_state()
    assert document.url == base_url + href
    loaded = [r for r in traffic.responses if r.url == base_url + href.split("#")[0]]
    assert loaded and loaded[-1].status == 200
    assert document.title() == title
    expect(document.locator("body.doc main")).to_contain_text(title)
    expect(document.locator(f"[id='{heading}']")).to_have_count(1)
    assert document.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") != "none"
    assert traffic.foreign_hosts() == set()


def test_an_english_turn_renders_english_labels_and_its_buttons_answer(
    desktop: tuple[Page, Traffic], base_url: str, advisor: Any
) -> None:
    page, _ = desktop
    page.goto(base_url)
    ask_with_keyboard(page, JIEBEI_EN)
    wait_for_answers(page, 1)
    answer = page.locator(".msg.bot").first
    expect(answer).to_have_attribute("lang", "en")
    expect(answer.locator(".chip-confidence").first).to_have_text(re.compile(r"^Confidence \d+%$"))
    channels = answer.locator(".rec-card").evaluate_all(
        "cards => cards.map(c => c.dataset.channel)"
    )
    badges = answer.locator(".rec-card .badge").all_inner_texts()
    assert badges == [advisor.taxonomy.label("channels", code, "en") for code in channels]
    follow_up = answer.locator(".follow-up")
    title = follow_up.evaluate("node => getComputedStyle(node, '::before').content")
    assert title == '"One more question"'
    question = advisor.engine.diagnoser.questions[follow_up.get_attribute("data-field")]
    buttons = follow_up.locator("button.option")
    assert buttons.all_inner_texts() == [o.en for o in question.options] + ["Skip"]

    buttons.first.click()
    wait_for_answers(page, 2)
    expect(page.locator(".msg.user").nth(1)).to_have_text(question.options[0].en)
    field = follow_up.get_attribute("data-field")
    assert getattr(advisor.profile(session_id(page)), field) == question.options[0].value
    second = page.locator(".msg.bot").nth(1)
    expect(second).to_have_attribute("lang", "en")
    if second.locator(".follow-up").count():
        assert second.locator(".follow-up").get_attribute("data-field") != field
    save_screenshot(page, "chat-en.png")


def test_page_requests_only_the_local_server(desktop: tuple[Page, Traffic], base_url: str) -> None:
    page, traffic = desktop
    page.goto(base_url)
    page.get_by_role("button", name=JIEBEI).click()
    wait_for_answers(page, 1)
    page.reload()
    expect(page.locator(".msg.bot[data-state=restored]")).to_have_count(1, timeout=TIMEOUT_MS)
    assert traffic.requests, "the page made no requests at all"
    assert traffic.foreign_hosts() == set()
    assert [r.url for r in traffic.responses if r.status >= 400] == []


SUMMARY_PHONE = {"width": 390, "height": 844}
TAX_RATE_QUESTION = "税贷利率多少"


@pytest.mark.parametrize(
    ("viewport", "screenshot"),
    [(DESKTOP, "chat-summary.png"), (SUMMARY_PHONE, "chat-summary-mobile.png")],
    ids=["desktop", "phone"],
)
def test_a_delta_turn_answers_first_and_folds_the_full_picture(
    browser: Browser, base_url: str, advisor: Any, viewport: dict[str, int], screenshot: str
) -> None:
    page, traffic = open_page(browser, viewport)
    tax_loan = next(p for p in load_catalog(REPO / "knowledge").products if "税贷" in p.aliases)
    try:
        page.goto(base_url)
        ask_with_keyboard(page, MILK_TEA)
        wait_for_answers(page, 1)
        first = page.locator(".msg.bot").nth(0)
        expect(first).to_have_attribute("data-view", "full")
        expect(first.locator(".rec-card").first).to_be_visible()
        expect(first.locator("details")).to_have_count(0)

        ask_with_keyboard(page, TAX_RATE_QUESTION)
        wait_for_answers(page, 2)
        second = page.locator(".msg.bot").nth(1)
        expect(second).to_have_attribute("data-view", "delta")
        opening = second.locator(".bubble > :first-child")
        expect(opening).to_have_class("reply")
        assert tax_loan.apr.display("zh") in opening.inner_text()[:300]
        folded = second.locator("details.full-picture")
        expect(folded).to_have_count(1)
        summary = folded.locator("summary")
        expect(summary).to_have_text("完整诊断与推荐")
        expect(folded).not_to_have_attribute("open", re.compile(".*"))
        expect(folded.locator(".rec-card").first).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

        summary.click()
        expect(folded).to_have_attribute("open", "")
        expect(folded.locator(".rec-card").first).to_be_visible()
        summary.click()
        expect(folded.locator(".rec-card").first).to_be_hidden()
        summary.focus()
        page.keyboard.press("Enter")
        expect(folded).to_have_attribute("open", "")
        cards = folded.locator(".rec-card")
        expect(cards.first).to_be_visible()
        channels = cards.evaluate_all("cards => cards.map(c => c.dataset.channel)")
        badges = folded.locator(".rec-card .badge").all_inner_texts()
        assert badges == [advisor.taxonomy.label("channels", code) for code in channels]
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

        ask_with_keyboard(page, "总结一下")
        wait_for_answers(page, 3)
        third = page.locator(".msg.bot").nth(2)
        expect(third).to_have_attribute("data-view", "full")
        expect(third.locator("details")).to_have_count(0)
        expect(third.locator(".rec-card").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

        save_screenshot(page, screenshot)
        assert traffic.foreign_hosts() == set()
    finally:
        page.context.close()
