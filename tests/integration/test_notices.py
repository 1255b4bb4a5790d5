"""Telling recipients of an erasure: who is told, and the signed webhook notice, delivered to a
real HTTPS server on loopback (a self-signed certificate the test trusts)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from charter.domain.requests import RequestType
from charter.facade import Charter
from charter.manifest.models import RecipientNotice
from charter.services.notices import NoticeFailed, Notifier, recipients_to_notify

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


def certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def webhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    received: dict[str, Any] = {"bodies": [], "headers": [], "status": 204}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received["bodies"].append(self.rfile.read(length))
            received["headers"].append(dict(self.headers))
            self.send_response(received["status"])
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    cert, key = certificate(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's own certificate only
    received["url"] = f"https://127.0.0.1:{server.server_address[1]}/notices"
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def test_only_holders_of_the_data_are_told(charter: Charter) -> None:
    manifest = charter.manifest
    told = recipients_to_notify(manifest, ["user.contact.email"])
    for key in told:
        assert manifest.recipients[key].kind.value in ("processor", "affiliate", "third_party")
    assert recipients_to_notify(manifest, ["no.such.category"]) == []


def test_a_signed_notice_reaches_the_webhook(
    charter: Charter, webhook: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = next(iter(charter.manifest.recipients))
    notice = RecipientNotice(webhook=webhook["url"], secret_env="CHARTER_TEST_WEBHOOK_SECRET")
    recipients = dict(charter.manifest.recipients)
    recipients[key] = recipients[key].model_copy(update={"notify": notice})
    manifest = charter.manifest.model_copy(update={"recipients": recipients})
    monkeypatch.setenv("CHARTER_TEST_WEBHOOK_SECRET", "s3cret-for-tests")
    notifier = Notifier(manifest, charter.store, charter.outbox)
    summary = notifier.notify(
        key, "req-1", RequestType.ERASURE, {"email": ["ann@example.org"]}, NOW
    )
    assert summary == {"via": "webhook", "recipient": key, "status": 204}
    [body] = webhook["bodies"]
    notice = json.loads(body)
    assert notice == {
        "request_id": "req-1",
        "type": "erasure",
        "recipient": key,
        "identities": {"email": ["ann@example.org"]},
        "sent_at": NOW.isoformat(),
    }
    expected = hmac.new(b"s3cret-for-tests", body, hashlib.sha256).hexdigest()
    assert webhook["headers"][0]["Charter-Signature"] == f"sha256={expected}"
    webhook["status"] = 503
    with pytest.raises(NoticeFailed, match="503"):
        notifier.notify(key, "req-2", RequestType.ERASURE, {"email": ["ann@example.org"]}, NOW)
    monkeypatch.delenv("CHARTER_TEST_WEBHOOK_SECRET")
    with pytest.raises(Exception, match="CHARTER_TEST_WEBHOOK_SECRET"):
        notifier.notify(key, "req-3", RequestType.ERASURE, {"email": ["ann@example.org"]}, NOW)
