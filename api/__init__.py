"""HTTP interfaces over ``bot.Advisor``: REST/SSE API, OpenAI-compatible endpoint, web page."""

from .main import create_app

__all__ = ["create_app"]
