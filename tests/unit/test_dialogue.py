"""Dialogue acts, the direct answer first, and later turns showing only what changed."""

from __future__ import annotations

import pytest

from bot.context import Passage, TurnContext
from bot.engine import Engine
from bot.mentions import pieces
from bot.pipeline import run
from bot.respond import sentences
from tests.unit.conftest import understanding


def _turns(engine: Engine, *texts: str) -> list[TurnContext]:
    done: list[TurnContext] = []
    for text in texts:
        before = done[-1] if done else None
        start = TurnContext(
            text=text,
            previous=before.profile if before else TurnContext(text="").profile,
            dialogue_before=before.dialogue if before else TurnContext(text="").dialogue,
        )
        done.append(run(start, engine))
    return done


@pytest.mark.parametrize(
    ("text", "kind", "question"),
    [
        ("借呗有入口没额度，芝麻分650", "gives_facts", None),
        ("说错了，是三年不是五年", "corrects", None),
        ("总结一下", "summary", None),
        ("so what should I do?", "summary", None),
        ("跳过", "skip", None),
        ("大概多久能放款", "asks", "speed"),
        ("税贷一般能批多少", "asks", "amount"),
        ("税贷和抵押贷哪个划算", "asks", "compare"),
        ("被骗了两万，钱还能要回来吗", "asks", "fraud_recovery"),
        ("催收天天打电话给我家人，能协商分期吗", "asks", "collection_negotiation"),
        ("What's the interest rate of a tax loan?", "asks", "cost"),
        ("需要准备什么材料", "asks", "materials"),
    ],
)  # fmt: skip
def test_acts(engine: Engine, text: str, kind: str, question: str | None) -> None:
    act = engine.acts.read(text, engine.understander.understand(text))
    assert (act.kind, act.question) == (kind, question)


def test_a_question_is_answered_first_from_the_catalog(engine: Engine) -> None:
    first, amount, speed = _turns(
        engine,
        "开建材店的个体户，网商贷被降额了",
        "那要是去银行办税贷一般能批多少",
        "大概多久能放款",
    )
    tax_loan = engine.knowledge.catalog.product("big-bank-tax-loan")
    assert amount.reply.startswith(f"**{tax_loan.name}**的额度")
    # the product named last stays in focus for the next question
    assert speed.reply.startswith(f"**{tax_loan.name}**的到账速度")
    assert "[1]" in speed.reply.splitlines()[0]
    assert speed.citations[0].doc_id == tax_loan.doc_id


def test_a_comparison_answers_point_by_point(engine: Engine) -> None:
    (ctx,) = _turns(engine, "税贷和抵押贷哪个划算")
    head = ctx.reply.split("\n\n")[0]
    for row in ("成本", "速度", "适合谁", "材料"):
        assert f"| {row} |" in head
    assert "房产抵押经营贷" in head and "税贷" in head


def test_later_turns_show_only_what_changed(engine: Engine) -> None:
    first, facts, question, summary = _turns(
        engine,
        "开建材店的个体户，网商贷被降额了",
        "店开了四年了 一年营业额一百五十万左右 一直都有开票",
        "大概多久能放款",
        "总结一下",
    )
    assert first.view == "full" and "**可能的原因**" in first.reply
    assert facts.view == "delta" and facts.reply.startswith("记下了：")
    assert "经营年限：4年" in facts.reply and "年营业额：150万元" in facts.reply
    assert "**可以考虑的渠道**" not in question.reply  # nothing changed: no cards again
    assert len(question.reply) < len(first.reply) / 2
    assert summary.view == "full" and "**可以考虑的渠道**" in summary.reply


def test_a_statement_is_not_answered_with_not_covered(engine: Engine) -> None:
    (ctx,) = _turns(engine, "每个月微信支付宝收款加起来七八万")
    assert engine.knowledge.template("zh", "not_covered_short") not in ctx.reply


def test_a_passage_answer_is_whole_sentences_without_markdown_debris() -> None:
    text = "| 项目 | 说明 |\n| --- | --- |\n- **要点**：逾期记录自还清之日起保存5年。\n更正只适用于错误记录"
    assert sentences(text) == "要点：逾期记录自还清之日起保存5年。更正只适用于错误记录。"


def test_a_question_without_an_answer_says_so_briefly(engine: Engine) -> None:
    ctx = run(
        TurnContext(text="量子物理是什么", understanding=understanding(intent="ask_product")),
        engine,
    )
    assert ctx.passages is not None
    if not ctx.passages:
        assert ctx.reply.startswith(engine.knowledge.template("zh", "not_covered_short"))


