"""Signed links (unsubscribe, receipts): genuine tokens verify, anything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.storage.vault import MasterKey, Vault, create_key_file


def _vault(path: Path) -> Vault:
    create_key_file(path)
    return Vault(MasterKey.from_file(path))


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return _vault(tmp_path / "charter.key")


def test_a_token_round_trips_its_parts(vault: Vault) -> None:
    token = vault.sign("unsubscribe", "subject-1", "acme", "email")
    assert vault.verify("unsubscribe", token) == ["subject-1", "acme", "email"]
    assert token.isascii() and " " not in token and "+" not in token and "/" not in token


def test_a_token_is_bound_to_its_scope_and_key(vault: Vault, tmp_path: Path) -> None:
    token = vault.sign("unsubscribe", "subject-1", "acme", "email")
    assert vault.verify("consent-receipt", token) is None
    other = _vault(tmp_path / "other.key")
    assert other.verify("unsubscribe", token) is None


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _flip(t, 3),  # payload
        lambda t: _flip(t, len(t) - 3),  # signature
        lambda t: t.split(".")[0],  # no signature
        lambda t: t + ".x",
        lambda t: t.replace(".", ".."),
        lambda t: "",
        lambda t: "é" + t,
        lambda t: "%%%.%%%",
        lambda t: t * 40,  # far too long
    ],
)
def test_tampered_or_malformed_tokens_are_refused(vault: Vault, tamper: object) -> None:
    token = vault.sign("unsubscribe", "subject-1", "acme", "email")
    assert callable(tamper)
    assert vault.verify("unsubscribe", tamper(token)) is None


def test_swapping_payloads_between_tokens_is_refused(vault: Vault) -> None:
    mine = vault.sign("unsubscribe", "subject-1", "acme", "email")
    theirs = vault.sign("unsubscribe", "subject-2", "acme", "email")
    forged = theirs.split(".")[0] + "." + mine.split(".")[1]
    assert vault.verify("unsubscribe", forged) is None
