"""Session ids as capabilities: nothing a stranger can guess opens a conversation.

- A REST session id is issued by the server: ``s-`` and 40 hex digits (160 random bits). The API
  accepts only ids of that form that the store holds, so a client cannot choose or adopt one.
- A chat-platform or OpenAI ``user`` session id is ``<kind>-`` and 40 hex digits of
  HMAC-SHA256(secret, its parts): the same conversation always maps to the same session, and
  without the secret nobody can compute (or address) it. No part of it is stored in the clear,
  so a phone number used as a user name never becomes a key.

The secret is ``Settings.session_secret`` when set; otherwise 32 random bytes written to
``data_dir/session.key`` (mode 0600) on first start and read back afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from core.errors import ConfigError
from core.settings import Settings

from .pii import mask_pii

ISSUED = re.compile(r"s-[0-9a-f]{40}")
SECRET_FILE = "session.key"
SECRET_BYTES = 32
UNREADABLE_SECRET = (
    "The session key file {path} cannot be used; delete it (sessions keyed with it are lost)"
    " or set FINADVISOR_SESSION_SECRET."
)


def load_secret(settings: Settings) -> bytes:
    """The session-keying secret: the setting, or the data directory's key file (made if absent)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode("utf-8")
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise ConfigError(UNREADABLE_SECRET.format(path=path)) from exc
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first: use theirs
        return load_secret(settings)
    except OSError as exc:
        raise ConfigError(UNREADABLE_SECRET.format(path=path)) from exc
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret.hex())
    return secret


class SessionKeys:
    """Issues REST session ids and derives keyed ids for chat platforms and OpenAI users."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ConfigError("FINADVISOR_SESSION_SECRET must be at least 16 characters long.")
        self._secret = secret

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionKeys:
        """Keys on the configured (or generated) secret."""
        return cls(load_secret(settings))

    @staticmethod
    def issue() -> str:
        """A fresh REST session id with 160 random bits.

        An id whose digits read as a phone or card number would come back masked in every
        answer (and the client could not continue), so such a draw is replaced.
        """
        while True:
            candidate = "s-" + secrets.token_hex(20)
            if mask_pii(candidate) == candidate:
                return candidate

    @staticmethod
    def is_issued_form(session_id: str) -> bool:
        """Whether ``session_id`` has the form of an id this server issues to REST clients."""
        return bool(ISSUED.fullmatch(session_id))

    def keyed(self, kind: str, *parts: str) -> str:
        """The session id of a conversation named by ``parts`` on platform ``kind``."""
        message = "\x1f".join((kind, *parts)).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]
        return f"{kind}-{digest}"
