"""Security headers, in one place: an ASGI middleware over the whole app.

Every response gets ``X-Content-Type-Options: nosniff``, and, when the request came over TLS,
``Strict-Transport-Security`` (behind a proxy, uvicorn sets the scheme from
``X-Forwarded-Proto`` only for the proxies that ``--forwarded-allow-ips`` trusts; a browser
ignores the header over plain http anyway). Every ``text/html`` response also gets a
``Content-Security-Policy`` without ``'unsafe-inline'``, with ``frame-ancestors 'none'``, and
``Referrer-Policy: no-referrer`` (pages carry capabilities in their URLs: unsubscribe links,
verification codes).

A response that sets its own header keeps it: the demo brand page (a stricter policy of its
own), the policy page (its inline style allowed by hash, ``policy_csp``), the API's
interactive documentation (its CDN assets). The pages' styles are static files
(``charter.web.styles``), never inline ``<style>`` or ``style=``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000; includeSubDomains"
REFERRER_POLICY = "no-referrer"


def content_security_policy(
    *, style_src: Iterable[str] = ("'self'",), img_src: Iterable[str] = ("'self'",)
) -> str:
    """A page's policy: nothing but same-origin stylesheets and images, no script, forms
    posting back to this origin only, never framed."""
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src {' '.join(style_src)}",
            f"img-src {' '.join(img_src)}",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


DEFAULT_CSP = content_security_policy()


def sha256_source(text: str) -> str:
    """The CSP hash source of an inline block's exact text (CSP Level 2, 4.2.4)."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def secure(headers: MutableHeaders, *, tls: bool) -> None:
    """Add the headers a response lacks (see the module docstring)."""
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if tls:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if headers.get("content-type", "").startswith("text/html"):
        headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                secure(MutableHeaders(scope=message), tls=tls)
            await send(message)

        await self.app(scope, receive, send_secured)
