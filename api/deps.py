"""FastAPI dependencies: settings and the advisor live on ``app.state``; routes take them here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bot.advisor import Advisor
from core.settings import Settings


def get_settings(request: Request) -> Settings:
    """The app's settings (injected by ``create_app``)."""
    settings: Settings = request.app.state.settings
    return settings


def get_advisor(request: Request) -> Advisor:
    """The app's one advisor."""
    advisor: Advisor = request.app.state.advisor
    return advisor


SettingsDep = Annotated[Settings, Depends(get_settings)]
AdvisorDep = Annotated[Advisor, Depends(get_advisor)]
