"""Understanding Chinese as users write it: facts, hints (reason codes), intent and language.

All vocabulary lives in ``knowledge/understanding.yaml`` (typed as ``UnderstandingRules``); this
module only applies it: phrase matching per clause with scoped negation (``bot.negation``), the
overdue status from aspect and time (``bot.overdue``), numbers found once with unit and kind and
given a field by cue words (``bot.mentions``, ``bot.roles``), and intent priority. The pass fills
a private draft and returns a frozen ``Understanding``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, cached_property, lru_cache
from typing import Any, Literal

from knowledge.rules import Policy, UnderstandingRules

from .matcher import Matcher, Table
from .mentions import find_mentions, masked, sentences
from .negation import NegationScope
from .overdue import OverdueReader
from .roles import RoleAssigner
from .turn import Intent
from .understanding import EVIDENCE_MAX, Draft, Understanding

__all__ = ["Draft", "Understander", "Understanding", "language"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def language(text: str) -> Literal["zh", "en"] | None:
    """The one language detector of a turn: English when Latin letters outnumber Chinese
    characters more than two to one, else Chinese; None for a message without letters (3, 2万
    counts as Chinese), which keeps the conversation's language."""
    latin, cjk = len(_LATIN.findall(text)), len(_CJK.findall(text))
    if latin + cjk == 0:
        return None
    return "en" if latin > 2 * cjk else "zh"


