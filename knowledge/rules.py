"""Typed models of the engine's rule files, so a broken file is refused before any turn runs.

``diagnosis.yaml`` (priors, evidence rules, advice, questions with their options), ``recommend.yaml`` (fit weights and
boosts), ``guard.yaml`` (phrases, messages, refusals), ``understanding.yaml`` (phrase tables) and
``policy.yaml`` (the domain lists every stage shares). Each model forbids unknown keys, so a
misspelled key is an error instead of a rule silently switched off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from core.errors import KnowledgeInvalidError

RULE_FILES = ("policy.yaml", "diagnosis.yaml", "recommend.yaml", "guard.yaml", "understanding.yaml")
OPERATORS = ("gte", "gt", "lte", "lt")
COMPUTED_FIELDS = ("debt_to_income", "debt_to_annual_income", "business", "misused_purpose")
"""Condition fields computed from the profile rather than stored in it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """A text in Simplified Chinese and English."""

    zh: str
    en: str

    def text(self, lang: str) -> str:
        """The text in ``lang`` (``zh`` or ``en``)."""
        return self.en if lang == "en" else self.zh


class Range(_Strict):
    """A numeric condition: every bound given must hold."""

    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    def holds(self, value: Any) -> bool:
        """Whether ``value`` lies within every bound."""
        return (
            (self.gte is None or value >= self.gte)
            and (self.gt is None or value > self.gt)
            and (self.lte is None or value <= self.lte)
            and (self.lt is None or value < self.lt)
        )


def _condition(raw: Any) -> Any:
    """A mapping must be a range of known operators; anything else is a value or value list."""
    if isinstance(raw, dict):
        unknown = sorted(str(k) for k in raw if k not in OPERATORS)
        if unknown:
            raise ValueError(f"unknown operator {unknown[0]!r} (use one of {', '.join(OPERATORS)})")
        return Range(**raw)
    if raw is None:
        raise ValueError("a condition needs a value, a list of values or a range")
    return raw


Condition = Annotated[Range | list[Any] | bool | str | float, BeforeValidator(_condition)]


def condition_holds(value: Any, condition: Condition) -> bool:
    """Whether a profile value meets a rule condition (unknown values never do)."""
    if value is None:
        return False
    if isinstance(condition, Range):
        return condition.holds(value)
    if isinstance(condition, list):
        return value in condition
    return bool(value == condition)


class EvidenceRule(_Strict):
    """When every condition holds, the reason gets ``confidence`` (< 0: lowered to |confidence|)."""

    reason: str
    when: dict[str, Condition] = Field(min_length=1)
    confidence: float = Field(ge=-1, le=1)
    evidence: str
    evidence_en: str = Field(min_length=2)
    """The description in English, for English turns."""

    def evidence_in(self, lang: str) -> str:
        """The rule's description in ``lang``."""
        return self.evidence_en if lang == "en" else self.evidence


class Advice(_Strict):
    """What to do about a reason and the document that explains it."""

    doc: str
    zh: str
    en: str


OptionValue = bool | int | float | str | list[str]
"""A profile value as JSON types it (bool before int, so ``true`` stays a bool)."""


class QuestionOption(_Strict):
    """One answer worth replaying: the profile value and what a person clicks or types for it."""

    value: OptionValue
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def label(self, lang: str) -> str:
        """The label in ``lang`` (``zh`` or ``en``)."""
        return self.en if lang == "en" else self.zh


class Question(_Strict):
    """A follow-up question about one profile field, with the answers worth replaying."""

    zh: str
    en: str
    options: list[QuestionOption] = []


class DiagnosisRules(_Strict):
    """``diagnosis.yaml``."""

    hint_confidence: float = Field(ge=0, le=1)
    guess_confidence: float = Field(ge=0, le=1)
    possibility_below: float = Field(ge=0, le=1)
    max_reasons: int = Field(ge=1)
    priors: dict[str, dict[str, dict[str, float]]]
    rules: list[EvidenceRule]
    advice: dict[str, Advice]
    questions: dict[str, Question]
    skip: Bilingual
    """The choice that skips a question (it must be one of the skip phrases to be read so)."""


