"""Meaning models: fitting, caching, calibrated outputs, and the classify stage's combination rule."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.classify import NONE, Meaning, MeaningModel, data_hash, load_meaning_model, load_utterances
from bot.context import TurnContext
from bot.engine import Engine
from bot.pipeline import classify, guard, run
from core.settings import PACKAGE_KNOWLEDGE_DIR

from .conftest import understanding

TRAINING = PACKAGE_KNOWLEDGE_DIR / "training"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    """A slice of the shipped training data: enough to fit in a second or two."""
    return load_utterances(TRAINING)[::25]


@pytest.fixture(scope="module")
def model(rows: list[dict[str, Any]]) -> MeaningModel:
    return MeaningModel.fit(rows)


def test_the_shipped_training_data_is_large_and_varied() -> None:
    data = load_utterances(TRAINING)
    assert len(data) >= 3000
    registers = {r["register"] for r in data}
    assert {"colloquial", "forum", "news", "question_title", "english", "mixed"} <= registers


def test_fitting_is_deterministic(rows: list[dict[str, Any]], model: MeaningModel) -> None:
    again = MeaningModel.fit(rows)
    assert np.array_equal(again.weights, model.weights)
    assert np.array_equal(again.calibration, model.calibration)


def test_probabilities_are_probabilities(model: MeaningModel) -> None:
    (meaning,) = model.predict(["借呗有入口没额度，征信花了，想借五万进货"])
    for head, probabilities in meaning.single.items():
        assert abs(sum(probabilities.values()) - 1) < 1e-6, head
    for probabilities in meaning.multi.values():
        assert all(0 <= p <= 1 for p in probabilities.values())
    assert model.predict([]) == []


def test_a_clear_case_is_read(model: MeaningModel) -> None:
    (meaning,) = model.predict(["征信花了，最近查询太多，网贷都申请不下来"])
    assert max(meaning.multi["hints"], key=meaning.multi["hints"].__getitem__) == (
        "frequent_inquiries"
    )


def _write(folder: Path, rows: Iterable[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    (folder / "part.jsonl").write_text(lines + "\n", encoding="utf-8")


def test_cached_and_refitted_when_the_data_changes(
    rows: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    training, cache = tmp_path / "training", tmp_path / "cache"
    _write(training, rows)
    first = load_meaning_model(training, cache)
    assert first is not None and first.fingerprint == data_hash(rows)

    def no_fit(_rows: object) -> MeaningModel:
        raise AssertionError("the cached model should have been used")

    monkeypatch.setattr(MeaningModel, "fit", staticmethod(no_fit))
    assert load_meaning_model(training, cache) is not None
    monkeypatch.undo()
    _write(training, rows[:-1])
    changed = load_meaning_model(training, cache)
    assert changed is not None and changed.fingerprint == data_hash(rows[:-1])
    assert len(list(cache.glob("meaning-*.pkl"))) == 1  # the stale fit is gone


def test_no_training_data_means_no_model(tmp_path: Path) -> None:
    assert load_meaning_model(tmp_path / "none", tmp_path / "cache") is None


class FixedMeaning:
    """A meaning model that predicts the same probabilities for every text."""

    def __init__(self, single: dict[str, dict[str, float]], multi: dict[str, dict[str, float]]):
        self.meaning = Meaning(single=single, multi=multi)

    def predict(self, texts: Iterable[str]) -> list[Meaning]:
        return [self.meaning for _ in texts]


def _heads(**overrides: dict[str, float]) -> dict[str, dict[str, float]]:
    heads = {h: {NONE: 1.0} for h in ("intent", "segment", "purpose", "overdue")}
    heads["intent"] = {"diagnose": 1.0}
    return {**heads, **overrides}


def _with(
    engine: Engine, single: dict[str, dict[str, float]], multi: dict[str, dict[str, float]]
) -> Engine:
    return dataclasses.replace(engine, meaning=FixedMeaning(single, multi))  # type: ignore[arg-type]


def test_classify_fills_only_what_the_rules_left_empty(engine: Engine) -> None:
    single = _heads(segment={"sme": 0.9, NONE: 0.1}, purpose={"inventory": 0.55, NONE: 0.45})
    e = _with(engine, single, {"hints": {"thin_file": 0.8}, "warnings": {}})
    ctx = TurnContext(text="开了家小饭馆，平时不怎么用信用卡", understanding=understanding(
        facts={"segment": "sole_proprietor"}))  # fmt: skip
    after = classify(ctx, e).understanding
    assert after.facts["segment"] == "sole_proprietor"  # the rules' fact wins
    assert "need_purpose" not in after.facts  # 0.55 is below the fill threshold
    assert "thin_file" not in after.hints  # a model reading is a guess, not a finding
    assert after.guesses["thin_file"] in {"开了家小饭馆", "平时不怎么用信用卡"}  # user words


def test_classify_fills_and_repay_debt_means_borrowing_to_repay(engine: Engine) -> None:
    e = _with(engine, _heads(purpose={"repay_debt": 0.9, NONE: 0.1}), {"hints": {}, "warnings": {}})
    after = classify(TurnContext(text="拆东墙补西墙，下个月又要还"), e).understanding
    assert after.facts["need_purpose"] == "repay_debt"
    assert after.facts["borrowing_to_repay"] is True


def test_classify_never_takes_over_unsafe_or_cost(engine: Engine) -> None:
    e = _with(engine, _heads(intent={"ask_product": 0.99}), {"hints": {}, "warnings": {}})
    for intent in ("unsafe", "compute_cost"):
        ctx = TurnContext(text="怎么套现", understanding=understanding(intent=intent))
        assert classify(ctx, e).understanding.intent == intent
    ctx = TurnContext(text="这个怎么申请", understanding=understanding(intent="diagnose"))
    assert classify(ctx, e).understanding.intent == "ask_product"


def test_predicted_warnings_reach_the_guard_once(engine: Engine) -> None:
    e = _with(engine, _heads(), {"hints": {}, "warnings": {"scam_risk": 0.9, "debt_spiral": 0.2}})
    ctx = run(TurnContext(text="有人说交三千保证金就能下款"), e)
    codes = [w.code for w in ctx.warnings]
    assert codes.count("scam_risk") == 1  # phrase and model agree: one warning
    assert "debt_spiral" not in codes  # below the threshold
    assert guard(classify(TurnContext(text="好的"), e), e).warnings[0].code == "scam_risk"


def test_a_guess_is_ranked_as_a_possibility_only_when_something_was_refused(
    engine: Engine,
) -> None:
    from bot.profile import Profile

    diagnoser = engine.diagnoser
    refused = Profile(platform="jiebei", symptom="limit_cut", guesses={"high_debt": "卡都用满了"})
    reasons = {r.code: r for r in diagnoser.diagnose(refused, refused.hints)}
    assert reasons["high_debt"].confidence == diagnoser.guess_confidence
    assert reasons["high_debt"].evidence == "卡都用满了"
    assert diagnoser.is_possibility(reasons["high_debt"])
    asked_only = Profile(guesses={"high_debt": "卡都用满了"})
    assert diagnoser.diagnose(asked_only, asked_only.hints) == []


def test_classify_never_overrides_what_the_user_said_earlier(engine: Engine) -> None:
    from bot.profile import Profile

    e = _with(engine, _heads(segment={"sme": 0.95, NONE: 0.05}), {"hints": {}, "warnings": {}})
    earlier = Profile(segment="sole_proprietor")
    after = classify(TurnContext(text="想借20万进货，纳税B级", previous=earlier), e)
    assert "segment" not in after.understanding.facts


class DilutingMeaning:
    """Reads debt_spiral in a text that says 借新还旧, but only in a short one (as a model fitted
    on sentence-long utterances does: a long post dilutes the words), and nothing else."""

    def predict(self, texts: Iterable[str]) -> list[Meaning]:
        def spiral(text: str) -> float:
            return 0.9 if "借新还旧" in text and len(text) < 20 else 0.1

        return [Meaning(single=_heads(), multi={"hints": {}, "warnings": {"debt_spiral": spiral(t)}})
                for t in texts]  # fmt: skip


def test_a_trigger_in_one_sentence_of_a_long_post_is_read(engine: Engine) -> None:
    e = dataclasses.replace(engine, meaning=DilutingMeaning())  # type: ignore[arg-type]
    long_post = "今年店里生意一直不好，房租水电都涨了，工人工资也要按时发。现在靠借新还旧撑着。"
    assert classify(TurnContext(text=long_post), e).meaning.multi["warnings"]["debt_spiral"] == 0.9
    # the same words said of a friend are masked before the model reads them
    friend = "我朋友借新还旧。我自己只有一张信用卡"
    assert classify(TurnContext(text=friend), e).meaning.multi["warnings"]["debt_spiral"] == 0.1


def test_a_sure_reason_hint_sets_the_fact_it_amounts_to(engine: Engine) -> None:
    e = _with(engine, _heads(), {"hints": {"account_security": 0.9}, "warnings": {}})
    after = classify(TurnContext(text="前两天账号在外地被登录了，花呗就用不了了"), e).understanding
    assert after.facts["account_anomaly"] is True
    assert after.evidence["account_anomaly"] in {"前两天账号在外地被登录了", "花呗就用不了了"}
    said_no = understanding(facts={"account_anomaly": False})
    ctx = TurnContext(text="我没换过手机，花呗就用不了了", understanding=said_no)
    assert classify(ctx, e).understanding.facts["account_anomaly"] is False  # the rules' value
    unsure = _with(engine, _heads(), {"hints": {"account_security": 0.6}, "warnings": {}})
    assert (
        "account_anomaly"
        not in classify(TurnContext(text="花呗用不了了"), unsure).understanding.facts
    )


def test_no_predicted_debt_spiral_when_the_user_says_they_do_not(engine: Engine) -> None:
    e = _with(engine, _heads(), {"hints": {}, "warnings": {"debt_spiral": 0.9}})
    said_no = understanding(facts={"borrowing_to_repay": False})
    ctx = run(TurnContext(text="我没有以贷养贷，借呗降额了", understanding=said_no), e)
    assert "debt_spiral" not in {w.code for w in ctx.warnings}
