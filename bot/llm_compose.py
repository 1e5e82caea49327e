"""Optional LLM: better prose and extraction help, never invented advice.

The LLM rewrites the template reply from the structured Turn; its text is then checked:
    - every product, lender or channel named appears in the draft (i.e. the Turn) or the user's words
    - every [n] points to a citation that was passed
    - every percentage (APR etc.) appears in the draft or the passages
    - no part of the system prompt leaks; the text is not empty or garbage
On a violation it is asked to repair once; if that fails too, or on timeout or error, the template
reply stands. Every outcome is recorded in ``LLMOutcome`` so that tests and logs can see it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from knowledge import Catalog, Taxonomy

from .turn import Turn

log = logging.getLogger(__name__)
_CITATION = re.compile(r"\[(\d{1,3})\]")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_LENDER_LIKE = re.compile(
    r"[\u4e00-\u9fffA-Za-z]{2,10}?(?:小额贷款|小贷|消费金融|银行|金条|白条|贷|借|花)(?![\u4e00-\u9fff]{0,1}款)"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")


@dataclass
class LLMOutcome:
    """What happened to the LLM in one turn (``used`` is False when the template stood)."""

    used: bool = False
    attempts: int = 0
    violations: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


class ExtractedFacts(BaseModel):
    """Facts an LLM may extract; validated and merged only where rules found nothing."""

    segment: str | None = None
    platform: str | None = None
    symptom: str | None = None
    need_purpose: str | None = None
    need_amount: float | None = None
    overdue: str | None = None
    is_student: bool | None = None
    years_operating: float | None = None
    tax_rating: str | None = None


class LLMComposer:
    """Writes replies with a chat model under checks, a repair round and a deadline."""

    def __init__(
        self,
        model: BaseChatModel,
        prompts_dir: Path,
        catalog: Catalog,
        taxonomy: Taxonomy,
        *,
        deadline: float,
        catalog_dir: Path,
    ) -> None:
        self.model = model
        self.deadline = deadline
        self.system = (prompts_dir / "llm_system.md").read_text(encoding="utf-8")
        self.user = Template((prompts_dir / "llm_user.md").read_text(encoding="utf-8"))
        self.repair = Template((prompts_dir / "llm_repair.md").read_text(encoding="utf-8"))
        self.extract_prompt = Template((prompts_dir / "llm_extract.md").read_text(encoding="utf-8"))
        self.taxonomy = taxonomy
        names = set()
        for product in catalog.products:
            names.add(product.name)
            if product.name_en:  # an English reply names products in English
                names.add(product.name_en)
            names.update(p for p in re.split(r"[（）()/、，,\s“”\"]+", product.name) if len(p) >= 2)
        for section in ("platforms", "channels"):
            names.update(label.zh for label in taxonomy.sections.get(section, {}).values())
        self.known_names = sorted((n for n in names if len(n) >= 2), key=len, reverse=True)
        lexicon = yaml.safe_load((catalog_dir / "lexicon.yaml").read_text(encoding="utf-8")) or {}
        # domain words (网贷, 经营贷, 以贷养贷...) are vocabulary, not lenders
        self.generic_terms = frozenset(str(w) for w in lexicon.get("words") or [])

    # ---- compose ------------------------------------------------------------------------------

    def compose(
        self, message: str, turn: Turn, draft: str, passages: list[str]
    ) -> tuple[str, LLMOutcome]:
        """The checked LLM reply body, or the draft; plus what happened."""
        outcome = LLMOutcome()
        started = time.monotonic()
        language = "英文" if turn.lang == "en" else "简体中文"
        payload = {
            "intent": turn.intent,
            "reasons": [r.model_dump(include={"code", "label", "confidence", "evidence"}) for r in turn.reasons],
            "recommendations": [r.model_dump(include={"channel", "title", "provider", "apr", "speed"})
                                for r in turn.recommendations],
            "warnings": [w.code for w in turn.warnings],
            "follow_up": turn.follow_up.question if turn.follow_up else None,
            "citations": [f"[{c.n}] {c.doc_id}#{c.heading}" for c in turn.citations],
        }  # fmt: skip
        messages: list[BaseMessage] = [
            SystemMessage(self.system),
            HumanMessage(self.user.safe_substitute(
                message=message, turn_json=json.dumps(payload, ensure_ascii=False, indent=1),
                passages="\n".join(f"- {p}" for p in passages) or "（无）", draft=draft,
                language=language)),
        ]  # fmt: skip
        allowed = draft + "\n" + message + "\n" + "\n".join(passages)
        for attempt in (1, 2):
            remaining = self.deadline - (time.monotonic() - started)
            if remaining <= 0.05:
                outcome.error = outcome.error or "deadline"
                break
            outcome.attempts = attempt
            try:
                text = self._invoke(messages, remaining)
            except Exception as exc:  # noqa: BLE001 - any LLM failure falls back to the template
                outcome.error = f"{exc.__class__.__name__}: {str(exc)[:120]}"
                break
            violations = self.check(text, turn, allowed)
            if not violations:
                outcome.used, outcome.violations = True, []
                outcome.seconds = time.monotonic() - started
                return text.strip(), outcome
            outcome.violations = violations
            messages += [AIMessage(text), HumanMessage(self.repair.safe_substitute(
                violations="\n".join(f"- {v}" for v in violations)))]  # fmt: skip
        outcome.seconds = time.monotonic() - started
        log.info("LLM reply replaced by the template: %s", outcome.error or outcome.violations)
        return draft, outcome

    def _invoke(self, messages: list[BaseMessage], timeout: float) -> str:
        """Stream the model's answer into one text, within ``timeout`` seconds in all."""

        def collect() -> str:
            pieces = []
            for chunk in self.model.stream(messages):
                content = chunk.content
                pieces.append(content if isinstance(content, str) else "".join(
                    str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content))  # fmt: skip
            return "".join(pieces)

        future = _POOL.submit(collect)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:.1f}s") from exc

    def check(self, text: str, turn: Turn, allowed: str) -> list[str]:
        """Violations of the rules in the module docstring (empty when the text is fine)."""
        problems: list[str] = []
        stripped = text.strip()
        if len(stripped) < 20 or (turn.lang == "zh" and len(_CJK.findall(stripped)) < 10):
            return ["回复为空或不是有效的中文正文"]
        valid = {c.n for c in turn.citations}
        for number in sorted({int(n) for n in _CITATION.findall(stripped)} - valid):
            problems.append(f"引用标记 [{number}] 不存在，只能使用 {sorted(valid)}")
        for figure in sorted(set(_PERCENT.findall(stripped))):
            if not re.search(rf"(?<![\d.]){re.escape(figure)}\s*[%％]", allowed):
                problems.append(f"数字 {figure}% 不在结构化结论或资料中，不能使用")
        masked = stripped
        for name in self.known_names:
            if name in masked:
                if name not in allowed:
                    problems.append(f"提到了未推荐的产品或渠道“{name}”")
                masked = masked.replace(name, "□")
        for candidate in set(_LENDER_LIKE.findall(masked)):
            generic = any(
                term in candidate or candidate in term
                for term in self.generic_terms
                if len(term) >= 2
            )
            if (
                candidate not in allowed
                and not generic
                and not any(candidate in n for n in self.known_names)
            ):
                problems.append(f"提到了结论中没有的机构或产品“{candidate}”")
        system = re.sub(r"\s+", "", self.system)
        compact = re.sub(r"\s+", "", stripped)
        if any(system[i : i + 20] in compact for i in range(0, max(len(system) - 20, 1), 10)):
            problems.append("回复泄露了系统指令")
        return problems

    # ---- extraction -----------------------------------------------------------------------------

    def extract(self, message: str, timeout: float) -> dict[str, Any]:
        """Profile facts the LLM reads from ``message``, validated against the taxonomy."""
        codes = {
            s: "|".join(sorted(self.taxonomy.codes(s)))
            for s in ("segments", "platforms", "symptoms", "purposes")
        }
        prompt = self.extract_prompt.safe_substitute(message=message, **codes)
        structured = self.model.with_structured_output(ExtractedFacts)
        future = _POOL.submit(structured.invoke, [HumanMessage(prompt)])
        try:
            raw = future.result(timeout=timeout)
            facts = raw if isinstance(raw, ExtractedFacts) else ExtractedFacts.model_validate(raw)
        except (FutureTimeout, ValidationError, ValueError, TypeError) as exc:
            log.info("LLM extraction ignored: %s", exc.__class__.__name__)
            return {}
        except Exception as exc:  # noqa: BLE001 - extraction is optional help
            log.info("LLM extraction failed: %s", exc.__class__.__name__)
            return {}
        valid_codes = {"segment": "segments", "platform": "platforms", "symptom": "symptoms",
                       "need_purpose": "purposes"}  # fmt: skip
        result: dict[str, Any] = {}
        for name, value in facts.model_dump(exclude_none=True).items():
            if name in valid_codes and value not in self.taxonomy.codes(valid_codes[name]):
                continue
            if name == "overdue" and value not in {"none", "past", "current"}:
                continue
            if name == "tax_rating" and value not in {"A", "B", "M", "C", "D"}:
                continue
            result[name] = value
        return result