class FitWeights(_Strict):
    """The fit score's terms (``recommend.yaml: fit``)."""

    base: float
    segment_match: float
    tax_match: float
    receivables_match: float
    orders_match: float
    collateral_match: float
    requirement_unknown: float
    amount_covered: float
    amount_short: float
    fast_when_urgent: float
    slow_when_urgent: float
    low_cost: float
    low_cost_apr: float
    high_cost: float
    consumer_default: float
    buyer_match: float = 0.0
    """The user's buyer is a kind the product finances (国企 for 保理, 政府 for 政采贷)."""
    merchant_match: float = 0.0
    """The user sells on the platform whose merchant loan this is."""
    signal_match: float = 0.0
    """Each of the product's ``fit_signals`` that is true (公积金, 代发工资, 社保)."""


class RecommendRules(_Strict):
    """``recommend.yaml``: how eligible products are scored and how many are shown."""

    max_recommendations: int = Field(ge=1)
    asset_backed: frozenset[str] = frozenset()
    """Channels secured by the asset financed or pledged: when restoring credit comes first and
    the best lender is one of these, it follows a single credit step instead of two."""
    repair_from: float = Field(default=0.4, ge=0, le=1)
    """A credit-improvement action is among the first three when a refusal was told or its reason
    reaches this confidence (a finding, not a possibility); otherwise it comes after the lenders."""
    max_per_channel: int = Field(ge=1)
    fit: FitWeights
    purpose_boost: dict[str, dict[str, float]]
    reason_boost: dict[str, dict[str, float]]
    signal_labels: dict[str, Bilingual] = {}
    """How each catalog ``fit_signals`` field is named in "why it fits"."""


class MeaningThresholds(_Strict):
    """When a meaning model's prediction is used (``bot.pipeline.classify``)."""

    fill: float = Field(ge=0, le=1)
    """A fact the rules left empty (segment, purpose, overdue status) is filled at this probability."""
    hint: float = Field(ge=0, le=1)
    """A reason hint the rules missed is added at this probability."""
    intent: float = Field(ge=0, le=1)
    """The model's intent replaces the rules' at this probability (never for unsafe or cost)."""
    warning: float = Field(ge=0, le=1)
    """A warning trigger the guard's phrases missed is raised at this probability."""
    question: float = Field(default=0.35, ge=0, le=1)
    """The model's question kind replaces the rules' at this probability."""
    finding: float = Field(default=1.0, ge=0, le=1)
    """A yes/no fact of ``hint_facts`` the rules left empty is set at this reason-hint probability."""
    hint_facts: dict[str, str] = {}
    """Reason hints that state a yes/no fact by themselves (``account_security`` is
    ``account_anomaly``): the model's reading of the meaning, for wordings no phrase list holds."""


class OverIndebted(_Strict):
    """When a borrower is over-indebted: then no lender, and restoring credit comes first."""

    lender_count_min: int = Field(ge=1)
    debt_to_income_min: float = Field(gt=0)
    judicial_record: bool
    """Whether 被执行/失信 counts as over-indebted."""


