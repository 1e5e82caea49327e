"""One turn as a tuple of named stages, each ``(TurnContext, Engine) -> TurnContext``.

understand -> classify -> extract -> answer -> merge -> route -> diagnose -> recommend -> guard -> follow_up
-> retrieve -> cite -> compose -> polish. A short turn (greeting, thanks, out of scope) runs only
the stages marked ``short``. No stage changes another's objects: each returns a new context.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from knowledge.rules import Policy

from .acts import QUESTION_KINDS, DialogueAct
from .answers import answer_pending
from .citations import Numbering, Resolver
from .classify import Meaning
from .context import Passage, TurnContext, View
from .corrections import COUNTS, bare_correction, recount
from .engine import Engine
from .followup import choose_follow_up, missing_fields
from .observe import TurnObserver
from .policy import lenders_allowed
from .respond import recorded
from .turn import INTENTS, Act, Reason, Recommendation, Turn
from .understand import language
from .understanding import EVIDENCE_MAX, Draft

StageFn = Callable[[TurnContext, Engine], TurnContext]
_Cited = TypeVar("_Cited", Reason, Recommendation)
_ADVISING = frozenset({"diagnose", "find_financing"})
DENSE_QUERY_SIZE = 64.0
"""How much of a long question the retrieve stage embeds (``ActReader.focus``; Chinese
characters, others half): a query embedding costs about 1 ms a character on one core, while BM25
reads the whole message for next to nothing. Set on the own and dev retrieval sets, never the
held-out one: hybrid MRR 0.916 / 0.933 embedding everything, 0.916 / 0.930 at 64, 0.913 / 0.920
at 48, 0.921 / 0.893 at 32."""


@dataclass(frozen=True)
class Stage:
    """A named step of the turn; ``short`` stages also run on the short route."""

    name: str
    run: StageFn
    short: bool = False
    optional: bool = False
    """Skipped once the turn has used its time budget (``Engine.turn_budget``)."""


def understand(ctx: TurnContext, engine: Engine) -> TurnContext:
    """Facts, hints, intent and language of the message, by the rules; a message without
    letters keeps the language of the conversation."""
    understood = engine.understander.understand(ctx.text)
    lang = language(ctx.text) or ctx.dialogue_before.lang or understood.lang
    return dataclasses.replace(ctx, understanding=dataclasses.replace(understood, lang=lang))


def classify(ctx: TurnContext, engine: Engine) -> TurnContext:
    """Meaning models fill what the rules left empty: segment, purpose, overdue status, guesses.

    The rules' facts always win. A model's label is used only above the thresholds of
    ``policy.yaml: meaning``; its evidence is the clause the model is surest of, in the user's
    own words. A reason the model reads is a guess: the diagnosis ranks it as a possibility
    (``diagnosis.yaml: guess_confidence``), never as a finding. The model's intent replaces the
    rules' except for unsafe and cost requests, which the rules own. Nothing the user stated in
    an earlier turn is filled over.
    """
    if engine.meaning is None:
        return ctx
    u, th = ctx.understanding, _policy(engine).meaning
    model = engine.meaning
    # the user's own words (others' masked: "我朋友以贷养贷" is no trigger of the user's), read
    # whole, and sentence by sentence for triggers and hints (``Meaning.pooled``)
    cut = engine.understander.own_sentences(ctx.text)
    said = ["，".join(sentence) for sentence in cut]
    whole, *read = model.predict(["。".join(said) or ctx.text, *(said if len(said) > 1 else [])])
    whole = whole.pooled([whole, *read])
    draft = Draft.of(u)
    clauses = [clause for sentence in cut for clause in sentence] or [ctx.text]
    typed = engine.understander.clauses(ctx.text)  # the same clauses as written, for evidence
    quoted = typed if len(typed) == len(clauses) else clauses
    parts: list[Meaning] = []

    def words(head: str, label: str) -> str:
        """The clause the model is surest of (clauses are scored only when a label is used)."""
        if not parts:
            parts.extend(model.predict(clauses) if len(clauses) > 1 else [whole])
        scores = [m.single[head].get(label, 0.0) if head in m.single else m.multi[head].get(
            label, 0.0) for m in parts]  # fmt: skip
        return quoted[int(max(range(len(scores)), key=scores.__getitem__))]

    for head, fact in (("segment", "segment"), ("purpose", "need_purpose"), ("overdue", "overdue")):
        label, p = whole.best(head)
        known = fact in u.facts or getattr(ctx.previous, fact) is not None
        if not known and label is not None and p >= th.fill:  # never over what was said before
            draft.set(fact, label, words(head, label))
    repaying = draft.facts.get("need_purpose") == "repay_debt" and "need_purpose" not in u.facts
    if repaying and "borrowing_to_repay" not in u.facts:
        draft.set("borrowing_to_repay", True, draft.evidence["need_purpose"])
    for code, fact in th.hint_facts.items():
        known = fact in u.facts or getattr(ctx.previous, fact) is not None
        if not known and whole.multi.get("hints", {}).get(code, 0.0) >= th.finding:
            draft.set(fact, True, words("hints", code))
    for code in whole.labels("hints", th.hint):
        if code not in draft.hints:
            draft.guesses[code] = words("hints", code)[:EVIDENCE_MAX]
    label, p = whole.best("intent")
    if label and p >= th.intent and u.intent not in {"unsafe", "compute_cost"}:
        intent = next((i for i in INTENTS if i == label), None)
        if intent is not None and intent not in {"unsafe", "compute_cost"}:
            draft.intent = intent
    return dataclasses.replace(ctx, understanding=draft.freeze(), meaning=whole)


def extract(ctx: TurnContext, engine: Engine) -> TurnContext:
    """With an LLM configured: key facts the rules missed (the rules' facts always win)."""
    u = ctx.understanding
    if engine.llm is None or u.intent in {"small_talk", "out_of_scope", "unsafe"}:
        return ctx
    key = ("segment", "platform", "symptom", "need_purpose")
    known = {**ctx.previous.known(), **u.facts}
    if all(k in known for k in key) or len(ctx.text) < 6:
        return ctx
    found = engine.llm.extract(ctx.text, timeout=engine.llm_extract_timeout)
    fresh = {
        name: value
        for name, value in found.items()
        if name not in u.facts and ctx.previous.known().get(name) is None
    }
    evidence = dict.fromkeys(fresh, f"（模型理解）{ctx.text}")
    return dataclasses.replace(ctx, understanding=u.with_facts(fresh, evidence))


def answer(ctx: TurnContext, engine: Engine) -> TurnContext:
    """The message read as a short answer to the question asked last, if one is pending."""
    pending = ctx.dialogue_before.pending
    if pending is None:
        return ctx
    rules = engine.knowledge.rules.understanding
    question = engine.knowledge.rules.diagnosis.questions.get(pending)
    options = question.options if question is not None else ()
    understood = answer_pending(rules, pending, ctx.text, ctx.understanding, options)
    return dataclasses.replace(ctx, understanding=understood)


def merge(ctx: TurnContext, engine: Engine) -> TurnContext:
    """The profile with this message's facts (corrections win) and the dialogue state."""
    u = ctx.understanding
    facts = dict(u.facts)
    if facts.get("platform") == "bank" and ctx.previous.platform and "symptom" not in facts:
        del facts["platform"]  # "去银行办税贷" names a place to go, not the lender that refused
    evidence = dict(u.evidence)
    if not facts.keys() & set(COUNTS):
        for name, value in recount(ctx.text, ctx.previous).items():
            facts[name] = value  # "刚翻了下，一共七个": the one count the profile holds
            evidence[name] = ctx.text[:EVIDENCE_MAX]
    for name, value in bare_correction(ctx.text, ctx.previous).items():
        facts[name] = value  # "说错了，是三年不是五年": the field that held five years
        evidence[name] = ctx.text[:EVIDENCE_MAX]
    profile = ctx.previous.merged(
        facts,
        evidence,
        dict(u.hints),
        retracted=engine.understander.retracted(facts),
        guesses=dict(u.guesses),
    )
    dialogue = ctx.dialogue_before.skipping_pending() if u.skip else ctx.dialogue_before
    if ctx.lang != (dialogue.lang or "zh"):  # remembered, so that a bare "3" keeps it
        dialogue = dialogue.model_copy(update={"lang": ctx.lang})
    named = tuple(p.id for p in engine.responder.named(ctx.text))
    if named:
        dialogue = dialogue.focusing(named)
    return dataclasses.replace(ctx, profile=profile, dialogue=dialogue)


def route(ctx: TurnContext, engine: Engine) -> TurnContext:
    """Short reply (greeting, thanks, out of scope) or the full path; whether to show advice."""
    u, profile = ctx.understanding, ctx.profile
    if u.intent == "out_of_scope" or (u.intent == "small_talk" and not u.substantive_facts):
        thanks = any(w in ctx.text.lower() for w in ("谢", "thank"))
        key = "out_of_scope" if u.intent == "out_of_scope" else "thanks" if thanks else "greeting"
        # an out-of-scope message writes no facts (a stock tip is not a credit profile)
        profile = ctx.previous if u.intent == "out_of_scope" else profile
        act = DialogueAct("out_of_scope" if u.intent == "out_of_scope" else "small_talk")
        return dataclasses.replace(ctx, route="short", short_reply=key, profile=profile, act=act)
    stated = (
        profile.symptom,
        profile.need_amount,
        profile.need_purpose,
        profile.borrowing_to_repay,
    )
    show = u.intent in {*_ADVISING, "unsafe"} or any(v is not None for v in stated)
    act = _act(ctx, engine)
    if act.kind == "summary":
        show = True
    # after a first full answer, a turn shows what changed; a summary shows everything again
    view: View = "delta" if ctx.dialogue_before.shown and act.kind != "summary" else "full"
    return dataclasses.replace(ctx, route="full", show_diagnosis=show, act=act, view=view)


def _act(ctx: TurnContext, engine: Engine) -> DialogueAct:
    """The dialogue act by the rules; the question kind by the meaning model when it is sure."""
    act = engine.acts.read(ctx.text, ctx.understanding)
    if act.kind != "asks" or ctx.meaning is None:
        return act
    label, p = ctx.meaning.best("question")
    sure = label in QUESTION_KINDS and p >= _policy(engine).meaning.question
    kind = next((k for k in QUESTION_KINDS if k == label), None) if sure else act.question
    return DialogueAct("asks", kind or act.question)


def diagnose(ctx: TurnContext, engine: Engine) -> TurnContext:
    """Ranked reasons with confidence and the user's words."""
    reasons = engine.diagnoser.diagnose(ctx.profile, ctx.profile.hints, ctx.lang)
    show = ctx.show_diagnosis or _personal_finding(ctx, reasons, engine)
    return dataclasses.replace(ctx, reasons=tuple(reasons), show_diagnosis=show)


def _personal_finding(ctx: TurnContext, reasons: Sequence[Reason], engine: Engine) -> bool:
    """A question about the asker's own case whose told facts make a reason a finding."""
    act = ctx.act
    if act is None or act.kind != "asks" or act.question not in _policy(engine).personal_questions:
        return False
    return any(not engine.diagnoser.is_possibility(r) for r in reasons)


def recommend(ctx: TurnContext, engine: Engine) -> TurnContext:
    """Ranked alternatives: eligible products and credit-improvement steps."""
    recs = engine.recommender.recommend(ctx.profile, ctx.reasons, ctx.lang)
    label = engine.knowledge.taxonomy.label
    labelled = (r.model_copy(update={"channel_label": label("channels", r.channel, ctx.lang)})
                for r in recs)  # fmt: skip
    return dataclasses.replace(ctx, recommendations=tuple(labelled))


def guard(ctx: TurnContext, engine: Engine) -> TurnContext:
    """Warnings, a computed APR and, for unsafe requests, a refusal (then only credit steps)."""
    result = engine.guard.check(ctx.text, ctx.understanding, ctx.profile, ctx.lang)
    warnings = list(result.warnings)
    if ctx.meaning is not None:
        predicted = set(ctx.meaning.labels("warnings", _policy(engine).meaning.warning))
        raised = {w.code for w in warnings}
        warnings += engine.guard.from_meaning(predicted, raised, ctx.profile, ctx.lang)
    recs = ctx.recommendations
    if result.refusal_kind is not None:
        recs = tuple(r for r in recs if r.channel == "credit_improvement")
    return dataclasses.replace(ctx, warnings=tuple(warnings), refusal=result.refusal,
                               refusal_kind=result.refusal_kind, apr=result.apr,
                               recommendations=recs)  # fmt: skip


def follow_up(ctx: TurnContext, engine: Engine) -> TurnContext:
    """The one question whose answer would change the ranking most, and what is still unknown."""
    question = None
    dialogue = ctx.dialogue
    if ctx.understanding.intent in _ADVISING and ctx.refusal is None:
        question = choose_follow_up(
            engine.diagnoser, engine.recommender, ctx.profile, dialogue, ctx.lang, engine.replays
        )
        asking = ctx.act is not None and ctx.act.kind == "asks"
        if question is not None and asking and question.field == ctx.dialogue_before.pending:
            question = None  # asked last turn; the user asked something else: do not nag
        if question is not None:
            dialogue = dialogue.asking(question.field)
    missing = tuple(missing_fields(engine.diagnoser, ctx.profile, dialogue))
    return dataclasses.replace(ctx, follow_up=question, dialogue=dialogue, missing=missing)


def retrieve(ctx: TurnContext, engine: Engine) -> TurnContext:
    """For a question about products or rules: passages that also match its words."""
    asking = ctx.act is not None and ctx.act.kind == "asks"
    if ctx.understanding.intent != "ask_product" and not asking:
        return ctx
    # passages as they match by themselves: a document's evidence ranks documents, but would let
    # a common word ("申请") in many of one document's passages vouch for a weak one
    lexical = {h.chunk.chunk_id for h in engine.retriever.search(ctx.text, 10, mode="bm25")}
    if not lexical:  # no passage can pass: the fused search (a query embedding) is not needed
        return dataclasses.replace(ctx, passages=())
    focus = engine.acts.focus(ctx.text, DENSE_QUERY_SIZE)
    hits = engine.retriever.search(ctx.text, 3, mode="fused", dense_query=focus)
    passages = tuple(
        Passage(h.chunk.doc_id, h.chunk.heading, h.chunk.title, h.chunk.text, h.chunk.updated)
        for h in hits
        if h.chunk.chunk_id in lexical
    )
    return dataclasses.replace(ctx, passages=passages)


def respond(ctx: TurnContext, engine: Engine) -> TurnContext:
    """The direct answer to a question: catalog fields, the diagnosis or the best passages."""
    return dataclasses.replace(ctx, answer=engine.responder.answer(ctx))


def cite(ctx: TurnContext, engine: Engine) -> TurnContext:
    """Anchor reasons and recommendations to sections, then number every source in reply order."""
    resolve = Resolver(engine.retriever, engine.knowledge.documents, ctx.text)

    def anchored(items: tuple[_Cited, ...]) -> tuple[_Cited, ...]:
        return tuple(
            item.model_copy(update={"citations": [resolve.anchor(item.doc_id)]})
            if item.doc_id
            else item
            for item in items
        )

    ctx = dataclasses.replace(
        ctx, reasons=anchored(ctx.reasons), recommendations=anchored(ctx.recommendations)
    )
    numbering = Numbering(resolve)
    answer = ctx.answer
    if answer is not None:  # the answer comes first, so do its sources
        anchors = tuple(a if "#" in a else resolve.anchor(a) for a in answer.anchors)
        answer = dataclasses.replace(answer, anchors=anchors)
        numbering.add_all(anchors)
    shown = ctx.visible_recommendations
    numbering.add_all(r.citations[0] for r in ctx.visible_reasons if r.citations)
    numbering.add_all(r.citations[0] for r in shown if r.channel == "credit_improvement")
    numbering.add_all(r.citations[0] for r in shown if r.citations)
    for passage in ctx.passages or ():
        numbering.add_passage(passage)
    return dataclasses.replace(
        ctx,
        answer=answer,
        citations=tuple(numbering.items),
        markers=MappingProxyType(dict(numbering.markers)),
    )


def compose(ctx: TurnContext, engine: Engine) -> TurnContext:
    """The reply body from the templates (a short reply is one template)."""
    composer = engine.composer
    if ctx.route == "short":
        text = composer.text(ctx.lang, ctx.short_reply or "greeting")
        return dataclasses.replace(ctx, draft=text, reply=text)
    lead = ctx.refusal
    if ctx.understanding.skip and ctx.dialogue_before.asked:
        lead = composer.text(ctx.lang, "skip_ack")
    act = ctx.act
    asked = act.kind == "asks" if act else ctx.understanding.intent == "ask_product"
    unanswered = asked and ctx.answer is None
    if unanswered and not ctx.passages and lead is None:
        advised = act is not None and act.question in {"why_refused", "where_to_borrow"}
        if not (advised and ctx.shown_recommendations):  # the advice itself answers those
            lead = composer.text(ctx.lang, "not_covered_short")
    allowed = lenders_allowed(_policy(engine), ctx.profile)
    noted = recorded(ctx, engine.knowledge)
    draft = composer.compose(ctx, lead, allowed, noted)
    dialogue = ctx.dialogue.showing(ctx.shown_items()) if ctx.show_diagnosis else ctx.dialogue
    return dataclasses.replace(ctx, draft=draft, dialogue=dialogue)


def polish(ctx: TurnContext, engine: Engine) -> TurnContext:
    """With an LLM: the body rewritten and checked; then the sources and disclaimer appended."""
    body, llm = ctx.draft, None
    if engine.llm is not None and not ctx.over_budget:
        snippets = [p.text for p in ctx.passages or ()]
        body, outcome = engine.llm.compose(ctx.text, to_turn(ctx), ctx.draft, snippets)
        llm = MappingProxyType({"used": outcome.used, "attempts": outcome.attempts,
                                "violations": outcome.violations, "error": outcome.error})  # fmt: skip
    tail = engine.composer.tail(ctx)
    reply = "\n\n".join(part for part in (body, tail) if part)
    return dataclasses.replace(ctx, reply=reply, llm=llm)


def _policy(engine: Engine) -> Policy:
    return engine.knowledge.rules.policy


PIPELINE: tuple[Stage, ...] = (
    Stage("understand", understand, short=True),
    Stage("classify", classify, short=True),
    Stage("extract", extract, short=True),
    Stage("answer", answer, short=True),
    Stage("merge", merge, short=True),
    Stage("route", route, short=True),
    Stage("diagnose", diagnose),
    Stage("recommend", recommend),
    Stage("guard", guard),
    Stage("follow_up", follow_up),
    Stage("retrieve", retrieve, optional=True),
    Stage("respond", respond),
    Stage("cite", cite),
    Stage("compose", compose, short=True),
    Stage("polish", polish),
)


def run(
    ctx: TurnContext,
    engine: Engine,
    stages: tuple[Stage, ...] = PIPELINE,
    observer: TurnObserver | None = None,
) -> TurnContext:
    """Run the stages in order (only the short ones once the route is short).

    A turn has a time budget: once it is spent, optional stages are skipped and the LLM is not
    called, so a costly message still gets the template answer in bounded time. With an
    ``observer``, each stage that ran is reported with its duration.
    """
    clock = time.monotonic
    deadline = clock() + engine.turn_budget
    for stage in stages:
        if ctx.route == "short" and not stage.short:
            continue
        started = clock()
        if started > deadline and (stage.optional or stage.name == "polish"):
            ctx = dataclasses.replace(ctx, over_budget=True)
            if stage.optional:
                continue
        ctx = stage.run(ctx, engine)
        if observer is not None:
            observer.stage_finished(stage.name, clock() - started)
    return ctx


def to_turn(ctx: TurnContext, session_id: str = "") -> Turn:
    """The structured result every interface renders."""
    return Turn(
        session_id=session_id,
        intent=ctx.understanding.intent,
        lang="en" if ctx.lang == "en" else "zh",
        reply=ctx.reply,
        profile=ctx.profile,
        dialogue=ctx.dialogue,
        reasons=list(ctx.shown_reasons),
        recommendations=list(ctx.shown_recommendations),
        warnings=list(ctx.warnings),
        missing=list(ctx.missing),
        citations=list(ctx.citations),
        follow_up=ctx.follow_up,
        apr=ctx.apr.as_dict() if ctx.apr else None,
        llm=dict(ctx.llm) if ctx.llm is not None else None,
        view=ctx.view,
        act=Act(kind=ctx.act.kind, question=ctx.act.question) if ctx.act else None,
    )