class Understander:
    """Applies the phrase tables of ``understanding.yaml`` to a message."""

    def __init__(self, rules: UnderstandingRules, policy: Policy) -> None:
        self.rules = rules
        self.policy = policy
        self.negation = NegationScope(
            [n.lower() for n in rules.negators],
            rules.negation_exceptions,
            rules.negation_boundaries,
        )
        self.overdue = OverdueReader(rules.overdue, self.negation)
        self.roles = RoleAssigner(
            rules.number_roles, rules.number_exceptions, rules.number_conditions
        )

    @cached_property
    def _sources(self) -> dict[str, dict[Any, list[str]]]:
        sources: dict[str, dict[Any, list[str]]] = {}
        for section in ("platforms", "symptoms", "segments", "purposes", "collateral", "hints",
                        "urgency", "intents", "parties", "merchants", "residency"):  # fmt: skip
            sources[section] = dict(getattr(self.rules, section))
        for name, values in self.rules.booleans.items():
            sources[f"bool:{name}"] = dict(values)
        sources["misc"] = {
            "no_collateral": self.rules.no_collateral,
            "skip": self.rules.skip_phrases,
            "regions": self.rules.regions,
            "buyer_cue": self.rules.buyer_cues,
            "employer_cue": self.rules.employer_cues,
            "entry_shown": self.rules.entry_shown,
        }
        return sources

    @cached_property
    def _tables(self) -> dict[str, Table]:
        return {section: Table(table) for section, table in self._sources.items()}

    @cached_property
    def _tax(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.rules.tax_rating]

    # ---- helpers ---------------------------------------------------------------------------

    @cached_property
    def _scan(self) -> Callable[[str], dict[str, dict[Any, list[tuple[int, int]]]]]:
        """Every table at once over one clause: section -> code -> spans; cached per clause."""
        combined = Table({
            (section, code): phrases
            for section, table in self._sources.items()
            for code, phrases in table.items()
        })  # fmt: skip
        order = {key: i for i, key in enumerate(combined.codes)}

        def scan(clause: str) -> dict[str, dict[Any, list[tuple[int, int]]]]:
            grouped: dict[str, dict[Any, list[tuple[int, int]]]] = {}
            for key, spans in sorted(combined.find(clause).items(), key=lambda kv: order[kv[0]]):
                grouped.setdefault(key[0], {})[key[1]] = spans
            return grouped

        return lru_cache(maxsize=4096)(scan)

    def _hits(self, section: str, clause: str) -> dict[Any, list[tuple[int, int, bool]]]:
        """Code -> (start, end, negated) of each phrase of ``section`` in ``clause``."""
        found = self._scan(clause).get(section, {})
        negated = self.negation.negated
        return {
            code: [(s, e, negated(clause, s)) for s, e in spans] for code, spans in found.items()
        }

    def _said(self, section: str, clause: str) -> list[Any]:
        """Codes of ``section`` said in ``clause`` and not negated, in table order."""
        hits = self._hits(section, clause)
        return [code for code, spans in hits.items() if any(not neg for _, _, neg in spans)]

    def retracted(self, facts: dict[str, Any]) -> set[str]:
        """Hints that facts of this message contradict (a correction drops the old hint)."""
        dropped: set[str] = set()
        for name, by_value in self.rules.retractions.items():
            if name in facts:
                dropped.update(by_value.get(facts[name], []))
        return dropped

    @staticmethod
    def clauses(text: str) -> list[str]:
        """The message cut into clauses (negation never crosses a clause)."""
        return [clause for sentence in sentences(text) for clause in sentence]

    def own_sentences(self, text: str) -> list[list[str]]:
        """The message's sentences (lower-cased, typos mended), each a list of clauses, with
        what others have or do masked: what a meaning model reads as the user's own words."""
        return self._own(sentences(self._mend(text)))

    # ---- the pass ----------------------------------------------------------------------------

    def understand(self, text: str) -> Understanding:
        """Facts, hints and intent of one message."""
        typed = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # 10,000 -> 10000
        text = self._mend(typed)
        result = Draft()
        result.lang = language(text) or "zh"
        cut = sentences(text)
        clauses = [clause for sentence in cut for clause in sentence]
        lowered = text.lower()
        own = self._own(cut)
        purposes = self._categorical(result, clauses)
        self._booleans(result, cut, own)
        overdue = self.overdue.read(own)
        if overdue:
            result.set("overdue", *overdue)
        self._collateral(result, clauses)
        self._buyers(result, clauses)
        for section, fact in (("merchants", "merchant_platforms"), ("residency", "residency")):
            self._listed(result, clauses, section, fact)
        self._hints(result, [clause for sentence in own for clause in sentence], own)
        self._numbers(result, own)
        self._named_lenders(result, own)
        self._purpose(result, purposes, cut)
        if own != cut:
            result.unmasked(self._unmasking(cut, own))
        self._cards_maxed(result, clauses)
        self._derived(result, lowered)
        result.skip = "skip" in self._tables["misc"].find(lowered) and len(text) <= 12
        result.intent = self._intent(result, lowered)
        if text != typed:
            result.in_own_words(text, typed)
        return result.freeze()

    @cached_property
    def _not_purposes(self) -> list[str]:
        """Masked before purposes: products holding a purpose word (创业担保贷款) and what
        others do (a friend's 以贷养贷 is not the user's purpose)."""
        return [*self.rules.purpose_excludes, *self.rules.others]

    def _own(self, cut: list[list[str]]) -> list[list[str]]:
        """The sentences with what others have or do masked (``understanding.yaml: others``):
        "我哥们儿欠了十来个平台 我就借了俩" counts the user's two lenders, not the friend's ten."""
        others = self.rules.others
        return [[masked(clause, others) for clause in sentence] for sentence in cut]

    @staticmethod
    def _unmasking(cut: list[list[str]], own: list[list[str]]) -> dict[str, str]:
        """Masked evidence -> the same words as written, for clauses and whole sentences."""
        pairs = [(m, c) for s, o in zip(cut, own, strict=True) for c, m in zip(s, o, strict=True)]
        pairs += [("，".join(o), "，".join(s)) for s, o in zip(cut, own, strict=True)]
        return {m[:EVIDENCE_MAX]: c[:EVIDENCE_MAX] for m, c in pairs if m != c}

    def _mend(self, text: str) -> str:
        """``text`` with the common typos of product names mended (借被 -> 借呗, 网商代 -> 网商贷):
        every phrase list then reads them, and the length is kept for the evidence."""
        for typo, word in self.rules.typos.items():
            if typo in text:
                text = text.replace(typo, word)
        return text

    def _categorical(self, result: Draft, clauses: list[str]) -> list[tuple[str, str]]:
        """Segment, platform, symptom, urgency and region; returns the purposes named, each with
        its clause, for ``_purpose`` (which needs the amount asked for)."""
        excluded = [e.lower() for e in self.rules.segment_excludes]
        entry_shown: str | None = None
        platforms: list[tuple[str, str]] = []
        purposes: list[tuple[str, str]] = []
        for clause in clauses:
            plain = masked(clause, excluded)
            platforms.extend((code, clause) for code in self._said("platforms", clause))
            named = masked(clause, self._not_purposes)
            purposes += [(code, clause) for code in self._said("purposes", named)]
            segments = self._said("segments", plain)
            if segments:
                # a company the user works for makes an employee, not an enterprise owner
                employed = "employer_cue" in self._scan(clause).get("misc", {})
                result.set("segment", "consumer" if employed else segments[0], clause)
            urgency = self._said("urgency", clause)
            if urgency:
                result.set("urgency", urgency[0], clause)
            symptom = self._symptom(clause)
            if symptom and "symptom" not in result.facts:
                # the first one stated is what happened; later clauses quote or explain it
                # ("申请被拒 综合评分不足", "有入口没额度……点了又说综合评估未通过")
                result.set("symptom", symptom, clause)
            elif entry_shown is None and "entry_shown" in self._scan(clause).get("misc", {}):
                entry_shown = clause
            regions = self._scan(clause).get("misc", {}).get("regions")
            if regions:
                s, e = regions[0]
                result.set("region", clause[s:e], clause)
        if entry_shown is not None and "symptom" not in result.facts:
            result.set("symptom", "entry_no_limit", entry_shown)
        if platforms:
            # the platform named where the user says what happened, then a named platform
            # before the generic "bank" (信用卡 is often only context): "借微粒贷还花呗……这礼拜
            # 微粒贷申请不下来了" is about 微粒贷
            seen = result.evidence.get("symptom") if "symptom" in result.facts else None
            ranked = sorted(platforms, key=lambda p: (p[1][:EVIDENCE_MAX] != seen, p[0] == "bank"))
            code, clause = ranked[0]
            result.set("platform", code, clause)
        return purposes

    def _purpose(
        self, result: Draft, purposes: list[tuple[str, str]], cut: list[list[str]]
    ) -> None:
        """need_purpose: of the purposes named, those of a sentence that asks for money (its
        amount asked for, or a need cue: 想借/需要/want to borrow) come first ("想借15万元，再租一个
        门面" beside "去年借钱是给孩子交学费", a report's "三成借新还旧" or a 房贷 overdue); then
        ``purpose_priority``."""
        need = result.evidence.get("need_amount")
        cues = self.rules.need_cues

        def asks(sentence: list[str]) -> bool:
            return any(c[:EVIDENCE_MAX] == need or any(w in c for w in cues) for c in sentence)

        asking = {clause for sentence in cut if asks(sentence) for clause in sentence}
        chosen = [(code, clause) for code, clause in purposes if clause in asking] or purposes
        for code in self.rules.purpose_priority:
            clause = next((c for named, c in chosen if named == code), None)
            if clause is not None:
                result.set("need_purpose", code, clause)
                break

    def _symptom(self, clause: str) -> str | None:
        order = ("limit_cut", "limit_closed", "cannot_open", "application_rejected",
                 "entry_no_limit")  # fmt: skip
        found = self._scan(clause).get("symptoms", {})
        chinese = _CJK.search(clause) is not None
        if (
            "cannot_open" in found
            and "application_rejected" in found
            and chinese
            and "开通" not in clause
        ):
            return "application_rejected"  # an application's "综合评分不足" is a refusal of it
        return next((code for code in order if code in found), None)

    def _booleans(self, result: Draft, cut: list[list[str]], own: list[list[str]]) -> None:
        # (clauses, whole sentences) as written and with others' words masked, built once
        views = {
            mine: ([c for s in read for c in s], ["，".join(s) for s in read])
            for mine, read in ((False, cut), (True, own))
        }
        for name in self.rules.booleans:
            excludes = self.rules.boolean_excludes.get(name, ())
            clauses, whole = views[name in self.rules.others_facts]
            for clause in whole if name in self.rules.cross_clause_booleans else clauses:
                hits = self._hits(f"bool:{name}", masked(clause, excludes))
                for value in (False, True):
                    for _, _, negated in hits.get(value, [])[:1]:
                        result.set(name, value if not negated else not value, clause)

    def _collateral(self, result: Draft, clauses: list[str]) -> None:
        kinds: list[str] = []
        said_none = False
        evidence = ""
        for clause in clauses:
            if "no_collateral" in self._scan(clause).get("misc", {}):
                said_none, evidence = True, clause
            for kind in self._said("collateral", clause):
                if kind not in kinds:
                    kinds.append(kind)
                    evidence = clause
        if kinds:
            result.set("collateral", kinds, evidence)
        elif said_none:
            result.set("collateral", [], evidence)

    def _buyers(self, result: Draft, clauses: list[str]) -> None:
        """Kinds of buyer: a party named in a clause with a buyer cue and no employer cue."""
        kinds: list[str] = []
        evidence = ""
        for clause in clauses:
            misc = self._scan(clause).get("misc", {})
            if "buyer_cue" not in misc or "employer_cue" in misc:
                continue
            for kind in self._said("parties", clause):
                if kind not in kinds:
                    kinds.append(kind)
                    evidence = clause
        if kinds:
            result.set("buyer_types", kinds, evidence)

    def _listed(self, result: Draft, clauses: list[str], section: str, fact: str) -> None:
        """Codes of ``section`` said (not negated): a list fact, or the first code for a scalar."""
        codes: list[str] = []
        evidence = ""
        for clause in clauses:
            for code in self._said(section, clause):
                if code not in codes:
                    codes.append(code)
                    evidence = clause
        if codes:
            result.set(fact, codes if fact.endswith("s") else codes[0], evidence)

    def _hints(self, result: Draft, clauses: list[str], cut: list[list[str]]) -> None:
        for clause in clauses:
            for code in self._said("hints", clause):
                result.hints.setdefault(code, clause[:EVIDENCE_MAX])
        wide = self.rules.cross_clause_hints
        for sentence in cut if wide else ():
            whole = "，".join(sentence)
            for code in self._said("hints", whole):
                if code in wide:
                    result.hints.setdefault(code, whole[:EVIDENCE_MAX])

    def _numbers(self, result: Draft, cut: list[list[str]]) -> None:
        for sentence in cut:
            for name, value, clause in self.roles.assign(sentence):
                if name in self.rules.totals and isinstance(result.facts.get(name), int | float):
                    if value <= result.facts[name]:
                        continue  # "七八个口子……有两个口子下不了款": the two are part of the eight
                result.set(name, value, clause)
            for clause in sentence:
                # the text is lower-cased: the letter patterns read the upper-cased clause too
                # ("纳税信用等级为a" is 为A, "tax rating 是 b" is B)
                match = next((m for p in self._tax for form in (clause, clause.upper())
                              if (m := p.search(form))), None)  # fmt: skip
                if match and match.group(1).upper() in "ABMCD":
                    result.set("tax_rating", match.group(1).upper(), clause)

    def _named_lenders(self, result: Draft, cut: list[list[str]]) -> None:
        """lender_count from a borrowing clause that lists its lenders ("在借呗、分付、两家银行和
        一个小贷app上借了钱" is five): the distinct lenders named in the list (the clause with the
        cue and the short clauses beside it that name a lender) plus its counted groups of a kind
        (``understanding.yaml: lender_groups``). A count of lenders in general in the list ("在5个
        平台都有借款，拿借呗的钱还网商贷") is the total already. The list wins over a count read
        from one of its own groups (the "一个" of 一个小贷app), never over one read elsewhere."""
        current = result.facts.get("lender_count")
        for sentence in cut:
            for at, clause in enumerate(sentence):
                if any(cue in clause for cue in self.rules.lender_list_cues):
                    listed = self._lender_list(sentence, at)
                    if listed is None:
                        continue
                    total, words = listed
                    inside = (
                        current is not None and result.evidence.get("lender_count", "") in words
                    )
                    if total >= 2 and (current is None or (inside and current < total)):
                        result.set("lender_count", total, words)
                    return

    def _lender_list(self, sentence: list[str], at: int) -> tuple[int, str] | None:
        """The lenders listed around clause ``at``: their number and the list's words; None
        when the list gives a total of its own."""

        @cache
        def names(i: int) -> set[str]:
            clause = sentence[i]
            named = set(self._said("platforms", clause)) - {"bank"}  # "银行" names no one lender
            return named | {name for name in self.rules.lenders_other if name in clause}

        @cache
        def groups(i: int) -> int | None:
            return self._groups(sentence[i])

        def item(i: int) -> bool:  # a clause of the list names lenders and tells nothing else
            told = any(word in sentence[i] for word in self.rules.lender_list_breaks)
            return not told and bool(names(i) or groups(i))

        first, last = at, at
        while first > 0 and item(first - 1):
            first -= 1
        while last + 1 < len(sentence) and item(last + 1):
            last += 1
        listed = [groups(i) for i in range(first, last + 1)]
        if None in listed:
            return None
        named = {code for i in range(first, last + 1) for code in names(i)}
        return len(named) + sum(g or 0 for g in listed), "，".join(sentence[first : last + 1])

    def _groups(self, clause: str) -> int | None:
        """How many lenders the counted groups of a kind in ``clause`` hold ("两家银行", "4个小贷
        app", "two other apps"); None when a count is of lenders in general ("5个平台")."""
        counted = 0
        for m in find_mentions(clause):
            if m.kind != "count":
                continue
            after = clause[m.start : m.end + 8]  # as written: "two other apps", not "apps"
            # the noun nearest the count, the longest first: "two other apps" is a group, "4 apps"
            # a total, "4个小贷app" a group
            nouns = [(after.find(noun), -len(noun), noun in self.rules.lender_totals)
                     for noun in (*self.rules.lender_groups, *self.rules.lender_totals)
                     if noun in after]  # fmt: skip
            if nouns and min(nouns)[2]:
                return None
            if nouns:
                counted += int(m.value)
        return counted

    @cached_property
    def _card_words(self) -> tuple[Matcher, Matcher]:
        spec = self.rules.cards_maxed
        return Matcher(spec.get("cards", [])), Matcher(spec.get("maxed", []))

    def _cards_maxed(self, result: Draft, clauses: list[str]) -> None:
        if "card_utilisation" in result.facts:
            return
        cards, maxed = self._card_words
        for clause in clauses:
            if maxed.find(clause) and cards.find(clause):
                result.set("card_utilisation", 1.0, clause)
                return

    def _derived(self, result: Draft, text: str) -> None:
        facts = result.facts
        if facts.get("need_purpose") == "repay_debt" or facts.get("borrowing_to_repay"):
            facts.setdefault("borrowing_to_repay", True)
            result.evidence.setdefault(
                "borrowing_to_repay", result.evidence.get("need_purpose", "")
            )
            facts["need_purpose"] = "repay_debt"
            result.evidence.setdefault("need_purpose", result.evidence["borrowing_to_repay"])
        if facts.get("borrowing_to_repay") is False and facts.get("need_purpose") == "repay_debt":
            del facts["need_purpose"]
        business_purpose = facts.get("need_purpose") in self.policy.business_purposes
        consumer_tool = facts.get("platform") in self.policy.consumer_platforms or any(
            w in text for w in self.policy.consumer_credit_words
        )
        result.consumer_product_for_business = bool(business_purpose and consumer_tool)
        if (
            facts.get("need_purpose") in {"consumption", "education", "medical"}
            and "segment" not in facts
        ):
            result.set("segment", "consumer", result.evidence["need_purpose"])
        if facts.get("is_student") and "age_or_eligibility" not in result.hints:
            result.hints["age_or_eligibility"] = result.evidence.get("is_student", "")

    def _intent(self, result: Draft, text: str) -> Intent:
        table = self._tables["intents"].find(text)
        if "unsafe" in table:
            return "unsafe"
        if "compute_cost" in table and re.search(r"[0-9一二三四五六七八九十两]", text):
            return "compute_cost"
        facts = result.facts
        if "symptom" in facts or any(w in text for w in ("为什么", "为啥", "why", "怎么回事")):
            return "diagnose"
        if "find_financing" in table or "need_amount" in facts:
            return "find_financing"
        if "out_of_scope" in table and not (result.substantive_facts or result.hints):
            return "out_of_scope"
        if "ask_product" in table:
            return "ask_product"
        if "small_talk" in table and len(text) <= 20:
            return "small_talk"
        if "out_of_scope" in table:
            return "out_of_scope"
        if facts or result.hints:
            return "diagnose" if facts.get("platform") else "find_financing"
        return "ask_product"
