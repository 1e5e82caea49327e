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

# ---- the HTTP edge (bilingual: one sentence each, naming the fix) ------------------------------
BODY_TOO_LARGE = (
    "请求内容超过{kb} KB，请缩短后再发（The request body is larger than {kb} KB; send less）。"
)
BODY_TOO_SLOW = "请求内容在{seconds}秒内没有发完，请重新发送（The request body did not arrive within {seconds} seconds; send it again）。"
BODY_NOT_UTF8 = (
    "请求内容不是UTF-8编码，请用UTF-8发送JSON（The request body is not UTF-8; send UTF-8 JSON）。"
)
BODY_BAD_JSON = '请求内容不是有效的JSON，请发送JSON对象（The request body is not valid JSON; send a JSON object such as {"message": "..."}）。'
BODY_TOO_DEEP = "请求内容嵌套超过{depth}层，请发送扁平的JSON（The request body nests deeper than {depth} levels; send flatter JSON）。"
BODY_NUMBER_TOO_LONG = "请求内容里的数字超过{digits}位，请改短（A number in the request body has more than {digits} digits; shorten it）。"
TEXT_INVALID_CHARACTERS = "文字里有无法识别的字符（单独的代理码位），请重新输入（The text holds unpaired surrogate characters; send valid Unicode text）。"
TEXT_NUMBER_TOO_LONG = "文字里有超过{digits}位的数字，请改短后再发（The text holds a number with more than {digits} digits; shorten it）。"
TEXT_NUMERALS_TOO_LONG = "文字里有连续超过{count}个的数字或数字汉字，请分开写或改短（The text holds a run of more than {count} numerals; split it up or shorten it）。"
UNKNOWN_SESSION = "没有这个会话，请不带 session_id 重新开始（No such session; omit session_id to start a new one）。"
API_KEY_REQUIRED = "需要API密钥，请在 Authorization: Bearer 头里带上（An API key is required; send it as Authorization: Bearer KEY）。"
OPENAI_TOO_MANY_MESSAGES = "messages 超过{limit}条，请只发送最近的对话（'messages' holds more than {limit} messages; send only the recent ones）。"
OPENAI_TOO_MANY_CHARS = "messages 里的用户消息共超过{limit}个字符，请只发送最近的对话（The user messages hold more than {limit} characters; send only the recent ones）。"
RATE_LIMITED = (
    "请求太频繁，请等{retry}秒后再试（Too many requests; wait {retry} seconds and try again）。"
)
