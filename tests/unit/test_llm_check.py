"""``LLMComposer.check``: each rule the model's text must keep (no model is called)."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from bot.knowledge import Knowledge
from bot.llm_compose import LLMComposer
from bot.turn import Citation, Turn
from core.settings import PROMPTS_DIR
from tests.unit.conftest import SHIPPED

DRAFT = (
    "**可能的原因**：平台风控收紧（可信度0.30）。建议保持良好记录，不要反复申请[1]。"
    "可以考虑银行信用卡消费，年化利率以页面为准[2]。"
)
MESSAGE = "借呗开不了，怎么办"
ALLOWED = DRAFT + "\n" + MESSAGE + "\n"
GOOD = "根据你的情况，可能是平台风控收紧，建议保持良好记录，不要反复申请[1]。银行信用卡消费可以考虑[2]。"


@pytest.fixture(scope="module")
def llm(knowledge: Knowledge) -> LLMComposer:
    model = FakeListChatModel(responses=["不会被调用"])
    return LLMComposer(
        model, PROMPTS_DIR, knowledge.catalog, knowledge.taxonomy, deadline=5.0, catalog_dir=SHIPPED
    )


@pytest.fixture
def turn() -> Turn:
    return Turn(
        citations=[
            Citation(n=1, doc_id="limit-cut-remedies", heading="降额后怎么办", title="降额"),
            Citation(n=2, doc_id="credit-card", heading="费用", title="信用卡"),
        ]
    )


def test_a_faithful_rewrite_passes(llm: LLMComposer, turn: Turn) -> None:
    assert llm.check(GOOD, turn, ALLOWED) == []


def test_the_users_own_platform_may_be_named(llm: LLMComposer, turn: Turn) -> None:
    assert llm.check("借呗开不了的话，" + GOOD, turn, ALLOWED) == []


def test_a_catalog_product_not_recommended(llm: LLMComposer, turn: Turn) -> None:
    problems = llm.check(GOOD + "另外可以试试微粒贷。", turn, ALLOWED)
    assert problems == ["提到了未推荐的产品或渠道“微粒贷”"]


def test_an_invented_lender(llm: LLMComposer, turn: Turn) -> None:
    problems = llm.check(GOOD + "推荐闪电速贷。", turn, ALLOWED)
    assert len(problems) == 1
    assert problems[0].startswith("提到了结论中没有的机构或产品")
    assert "闪电速贷" in problems[0]


def test_an_unknown_citation_number(llm: LLMComposer, turn: Turn) -> None:
    problems = llm.check(GOOD + "详见[3]和[7]。", turn, ALLOWED)
    assert problems == [
        "引用标记 [3] 不存在，只能使用 [1, 2]",
        "引用标记 [7] 不存在，只能使用 [1, 2]",
    ]


def test_a_percentage_not_in_the_result(llm: LLMComposer, turn: Turn) -> None:
    problems = llm.check(GOOD + "年化仅3.3%。", turn, ALLOWED)
    assert problems == ["数字 3.3% 不在结构化结论或资料中，不能使用"]


def test_a_percentage_from_the_passages_is_allowed(llm: LLMComposer, turn: Turn) -> None:
    allowed = ALLOWED + "民间借贷超过24%属于高成本。"
    assert llm.check(GOOD + "超过24%就算高成本。", turn, allowed) == []


def test_a_percentage_must_match_whole(llm: LLMComposer, turn: Turn) -> None:
    allowed = ALLOWED + "年化利率约124%。"
    assert llm.check(GOOD + "年化24%。", turn, allowed) == [
        "数字 24% 不在结构化结论或资料中，不能使用"
    ]


def test_a_prompt_leak(llm: LLMComposer, turn: Turn) -> None:
    rules = llm.system.split("必须遵守：")[1].strip().split("\n")[0]
    problems = llm.check(GOOD + "我的规则是：" + rules, turn, ALLOWED + rules)
    assert problems == ["回复泄露了系统指令"]


@pytest.mark.parametrize(
    "text", ["", "   ", "好的。", "asdf qwer zxcv asdf qwer zxcv", "OK OK OK OK OK OK OK 好的好的"]
)
def test_empty_or_garbled_text(llm: LLMComposer, turn: Turn, text: str) -> None:
    assert llm.check(text, turn, ALLOWED) == ["回复为空或不是有效的中文正文"]


def test_english_text_is_fine_for_an_english_turn(llm: LLMComposer) -> None:
    turn = Turn(lang="en")
    text = "Keep a clean record and do not keep re-applying; the platform tightened."
    assert llm.check(text, turn, text) == []
    assert llm.check("ok", turn, "ok") == ["回复为空或不是有效的中文正文"]


def test_several_problems_are_all_reported(llm: LLMComposer, turn: Turn) -> None:
    problems = llm.check(GOOD + "微粒贷年化3.3%[9]。", turn, ALLOWED)
    assert problems == [
        "引用标记 [9] 不存在，只能使用 [1, 2]",
        "数字 3.3% 不在结构化结论或资料中，不能使用",
        "提到了未推荐的产品或渠道“微粒贷”",
    ]


def test_known_names_include_products_and_channel_labels(
    llm: LLMComposer, knowledge: Knowledge
) -> None:
    assert "微粒贷" in llm.known_names
    assert knowledge.taxonomy.label("channels", "credit_card", "zh") in llm.known_names
    assert llm.known_names == sorted(llm.known_names, key=len, reverse=True)
