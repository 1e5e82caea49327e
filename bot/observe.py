"""What the engine tells an observer about each turn: stage timings, the turn, LLM fallbacks.

The engine knows nothing of metrics backends: ``Advisor.observer`` is any ``TurnObserver`` (the
API's Prometheus metrics, for one) or ``None``. ``bot.pipeline.run`` reports how long each stage
took; ``Advisor`` reports each answered turn with the reason the LLM's reply was not used, if an
LLM was configured and its reply was not used.
"""

from __future__ import annotations

from typing import Literal, Protocol

from .context import TurnContext

LlmFallback = Literal["timeout", "error", "rejected", "over_budget"]
"""Why the template reply stood although an LLM is configured: no answer in time, the call
failed, its text broke the checks twice, or the turn's time budget was spent before it."""


class TurnObserver(Protocol):
    """Receives timings and outcomes; must be cheap and must not raise."""

    def stage_finished(self, stage: str, seconds: float) -> None:
        """A pipeline stage ran for ``seconds``."""
        ...

    def turn_finished(self, intent: str, llm_fallback: LlmFallback | None) -> None:
        """A turn was answered (``llm_fallback``: why the LLM's reply was not used, if so)."""
        ...


def llm_fallback(ctx: TurnContext, llm_configured: bool) -> LlmFallback | None:
    """Why the finished turn ``ctx`` kept the template reply although an LLM is configured."""
    if not llm_configured or ctx.route != "full":
        return None
    if ctx.llm is None:
        return "over_budget" if ctx.over_budget else None
    if ctx.llm.get("used"):
        return None
    error = str(ctx.llm.get("error") or "")
    if error == "deadline" or error.startswith("TimeoutError"):
        return "timeout"
    return "error" if error else "rejected"