def test_an_answer_from_a_passage_is_cited_first(engine: Engine) -> None:
    passage = Passage("overdue-impact", "是什么", "逾期", "逾期记录自还清之日起保存5年。")
    ctx = TurnContext(text="逾期记录会留多久", passages=(passage,))
    act = engine.acts.read(ctx.text, engine.understander.understand(ctx.text))
    answer = engine.responder.answer(TurnContext(text=ctx.text, passages=(passage,), act=act))
    assert answer is not None and answer.anchors == ("overdue-impact#是什么",)
    assert answer.text == "逾期记录自还清之日起保存5年。"


def test_an_out_of_range_value_is_not_a_fact_and_loses_nothing() -> None:
    from bot.profile import Profile

    before = Profile(zhima_score=650, evidence={"zhima_score": "芝麻分650"})
    after = before.merged({"zhima_score": 1, "overdue": "none"}, {"zhima_score": "一下"})
    assert after.zhima_score == 650 and after.evidence["zhima_score"] == "芝麻分650"
    assert after.overdue == "none"


def test_a_number_in_a_reply_to_the_score_question_does_not_break_the_turn(
    engine: Engine,
) -> None:
    from bot.profile import Dialogue

    ctx = run(
        TurnContext(text="信用卡一下还不上 能跟银行协商分期吗",
                    dialogue_before=Dialogue(asked=("zhima_score",))),
        engine,
    )  # fmt: skip
    assert ctx.profile.zhima_score is None and ctx.reply


def test_why_before_anything_was_refused_asks_what_happened(engine: Engine) -> None:
    (why,) = _turns(engine, "why?")
    assert why.act is not None and why.act.question == "why_refused"
    assert why.answer is not None and why.reply.startswith(why.answer.text)
    assert "what happened" in why.answer.text  # not an empty body, not "not covered"


def test_where_to_borrow_in_a_debt_spiral_says_no_new_loan_first(engine: Engine) -> None:
    _, where = _turns(
        engine,
        "我现在借了十几个口子，每个月还款比工资还多，拆东墙补西墙",
        "还有没有能下款的口子",
    )
    assert where.answer is not None and "不建议再找新的借款" in where.answer.text
    assert where.reply.startswith(where.answer.text.split("：")[0])
    assert all(r.channel == "credit_improvement" for r in where.recommendations[:2])


@pytest.mark.parametrize(
    ("text", "budget", "kept", "dropped"),
    [
        # the clause that asks comes first; the first clause (the topic) and the ones just before
        # the question fill what is left
        ("网商贷额度从二十万砍到三万，店里生意一直还行，流水每个月十来万，上个月还招了人，"
         "老板也没催，现在进货的钱不够了，还有哪些正规渠道能借到钱？",
         30, ["网商贷额度从二十万砍到三万", "还有哪些正规渠道能借到钱？"], ["招了人"]),
        # English counts half a character a letter
        ("I run a small bubble tea shop as a sole proprietor. Ant cut my MYbank loan from 50k to "
         "10k last month. Business is fine. What other options do I have for restocking?",
         48, ["I run a small bubble tea shop", "What other options do I have for restocking?"],
         ["Business is fine"]),
        # no clause asks: the end of the message
        ("我在县城开五金店六七年了 一直流水还行 最近网商贷突然额度清零了 征信也干净 想借二十来万",
         20, ["想借二十来万"], ["五金店"]),
        # one clause longer than the budget: its end
        ("我就是想问问像我这种开了六七年五金店流水一直稳定征信干净的人现在还能去哪里借二十来万",
         12, ["现在还能去哪里借二十来万"], ["五金店"]),
    ],
)  # fmt: skip
def test_focus_keeps_the_question_within_its_size(
    engine: Engine, text: str, budget: float, kept: list[str], dropped: list[str]
) -> None:
    focus = engine.acts.focus(text, budget)
    assert all(words in focus for words in kept), focus
    assert not any(words in focus for words in dropped), focus
    size = sum(1.0 if "\u3400" <= ch <= "\u9fff" else 0.5 for ch in focus)
    assert size <= budget


def test_focus_leaves_a_message_that_fits_as_written(engine: Engine) -> None:
    assert engine.acts.focus("Jiebei shows 0, why?", 64) == "Jiebei shows 0, why?"


def test_pieces_give_the_text_back() -> None:
    text = "花呗降额了，为啥？I paid on time. 但是额度没了 咋整"
    assert "".join(pieces(text)) == text
    assert pieces(text) == ["花呗降额了，", "为啥？", "I paid on time. ", "但是额度没了 ", "咋整"]
