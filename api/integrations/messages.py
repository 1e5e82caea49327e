"""Every text the chat-platform adapters show to users or callers, in one place."""

from __future__ import annotations

THINKING = "正在分析…"
HELP = (
    "我是融资顾问：说说你被拒或降额的情况（平台、芝麻分、有没有逾期、需要多少钱），"
    "我来分析原因并推荐合法的融资渠道。例如：借呗没额度，芝麻分580。"
)
HELP_WORDS = frozenset({"", "help", "帮助", "?", "？"})
RESET_WORDS = frozenset({"reset", "重新开始"})
RESET_DONE = "已清空这段对话，重新说说你的情况吧。"
TEXT_ONLY = "目前只能读文字消息：请用文字描述你的情况。"
FAILED = "抱歉，顾问暂时出了问题：请稍后再发一次。"
UNAUTHORIZED = "The request could not be verified; check the platform's signing settings."
NOT_JSON = "The request body is not valid JSON; send the platform's JSON event."
NOT_SLACK_SHAPE = "The request body does not have the shape of a Slack event or command; send Slack's own payload."
NO_ENCRYPT_KEY = (
    "The event is encrypted but no Feishu encrypt key is set; set FINADVISOR_FEISHU_ENCRYPT_KEY."
)
DINGTALK_TITLE = "融资顾问"

RECOMMENDATION_LABELS = {
    "zh": {"apr": "年化利率：", "speed": "到账速度：", "sources": "来源：", "separator": "｜"},
    "en": {"apr": "APR: ", "speed": "Speed: ", "sources": "Sources: ", "separator": " | "},
}

REPLY_CHOICES = {"zh": "可以直接回复：", "en": "You can reply: "}
"""Before a follow-up's choices where a platform shows text only (the labels follow)."""
CHOICE_SEPARATOR = {"zh": " / ", "en": " / "}

CHOSEN = {"zh": "已选择：{label}", "en": "Chosen: {label}"}
"""What a used follow-up card or message shows instead of its buttons."""
NOT_A_CHOICE = (
    "The card action is not a press of one of the advisor's follow-up buttons; "
    "press a button on a card the advisor sent."
)
CHOICE_TOO_LONG = "The card action's value holds a text longer than {limit} characters; press a button on a card the advisor sent."
CHOICE_REPLAYED = "This button press was already handled; press a button on the newest card."
CHOICE_UNKNOWN_SESSION = "The conversation of this card is no longer known; send the advisor a new message to start again."
CHOICE_ANSWERED = "This question was already answered; answer the question on the newest card."
