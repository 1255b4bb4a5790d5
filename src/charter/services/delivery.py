"""Posting JSON to an HTTPS endpoint outside Charter: a recipient's webhook (Art. 17(2), 19)
and a person's own choice of destination for their data (Art. 20(2)).

An address a person types could point Charter at its own network (server-side request
forgery), so the host is resolved once, every address it resolves to must be public (not
loopback, private, link-local, reserved or multicast) unless the operator allows private
networks (``CHARTER_PUSH_ALLOW_PRIVATE``), and the connection goes to that vetted address, with
the certificate checked against the host name. Redirects are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from charter.domain.errors import InvalidValue


class DeliveryFailed(Exception):
    """The endpoint did not take the data (unreachable, refused, not 2xx); try again later."""


def vet(url: str, *, allow_private: bool) -> tuple[str, int, str, str]:
    """The host, port, path and one vetted address of an https URL; ``InvalidValue`` when the
    URL is not https or leads to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidValue("the address must be an https:// URL")
    port = parts.port or 443
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InvalidValue(f"the host {parts.hostname} cannot be found") from None
    addresses = sorted({str(info[4][0]) for info in found})
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if not allow_private and not ip.is_global:
            raise InvalidValue(f"the host {parts.hostname} is not on the public internet")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port, path, addresses[0]


def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool = False,
    timeout: float = 10.0,
) -> int:
    """POST ``body`` (JSON) to ``url``; returns the 2xx status or raises ``DeliveryFailed``."""
    status, _ = post_json_answer(
        url, body, headers, allow_private=allow_private, timeout=timeout, max_answer=0
    )
    return status


def post_json_answer(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool = False,
    timeout: float = 10.0,
    max_answer: int = 1024 * 1024,
) -> tuple[int, bytes]:
    """``post_json`` that also returns the answer's body, of at most ``max_answer`` bytes (a
    longer answer is ``DeliveryFailed``: an endpoint cannot make Charter hold unbounded data)."""
    host, port, path, address = vet(url, allow_private=allow_private)
    context = ssl.create_default_context()
    try:
        raw = socket.create_connection((address, port), timeout=timeout)
        secure = context.wrap_socket(raw, server_hostname=host)
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        connection.sock = secure  # already connected to the vetted address
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={"Content-Type": "application/json", "User-Agent": "Charter", **headers},
            )
            response = connection.getresponse()
            status = response.status
            answer = response.read(max_answer + 1) if max_answer else b""
        finally:
            connection.close()
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailed(f"{host}: unreachable ({type(error).__name__})") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{host}: answered {status}")
    if len(answer) > max_answer:
        raise DeliveryFailed(f"{host}: answered more than {max_answer} bytes")
    return status, answer