class Policy(_Strict):
    """``policy.yaml``: the domain lists and rules every stage reads from this one place."""

    consumer_channels: frozenset[str]
    business_channels: frozenset[str]
    business_purposes: frozenset[str]
    consumer_purposes: frozenset[str]
    consumer_platforms: frozenset[str]
    consumer_credit_words: tuple[str, ...]
    never_lend_purposes: frozenset[str]
    forbidden_investment_purposes: frozenset[str]
    credit_first_reasons: dict[str, float]
    platform_products: dict[str, list[str]]
    platform_wide_reasons: dict[str, float] = {}
    """Reasons that hold for the whole lender: at this confidence the refusing lender's other
    products (same ``provider``) are not offered either."""
    identity_documents: dict[str, Bilingual] = {}
    """Residency (``foreign``, ``hk_macao_taiwan``) -> the identity papers to bring instead of
    the mainland ID items of a materials list."""
    identity_terms: list[str] = []
    """Materials items naming mainland identity papers (身份证, 户口簿): replaced for non-mainland users."""
    debt_action_weights: dict[str, float]
    no_consumer_credit_when: dict[str, float] = {}
    """Reasons that, at this confidence, rule out unsecured consumer credit (cards maxed out,
    repayments high): another card or consumer loan would only add to the debt."""
    personal_questions: frozenset[str] = frozenset()
    """Question kinds about the asker's own case (还能贷吗, 多久能恢复): when the facts told with
    them make a reason a finding, the diagnosis is shown with the answer."""
    meaning: MeaningThresholds
    over_indebted: OverIndebted


class GuardRules(_Strict):
    """``guard.yaml``."""

    scam_phrases: list[str]
    high_cost_phrases: list[str]
    unsafe_categories: dict[str, list[str]]
    scam_refusals: list[str]
    misuse_phrases: list[str] = []
    """Borrowed money flowing into a home or stocks whatever the purpose stated (网商贷凑首付):
    the forbidden-use mismatch, even beside a normal housing loan."""
    high_cost_refusals: list[str] = []
    """Refusal kinds that also raise the high-cost warning (their loans cost above the line)."""
    victim_phrases: list[str]
    messages: dict[str, Bilingual]
    refusals: dict[str, Bilingual]


class UnderstandingRules(_Strict):
    """``understanding.yaml``: phrase tables (plain substrings or ``re:`` regexes)."""

    negators: list[str]
    platforms: dict[str, list[str]]
    symptoms: dict[str, list[str]]
    entry_shown: list[str] = []
    """The entry is visible and nothing more is said: entry_no_limit when no clause names a symptom."""
    segments: dict[str, list[str]]
    purpose_priority: list[str]
    purposes: dict[str, list[str]]
    overdue: dict[str, list[str]]
    booleans: dict[str, dict[bool, list[str]]]
    collateral: dict[str, list[str]]
    parties: dict[str, list[str]] = {}
    """Kinds of counterparty (government, soe, large) by the words that name them."""
    buyer_cues: list[str] = []
    """Words that make a party named in the same clause the user's buyer (客户, 供货, 账期...)."""
    employer_cues: list[str] = []
    """Words that make a party the user's employer, not a buyer (上班, 在职...)."""
    merchants: dict[str, list[str]] = {}
    """Platforms the user sells on (美团商家, 淘宝店...) by the words that say so."""
    residency: dict[str, list[str]] = {}
    """Non-mainland residency (foreign, hk_macao_taiwan) by the words that say so."""
    segment_excludes: list[str]
    purpose_excludes: list[str] = []
    """Product names holding a purpose word: masked before purposes are read."""
    no_collateral: list[str]
    hints: dict[str, list[str]]
    negation_exceptions: list[str] = []
    negation_boundaries: list[str] = []
    cross_clause_booleans: list[str] = []
    others: list[str] = []
    """Words about other people (a friend's debts, an average), masked before numbers, overdues,
    hints and ``others_facts`` are read."""
    others_facts: list[str] = []
    typos: dict[str, str] = {}
    """Misspelt product names and their spelling, of the same length (借被: 借呗)."""

    @field_validator("typos")
    @classmethod
    def _same_length(cls, typos: dict[str, str]) -> dict[str, str]:
        uneven = [typo for typo, word in typos.items() if len(typo) != len(word) or not typo]
        if uneven:
            raise ValueError(f"a typo and its spelling must be as long as each other: {uneven}")
        return typos

    boolean_excludes: dict[str, list[str]] = {}
    """Per yes/no fact, words masked before its phrases are read: a phone one wants to buy is not
    an account event ("想买个新手机")."""
    cards_maxed: dict[str, list[str]] = {}
    """``cards`` and ``maxed`` words: both in one clause ("三张信用卡全刷爆了") is card_utilisation 1.0."""
    cross_clause_hints: list[str] = []
    """Hint codes matched over a whole sentence, commas kept ("只批了五万元，远远不够")."""
    totals: list[str] = []
    """Number fields that are totals: of several mentions in a message the largest stands (the
    others are parts of it)."""
    lender_list_cues: list[str] = []
    need_cues: list[str] = []
    """Words that ask for money: the purposes of their sentence are the need's (``_purpose``)."""
    lender_groups: list[str] = []
    """Words after a count that make it a group of lenders in a list ("两家银行", "two other apps")."""
    lender_list_breaks: list[str] = []
    """Words that end a list of lenders: a clause holding them tells what a lender did."""
    lender_totals: list[str] = []
    """Words after a count that make it a count of lenders in general ("5个平台"): a total."""
    lenders_other: list[str] = []
    """Lenders that are no platform code of their own, each one lender when a list names it."""
    """Borrowing words: a sentence holding one and naming two or more lenders (借呗、金条、分付上都借了)
    gives lender_count as the number named, when no count is stated."""
    number_exceptions: list[str] = []
    number_conditions: list[str] = []
    number_roles: dict[str, dict[str, Any]] = {}
    tax_rating: list[str]
    urgency: dict[str, list[str]]
    regions: list[str]
    intents: dict[str, list[str]]
    skip_phrases: list[str]
    acts: dict[str, list[str]] = {}
    """Dialogue-act cues: ``summary``, ``corrects``, ``question_cues`` (bot/acts.py)."""
    question_order: list[str] = []
    """Question kinds in the order tried; the first whose phrases are found wins."""
    questions: dict[str, list[str]] = {}
    """Question kind -> the words that ask it (多久 -> speed, 利率 -> cost)."""
    retractions: dict[str, dict[Any, list[str]]]
    answers: dict[str, Any]


