"""The vault: wrapped per-subject keys, sealed values bound to subject and label, keyed index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charter.storage.vault import DecryptionError, KeyFileError, MasterKey, Vault, create_key_file


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    path = tmp_path / "charter.key"
    assert create_key_file(path)
    return Vault(MasterKey.from_file(path))


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "charter.key"
    assert create_key_file(path)
    before = path.read_bytes()
    assert not create_key_file(path)
    assert path.read_bytes() == before
    assert path.stat().st_mode & 0o777 == 0o600
    key = MasterKey.from_file(path)
    assert json.loads(before)["master_key"] not in repr(key)


@pytest.mark.parametrize(
    "content", ["", "{}", '{"master_key": "c2hvcnQ=", "key_id": "a"}', "not json"]
)
def test_broken_key_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    with pytest.raises(KeyFileError, match=str(path)):
        MasterKey.from_file(path)


def test_data_keys_round_trip_and_are_bound_to_their_subject(vault: Vault) -> None:
    key = vault.new_data_key()
    wrapped = vault.wrap("subject-a", key)
    assert vault.unwrap("subject-a", wrapped) == key
    with pytest.raises(DecryptionError):
        vault.unwrap("subject-b", wrapped)


def test_sealed_values_are_bound_to_subject_and_label(vault: Vault) -> None:
    key = vault.new_data_key()
    sealed = Vault.seal(key, "s1", "value:purchase.name", {"name": "Ann"})
    assert b"Ann" not in sealed
    assert Vault.open(key, "s1", "value:purchase.name", sealed) == {"name": "Ann"}
    for subject, label in (("s2", "value:purchase.name"), ("s1", "value:purchase.phone")):
        with pytest.raises(DecryptionError):
            Vault.open(key, subject, label, sealed)
    assert Vault.seal(key, "s1", "l", "x") != Vault.seal(key, "s1", "l", "x")  # fresh nonces


def test_lookup_hashes_are_keyed_and_separate_kinds(vault: Vault, tmp_path: Path) -> None:
    assert vault.lookup_hash("email", "a@example.org") == vault.lookup_hash(
        "email", "a@example.org"
    )
    assert vault.lookup_hash("email", "a@example.org") != vault.lookup_hash(
        "account_id", "a@example.org"
    )
    other_path = tmp_path / "other.key"
    create_key_file(other_path)
    other = Vault(MasterKey.from_file(other_path))
    assert other.lookup_hash("email", "a@example.org") != vault.lookup_hash(
        "email", "a@example.org"
    )
