"""Chat models chosen by ``FINADVISOR_LLM=provider:model``, resolved lazily through langchain.

Built-in providers register here like add-ons would: ``openai`` (any OpenAI-compatible endpoint:
DeepSeek, DashScope compatible mode, vLLM) and ``ollama``. An unknown provider fails with
"Unknown LLM provider: x. Did you mean y?".
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.language_models import BaseChatModel

from core.errors import ConfigError, UnknownBackendError
from core.settings import Settings

ChatModelFactory = Callable[[str, Settings], BaseChatModel]
PROVIDERS: dict[str, ChatModelFactory] = {}


def register_llm_provider(name: str, factory: ChatModelFactory) -> None:
    """Register a chat-model provider under ``name``."""
    PROVIDERS[name] = factory


def _openai(model: str, settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or "not-needed",  # type: ignore[arg-type]
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=settings.llm_temperature,
    )


def _ollama(model: str, settings: Settings) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=model,
        base_url=settings.llm_base_url,
        temperature=settings.llm_temperature,
        client_kwargs={"timeout": settings.llm_timeout},
    )


register_llm_provider("openai", _openai)
register_llm_provider("ollama", _ollama)


def parse_llm_name(spec: str) -> tuple[str, str]:
    """Split ``provider:model``; raises ConfigError with the fix when malformed."""
    provider, sep, model = spec.partition(":")
    if not sep or not provider or not model:
        raise ConfigError(
            f"FINADVISOR_LLM must look like provider:model (e.g. openai:deepseek-chat), not {spec!r}."
        )
    return provider, model


def resolve_llm(spec: str) -> tuple[ChatModelFactory, str]:
    """The registered factory and model name for ``provider:model``; raises with the fix."""
    provider, model = parse_llm_name(spec)
    factory = PROVIDERS.get(provider)
    if factory is None:
        raise UnknownBackendError("LLM provider", provider, PROVIDERS)
    return factory, model


def load_chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured chat model, or None when no LLM is set."""
    if not settings.llm:
        return None
    factory, model = resolve_llm(settings.llm)
    return factory(model, settings)