class Rules(_Strict):
    """Every rule file, typed."""

    policy: Policy
    diagnosis: DiagnosisRules
    recommend: RecommendRules
    guard: GuardRules
    understanding: UnderstandingRules


_MODELS: dict[str, type[BaseModel]] = {
    "policy.yaml": Policy,
    "diagnosis.yaml": DiagnosisRules,
    "recommend.yaml": RecommendRules,
    "guard.yaml": GuardRules,
    "understanding.yaml": UnderstandingRules,
}


def _problems(name: str, exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"{name}: {where}: {error['msg']}")
    return sorted(set(lines))


def parse_rules(knowledge_dir: Path, *, missing_ok: bool = False) -> tuple[Rules | None, list[str]]:
    """The typed rule files, or None with one line per problem.

    With ``missing_ok`` an absent file is no problem (``required.yaml`` says which must exist).
    """
    problems: list[str] = []
    parsed: dict[str, BaseModel] = {}
    for name, model in _MODELS.items():
        path = knowledge_dir / name
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if not missing_ok:
                problems.append(f"{name}: required file is missing")
            continue
        except yaml.YAMLError as exc:
            problems.append(f"{name}: not valid YAML ({' '.join(str(exc).split())})")
            continue
        try:
            parsed[name] = model.model_validate(raw)
        except ValidationError as exc:
            problems += _problems(name, exc)
    if problems or len(parsed) < len(_MODELS):
        return None, problems
    sections = {name.removesuffix(".yaml"): value for name, value in parsed.items()}
    return Rules.model_validate(sections), []


def load_rules(knowledge_dir: Path) -> Rules:
    """The typed rule files; ``KnowledgeInvalidError`` with one line per problem otherwise."""
    rules, problems = parse_rules(knowledge_dir)
    if rules is None:
        raise KnowledgeInvalidError(problems)
    return rules
