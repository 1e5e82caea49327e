"""Chat-platform adapters: each translates its platform's webhooks into advisor turns and back.

``mount_integrations`` mounts an adapter only when all of its settings are set:

======== ===================== ==================================================================
adapter  path                  settings (``FINADVISOR_`` + upper case)
======== ===================== ==================================================================
Slack    POST /slack/events    slack_bot_token, slack_signing_secret (API at slack_api_url)
Feishu   POST /feishu/events   feishu_app_id, feishu_app_secret, feishu_verification_token
                               (feishu_encrypt_key optional; API at feishu_api_url)
DingTalk POST /dingtalk/events dingtalk_app_secret
======== ===================== ==================================================================

Adapter modules are imported only when mounted (lark-oapi alone takes seconds to import).
Every adapter keys its sessions with the app's ``SessionKeys`` (an HMAC of the platform's
conversation id under the server's secret), so no REST client can address a chat session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI

from bot.advisor import Advisor
from core.settings import Settings

from .conversation import Conversations

log = logging.getLogger("api.integrations")

__all__ = ["ADAPTERS", "Adapter", "mount_integrations"]


@dataclass(frozen=True)
class Adapter:
    """A chat platform: the settings it needs and how to build its webhook router."""

    name: str
    needs: tuple[str, ...]
    router: Callable[[Settings, Conversations], APIRouter]

    def configured(self, settings: Settings) -> bool:
        """Whether every setting the adapter needs is set."""
        return all(getattr(settings, field) for field in self.needs)


def _slack(settings: Settings, conversations: Conversations) -> APIRouter:
    from . import slack

    return slack.router(settings, conversations)


def _feishu(settings: Settings, conversations: Conversations) -> APIRouter:
    from . import feishu

    return feishu.router(settings, conversations)


def _dingtalk(settings: Settings, conversations: Conversations) -> APIRouter:
    from . import dingtalk

    return dingtalk.router(settings, conversations)


ADAPTERS = (
    Adapter("Slack", ("slack_bot_token", "slack_signing_secret"), _slack),
    Adapter("Feishu", ("feishu_app_id", "feishu_app_secret", "feishu_verification_token"), _feishu),
    Adapter("DingTalk", ("dingtalk_app_secret",), _dingtalk),
)


def mount_integrations(app: FastAPI, settings: Settings) -> list[str]:
    """Mount every adapter whose settings are set, log one line each; return their names."""

    def advisor() -> Advisor:
        current: Advisor = app.state.advisor
        return current

    mounted = []
    for adapter in ADAPTERS:
        if adapter.configured(settings):
            conversations = Conversations(advisor, app.state.session_keys, app.state.shared_state)
            router = adapter.router(settings, conversations)
            app.include_router(router)
            paths = ", ".join(getattr(route, "path", "") for route in router.routes)
            log.info("mounted the %s adapter at POST %s", adapter.name, paths)
            mounted.append(adapter.name)
    return mounted
