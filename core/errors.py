"""Domain errors. They become HTTP errors, CLI exit codes or chat replies only at the edge.

FinadvisorError
├── ConfigError                 bad setting or unknown backend name
│   └── UnknownBackendError     "Unknown X: name. Did you mean Y?"
├── KnowledgeError              the knowledge base cannot be loaded
│   └── KnowledgeInvalidError   it loaded but breaks the schema (carries the problems)
├── RetrievalError              the search index is missing, corrupt or built differently
│   └── IndexMismatchError      index built with another embedding or dimension
├── InputError                  the user's input cannot be used (message is the one-sentence fix)
│   ├── EmptyInputError
│   └── InputTooLongError
├── SessionError                the session store failed
└── StateError                  the shared state (rate limits, delivery ids) failed
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FinadvisorError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(FinadvisorError):
    """A setting is invalid."""


class UnknownBackendError(ConfigError):
    """A provider name is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]}?" if close else f" Known: {', '.join(known)}."
        super().__init__(f"Unknown {kind}: {name}.{hint}")
        self.kind, self.name, self.known = kind, name, known


class KnowledgeError(FinadvisorError):
    """The knowledge base cannot be loaded."""


class KnowledgeInvalidError(KnowledgeError):
    """The knowledge base breaks its schema."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the knowledge base: {problems[0]}")
        self.problems = problems


class RetrievalError(FinadvisorError):
    """The search index cannot be used."""


class IndexMismatchError(RetrievalError):
    """The index on disk was built with a different embedding."""


class InputError(FinadvisorError):
    """User input cannot be used; the message says what to do."""


class EmptyInputError(InputError):
    """The input is empty."""


class InputTooLongError(InputError):
    """The input is longer than the configured cap."""


class SessionError(FinadvisorError):
    """The session store failed."""


class StateError(FinadvisorError):
    """The shared-state store (rate-limit counters, webhook delivery ids) failed."""
