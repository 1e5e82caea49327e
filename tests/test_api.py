"""The HTTP API through the in-process ASGI client, and once through a real uvicorn."""

from __future__ import annotations

import html
import json
import re
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api import create_app
from bot.advisor import Advisor

from .helpers import CONTRACT_KEYS, free_port, wait_until


@pytest.fixture
def client(advisor: Advisor) -> Iterator[TestClient]:
    settings = advisor.settings.model_copy(update={"rate_limit": "1000/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a server-sent-events body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, "\n".join(data)))
    return events


def test_chat_then_session_then_delete(client: TestClient) -> None:
    first = client.post("/v1/chat", json={"message": "借呗有入口没额度，芝麻分600"})
    assert first.status_code == 200
    body = first.json()
    assert {
        "session_id",
        "reply",
        "follow_up",
        "reasons",
        "recommendations",
        "warnings",
        "citations",
    } <= set(body)
    session = body["session_id"]
    second = client.post("/v1/chat", json={"session_id": session, "message": "没有逾期"})
    assert second.json()["profile"]["overdue"] == "none"
    assert second.json()["profile"]["zhima_score"] == 600
    stored = client.get(f"/v1/sessions/{session}").json()
    assert len(stored["turns"]) == 4 and stored["profile"]["platform"] == "jiebei"
    assert client.delete(f"/v1/sessions/{session}").status_code == 204
    assert client.get(f"/v1/sessions/{session}").status_code == 404
    assert client.delete(f"/v1/sessions/{session}").status_code == 404


def test_stream(client: TestClient) -> None:
    response = client.post("/v1/chat/stream", json={"message": "花呗被降额了，很多人都被降"})
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/event-stream"
    )
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "session" and names[-1] == "turn" and names.count("delta") >= 3
    turn = json.loads(events[-1][1])
    streamed = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    assert streamed == turn["reply"]
    assert turn["reasons"][0]["code"] == "platform_risk_policy"


def test_diagnose_contract(client: TestClient) -> None:
    body = client.post(
        "/v1/diagnose", json={"text": "借呗有入口没额度，近三个月查了8次征信"}
    ).json()
    assert set(body) == CONTRACT_KEYS
    assert body["reasons"][0]["code"] == "frequent_inquiries"


def test_search_channels_docs_health(client: TestClient) -> None:
    results = client.get("/v1/search", params={"q": "纳税信用好能贷款吗", "k": 3}).json()
    assert len(results) == 3 and results[0]["doc_id"] == "tax-loan"
    assert set(results[0]) == {"doc_id", "heading", "title", "text", "score"}
    assert (
        client.get("/v1/search", params={"q": "借呗", "kind": "policy"}).json()[0]["doc_id"]
        != "jiebei"
    )
    tax = client.get("/v1/channels", params={"channel": "bank_tax_loan"}).json()
    assert tax["products"] and all(p["channel"] == "bank_tax_loan" for p in tax["products"])
    consumer = client.get(
        "/v1/channels", params={"segment": "consumer", "purpose": "medical"}
    ).json()
    assert consumer["products"] and not consumer["credit_improvement"]
    assert client.get("/v1/channels", params={"segment": "student"}).status_code == 422
    doc = client.get("/v1/docs/tax-loan").json()
    assert doc["id"] == "tax-loan" and doc["sources"] and doc["headings"]
    page = client.get("/v1/docs/tax-loan", params={"format": "html"})
    assert page.status_code == 200 and "<h2" in page.text and doc["title"] in page.text
    assert client.get("/v1/docs/no-such-doc").status_code == 404
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["documents"] >= 43
    assert client.get("/").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "finadvisor"


@pytest.mark.parametrize(
    ("kwargs", "status", "phrase"),
    [
        ({"json": {"message": ""}}, 422, "消息是空的"),
        ({"json": {"message": "   "}}, 422, "消息是空的"),
        ({"json": {"message": "借" * 2001}}, 413, "2000"),
        ({"json": {}}, 422, "'message' is required"),
        ({"json": ["not", "an", "object"]}, 422, "JSON object"),
        ({"json": {"message": "hi", "extra": 1}}, 422, "not accepted"),
        ({"json": {"message": "hi", "session_id": "bad id!"}}, 422, "session_id"),
        (
            {"content": "{not json", "headers": {"content-type": "application/json"}},
            400,
            "not valid JSON",
        ),
        (
            {"content": b"x" * (300 * 1024), "headers": {"content-type": "application/json"}},
            413,
            "larger than",
        ),
    ],
)
def test_bad_input_gets_one_sentence(
    client: TestClient, kwargs: dict, status: int, phrase: str
) -> None:
    response = client.post("/v1/chat", **kwargs)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and phrase in body["error"]
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_rate_limit(advisor: Advisor) -> None:
    settings = advisor.settings.model_copy(update={"rate_limit": "3/minute"})
    with TestClient(create_app(settings, advisor=advisor)) as limited:
        statuses = [
            limited.post("/v1/diagnose", json={"text": "借呗没额度"}).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        blocked = limited.post("/v1/diagnose", json={"text": "借呗没额度"})
        assert int(blocked.headers["Retry-After"]) >= 1 and "wait" in blocked.json()["error"]
        assert limited.get("/healthz").status_code == 200  # health is never limited


def test_openai_compatible(client: TestClient) -> None:
    request = {
        "model": "finadvisor",
        "user": f"alice-{uuid.uuid4().hex}",  # a first conversation even in a kept data dir
        "messages": [{"role": "user", "content": "借呗没额度"}],
    }
    first = client.post("/v1/chat/completions", json=request).json()
    assert (
        first["object"] == "chat.completion"
        and first["choices"][0]["message"]["role"] == "assistant"
    )
    assert "可能的原因" in first["choices"][0]["message"]["content"]
    request["messages"].append({"role": "user", "content": "芝麻分580"})
    second = client.post("/v1/chat/completions", json=request).json()
    assert second["finadvisor"]["profile"]["platform"] == "jiebei"  # same session via `user`
    issued = client.post("/v1/chat", json={"message": "借呗没额度"}).json()["session_id"]
    header = client.post(
        "/v1/chat/completions",
        json={"model": "finadvisor", "messages": [{"role": "user", "content": "芝麻分580"}]},
        headers={"X-Session-Id": issued},
    )
    assert header.status_code == 200
    assert header.json()["finadvisor"]["profile"]["platform"] == "jiebei"  # the issued session
    stateless = client.post("/v1/chat/completions", json={"model": "finadvisor", "messages": [
        {"role": "system", "content": "you are helpful"},
        {"role": "user", "content": "我是开店的个体户"},
        {"role": "assistant", "content": "好的"},
        {"role": "user", "content": "想借20万进货，纳税B级"},
    ]}).json()  # fmt: skip
    assert stateless["finadvisor"]["profile"]["segment"] == "sole_proprietor"  # history replayed
    streamed = client.post("/v1/chat/completions", json={**request, "stream": True})
    chunks = [data for _, data in sse_events(streamed.text)]
    assert chunks[-1] == "[DONE]"
    pieces = [json.loads(c) for c in chunks[:-1]]
    assert pieces[0]["choices"][0]["delta"]["role"] == "assistant"
    assert pieces[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(p["choices"][0]["delta"].get("content", "") for p in pieces)
    wrong = client.post("/v1/chat/completions", json={**request, "model": "gpt-4"})
    assert wrong.status_code == 404 and "finadvisor" in wrong.json()["error"]
    assert client.get("/v1/models").json()["data"][0]["id"] == "finadvisor"


JSON_TYPES = {"boolean": bool, "number": (int, float), "string": str, "array": list}


def json_kind(value: object) -> str:
    """The JSON type name of a decoded JSON value."""
    if isinstance(value, bool):
        return "boolean"
    return next(name for name, kind in JSON_TYPES.items() if isinstance(value, kind))


def test_follow_up_options_are_labelled_objects_typed_as_the_profile(
    client: TestClient, advisor: Advisor
) -> None:
    body = client.post("/v1/chat", json={"message": "借呗有入口没额度，芝麻分600，没有逾期"}).json()
    follow_up = body["follow_up"]
    assert set(follow_up) == {"field", "question", "options", "skip"}
    assert follow_up["skip"] == {"zh": "跳过", "en": "Skip"}
    question = advisor.engine.diagnoser.questions[follow_up["field"]]
    assert follow_up["question"] == question.zh
    for sent, known in zip(follow_up["options"], question.options, strict=True):
        assert set(sent) == {"value", "label"} and set(sent["label"]) == {"zh", "en"}
        assert sent["label"] == {"zh": known.zh, "en": known.en}
        assert sent["value"] == known.value and json_kind(sent["value"]) == json_kind(known.value)
    assert not any(
        isinstance(o["value"], str) and o["value"].isdigit() for o in follow_up["options"]
    )
    for rec in body["recommendations"]:
        assert rec["channel_label"] == advisor.taxonomy.label("channels", rec["channel"])

    # every question's options keep the profile's JSON types (true, 0.5, ["property"], "none")
    kinds = {
        field: {json_kind(o.value) for o in q.options}
        for field, q in advisor.engine.diagnoser.questions.items()
    }
    assert kinds["is_student"] == {"boolean"} and kinds["collateral"] == {"array"}
    assert kinds["years_operating"] == {"number"} and kinds["overdue"] == {"string"}

    # the label in the turn's language, sent as the message, sets exactly the option's value
    chosen = follow_up["options"][-1]
    second = client.post(
        "/v1/chat", json={"session_id": body["session_id"], "message": chosen["label"]["zh"]}
    ).json()
    assert second["profile"][follow_up["field"]] == chosen["value"]
    assert (second["follow_up"] or {}).get("field") != follow_up["field"]


def test_an_english_turn_and_its_english_labels(client: TestClient, advisor: Advisor) -> None:
    message = "Jiebei shows an entry but I can't open it, Sesame score 600, never overdue"
    body = client.post("/v1/chat", json={"message": message}).json()
    assert body["lang"] == "en"
    for rec in body["recommendations"]:
        assert rec["channel_label"] == advisor.taxonomy.label("channels", rec["channel"], "en")
    follow_up = body["follow_up"]
    assert follow_up["question"] == advisor.engine.diagnoser.questions[follow_up["field"]].en
    chosen = follow_up["options"][0]
    second = client.post(
        "/v1/chat", json={"session_id": body["session_id"], "message": chosen["label"]["en"]}
    ).json()
    assert second["lang"] == "en"
    assert second["profile"][follow_up["field"]] == chosen["value"]
    skipped = client.post(
        "/v1/chat", json={"session_id": body["session_id"], "message": follow_up["skip"]["en"]}
    ).json()
    asked = second["follow_up"]["field"]
    assert asked in advisor.store.load(body["session_id"]).dialogue.skipped
    assert skipped["profile"].get(asked) is None


def test_the_stream_turn_carries_the_structured_follow_up(client: TestClient) -> None:
    response = client.post("/v1/chat/stream", json={"message": "借呗有入口没额度，芝麻分600"})
    turn = json.loads(sse_events(response.text)[-1][1])
    assert turn["follow_up"]["options"] and all(
        set(o["label"]) == {"zh", "en"} for o in turn["follow_up"]["options"]
    )


def test_openai_text_carries_the_choices_after_the_question(
    client: TestClient, advisor: Advisor
) -> None:
    request = {"model": "finadvisor", "messages": [
        {"role": "user", "content": "Jiebei gives me no limit, Sesame score 600, never overdue"},
    ]}  # fmt: skip
    answer = client.post("/v1/chat/completions", json=request).json()
    content = answer["choices"][0]["message"]["content"]
    follow_up = answer["finadvisor"]["follow_up"]
    labels = [o["label"]["en"] for o in follow_up["options"]] + ["Skip"]
    line = "You can reply: " + " / ".join(labels)
    blocks = content.split("\n\n")
    assert line in blocks, content
    assert follow_up["question"] in blocks[blocks.index(line) - 1]
    request["messages"] += [
        {"role": "assistant", "content": content},
        {"role": "user", "content": labels[0]},
    ]
    replayed = client.post("/v1/chat/completions", json=request).json()
    field = follow_up["field"]
    assert replayed["finadvisor"]["profile"][field] == follow_up["options"][0]["value"]


def test_the_web_page_holds_no_advice_data(client: TestClient, advisor: Advisor) -> None:
    script = client.get("/static/app.js").text
    questions = advisor.engine.diagnoser.questions
    advice_words = {o.zh for q in questions.values() for o in q.options if len(o.zh) >= 3}
    advice_words |= {label.zh for label in advisor.taxonomy.sections["channels"].values()}
    advice_words |= set(advisor.taxonomy.codes("channels")) | set(questions)
    assert len(advice_words) > 40
    assert sorted(word for word in advice_words if word in script) == []


def test_document_page_links_related_documents_by_title(
    client: TestClient, advisor: Advisor
) -> None:
    page = client.get("/v1/docs/jiebei?format=html").text
    body = advisor.documents["jiebei"].body
    mentioned = set(re.findall(r"`([a-z0-9-]+)`", body)) & set(advisor.documents)
    assert {"apr-disclosure", "fraud-warning", "huabei"} <= mentioned
    links = dict(re.findall(r'<a class="doc-link" href="([^"]+)">([^<]+)</a>', page))
    assert {f"/v1/docs/{d}?format=html" for d in mentioned} == set(links)
    for doc_id in mentioned:
        assert links[f"/v1/docs/{doc_id}?format=html"] == html.escape(
            advisor.documents[doc_id].title
        )
        assert f"`{doc_id}`" not in page and f"<code>{doc_id}</code>" not in page
    assert "相关渠道：金融科技消费信贷、持牌消费金融公司" in page
    assert "fintech_consumer_credit" not in page and "platform_risk_policy" not in page
    for href in links:  # every link opens a page
        assert client.get(href).status_code == 200


def test_pii_masked_in_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO"):
        client.post("/v1/chat", json={"message": "我手机13812345678，借呗没额度"})
    assert "13812345678" not in caplog.text


def test_real_uvicorn(advisor: Advisor) -> None:
    port = free_port()
    config = uvicorn.Config(create_app(advisor.settings, advisor=advisor), host="127.0.0.1", port=port,
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, what="uvicorn"
        )
        with httpx.stream(
            "POST", f"{base}/v1/chat/stream", json={"message": "网商贷被拒了"}, timeout=30
        ) as r:
            assert r.status_code == 200
            body = "".join(r.iter_text())
        assert sse_events(body)[-1][0] == "turn"
        assert httpx.get(f"{base}/", timeout=5).text.lower().startswith("<!doctype html")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_chunked_oversized_body_is_413(client: TestClient) -> None:
    def chunks():  # no content-length: the limit is enforced while reading
        for _ in range(300):
            yield b"x" * 1024

    response = client.post(
        "/v1/chat", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and "larger than" in response.json()["error"]
