"""Shared CLI pieces: consoles, exit codes and settings."""

from __future__ import annotations

from rich.console import Console

from core.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)

EXIT_PROBLEMS = 1
EXIT_BAD_INPUT = 2


def settings() -> Settings:
    """Settings from the environment (built per command, never at import)."""
    return get_settings()
