"""Issued REST session ids survive PII masking (a masked id could not be sent back)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from bot.pii import mask_pii
from bot.session_keys import SessionKeys


def test_an_id_that_reads_as_a_phone_or_card_number_is_drawn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws: Iterator[str] = iter([
        "13812345678abcdef0123456789abcdef0123456",  # a mobile number inside
        "4111111111111111aaaaaaaaaaaaaaaaaaaaaaaa",  # a card number inside
        "abcdef0123456789abcdef0123456789abcdef01",
    ])  # fmt: skip
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(draws))
    assert (
        mask_pii("s-13812345678abcdef0123456789abcdef0123456")
        != "s-13812345678abcdef0123456789abcdef0123456"
    )
    issued = SessionKeys.issue()
    assert issued == "s-abcdef0123456789abcdef0123456789abcdef01"
    assert SessionKeys.is_issued_form(issued) and mask_pii(issued) == issued


def test_issued_ids_are_unmasked_and_distinct() -> None:
    ids = {SessionKeys.issue() for _ in range(2000)}
    assert len(ids) == 2000 and all(mask_pii(i) == i for i in ids)
