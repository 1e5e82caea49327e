"""User-facing error messages (one sentence each, naming the fix), in zh and en."""

from __future__ import annotations

EMPTY_MESSAGE = {
    "zh": "消息是空的：请输入你遇到的情况或问题。",
    "en": "The message is empty: type your situation or question.",
}
MESSAGE_TOO_LONG = {
    "zh": "消息太长（超过{limit}个字符）：请精简到{limit}个字符以内再发送。",
    "en": "The message is longer than {limit} characters: shorten it and send again.",
}
