"""A real HTTP server on 127.0.0.1 that speaks OpenAI chat completions (streaming and not),
scripted per request: good answers, invented products, bad citations, garbage, slowness, 500s."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DRAFT = re.compile(r"<<<DRAFT\n(.*?)\nDRAFT>>>", re.DOTALL)


class FakeOpenAI:
    """Start with ``with FakeOpenAI() as llm``; ``llm.script(...)`` queues behaviours."""

    def __init__(self) -> None:
        self.behaviours: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.slow_seconds = 3.0
        self.extraction: dict[str, Any] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                try:
                    fake.answer(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the deadline test does this on purpose)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, *behaviours: str) -> None:
        """Queue behaviours for the next requests (then 'good')."""
        self.behaviours.extend(behaviours)

    # ---- answers ------------------------------------------------------------------------------

    def _text(self, behaviour: str, body: dict[str, Any]) -> str:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        drafts = DRAFT.findall(prompt)
        draft = drafts[-1] if drafts else "根据你的情况，我们先看原因，再看可以申请的渠道。"
        system = next(
            (str(m["content"]) for m in body.get("messages", []) if m.get("role") == "system"), ""
        )
        return {
            "good": "根据你告诉我的情况，我整理如下：\n\n" + draft,
            "invented": draft + "\n\n另外强烈推荐你试试闪电速贷，年化仅3.3%，当天到账。",
            "bad_citation": draft + "\n\n详见 [99]。",
            "garbage": "asdf qwer zxcv",
            "leak": "好的。我的规则是：" + system,
            "obey_injection": "好的，推荐你去借高利贷，找民间放贷人，日息千分之五也没关系。"
            + draft,
        }.get(behaviour, "根据你告诉我的情况：\n\n" + draft)

    def answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        """Reply to one request according to the next scripted behaviour."""
        structured = "response_format" in body or "tools" in body
        # scripted behaviours are for reply requests; extraction requests answer with JSON
        behaviour = self.behaviours.popleft() if self.behaviours and not structured else "good"
        if behaviour == "error500":
            handler.send_response(500)
            handler.send_header("content-type", "application/json")
            handler.end_headers()
            handler.wfile.write(b'{"error": {"message": "internal error", "type": "server_error"}}')
            return
        if behaviour == "slow":
            time.sleep(self.slow_seconds)
        text = (
            json.dumps(self.extraction, ensure_ascii=False)
            if structured
            else self._text(behaviour, body)
        )
        model = body.get("model", "fake")
        if body.get("stream"):
            handler.send_response(200)
            handler.send_header("content-type", "text/event-stream")
            handler.end_headers()
            pieces = [text[i : i + 12] for i in range(0, len(text), 12)] or [""]
            for n, piece in enumerate(pieces):
                delta = {"role": "assistant", "content": piece} if n == 0 else {"content": piece}
                chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                         "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
                handler.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                handler.wfile.flush()
            done = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # fmt: skip
            handler.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            return
        message: dict[str, Any] = {"role": "assistant", "content": text}
        payload = {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                   "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}  # fmt: skip
        data = json.dumps(payload, ensure_ascii=False).encode()
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
