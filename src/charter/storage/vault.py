"""The vault: per-subject data keys, wrapped by one master key, and a keyed identity index.

Every personal value is encrypted with AES-256-GCM under a data key that belongs to one subject.
Data keys are stored wrapped (AES-GCM) by the master key from ``CHARTER_KEY_FILE``; erasing a
subject later destroys its wrapped key, after which its ciphertext is noise (crypto-shredding)
wherever copies of it survive. Identity lookups never use plaintext: an identity is found by its
HMAC-SHA256 under a key derived from the master key, so the database file alone neither reveals
nor confirms an email address.

Links that act without a login (unsubscribe, a consent receipt download) carry a token signed
with HMAC-SHA256 under a third derived key (``sign`` / ``verify``); each kind of link has its own
scope, so a token made for one cannot be replayed as another.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from charter.domain.errors import CharterError

_NONCE = 12
_KEY_FILE_VERSION = 1
_MAX_TOKEN = 1024


class KeyFileError(CharterError):
    code = "key_file_invalid"


class DecryptionError(CharterError):
    code = "decryption_failed"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def create_key_file(path: Path) -> bool:
    """Write a new master key to ``path`` (mode 0600) unless one exists; return whether written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": _KEY_FILE_VERSION,
        "key_id": secrets.token_hex(4),
        "master_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    # O_EXCL: two `charter init` racing must not overwrite a key already protecting data.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
        handle.write("\n")
    return True


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes

    def __repr__(self) -> str:  # never let the key reach a log or a traceback
        return f"MasterKey(key_id={self.key_id!r})"

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            secret = base64.b64decode(document["master_key"], validate=True)
            key_id = str(document["key_id"])
        except FileNotFoundError:
            raise KeyFileError(
                f"{path}: key file not found (run `charter init`, or set CHARTER_KEY_FILE)"
            ) from None
        except (ValueError, KeyError, TypeError):
            raise KeyFileError(f"{path}: not a Charter key file") from None
        if len(secret) != 32:
            raise KeyFileError(f"{path}: the master key must be 32 bytes")
        return cls(key_id=key_id, secret=secret)


class Vault:
    """Encrypts values per subject and computes identity lookup hashes."""

    def __init__(self, master: MasterKey) -> None:
        self._kek = AESGCM(_derive(master.secret, b"charter/key-wrapping/v1"))
        self._index_key = _derive(master.secret, b"charter/identity-index/v1")
        self._link_key = _derive(master.secret, b"charter/signed-links/v1")
        self.key_id = master.key_id

    def __repr__(self) -> str:
        return f"Vault(key_id={self.key_id!r})"

    @staticmethod
    def new_data_key() -> bytes:
        return AESGCM.generate_key(bit_length=256)

    def wrap(self, subject_id: str, data_key: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return nonce + self._kek.encrypt(nonce, data_key, b"dek:" + subject_id.encode())

    def unwrap(self, subject_id: str, wrapped: bytes) -> bytes:
        try:
            return self._kek.decrypt(
                wrapped[:_NONCE], wrapped[_NONCE:], b"dek:" + subject_id.encode()
            )
        except InvalidTag:
            raise DecryptionError(
                f"subject {subject_id}: data key cannot be unwrapped (wrong key file?)"
            ) from None

    def lookup_hash(self, kind: str, normalised_value: str) -> bytes:
        mac = hmac.HMAC(self._index_key, hashes.SHA256())
        mac.update(kind.encode() + b"\x00" + normalised_value.encode())
        return mac.finalize()

    def _link_mac(self, scope: str, payload: bytes) -> bytes:
        mac = hmac.HMAC(self._link_key, hashes.SHA256())
        mac.update(scope.encode() + b"\x00" + payload)
        return mac.finalize()

    def sign(self, scope: str, *parts: str) -> str:
        """A URL-safe token binding ``parts`` (ids and keys, never personal values) to ``scope``.

        Tokens do not expire: an unsubscribe link must keep working for as long as the message
        that carries it may be read. The parts are readable by whoever holds the token.
        """
        payload = json.dumps(list(parts), separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._link_mac(scope, payload))}"

    def verify(self, scope: str, token: str) -> list[str] | None:
        """The parts a genuine ``scope`` token binds, or ``None`` (tampered, foreign, malformed).

        The MAC is checked in constant time before the payload is parsed.
        """
        if not token or len(token) > _MAX_TOKEN or token.count(".") != 1:
            return None
        encoded, signature = token.split(".")
        try:
            payload = _unb64(encoded)
            given = _unb64(signature)
        except ValueError:
            return None
        if not secrets.compare_digest(self._link_mac(scope, payload), given):
            return None
        parts = json.loads(payload)
        return [str(part) for part in parts]

    @staticmethod
    def seal(data_key: bytes, subject_id: str, label: str, value: Any) -> bytes:
        """Encrypt a JSON value; the subject and label are bound as associated data."""
        plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return Vault.seal_bytes(data_key, subject_id, label, plaintext)

    @staticmethod
    def open(data_key: bytes, subject_id: str, label: str, sealed: bytes) -> Any:
        return json.loads(Vault.open_bytes(data_key, subject_id, label, sealed))

    @staticmethod
    def seal_bytes(data_key: bytes, subject_id: str, label: str, plaintext: bytes) -> bytes:
        """``seal`` for bytes that are not JSON (an access package's zip)."""
        nonce = secrets.token_bytes(_NONCE)
        aad = f"{subject_id}\x00{label}".encode()
        return nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)

    @staticmethod
    def open_bytes(data_key: bytes, subject_id: str, label: str, sealed: bytes) -> bytes:
        aad = f"{subject_id}\x00{label}".encode()
        try:
            return AESGCM(data_key).decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)
        except InvalidTag:
            raise DecryptionError(
                f"subject {subject_id}: value '{label}' fails authentication"
            ) from None
