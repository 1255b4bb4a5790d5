"""What every web page shares: the template environment and the app's Charter."""

from __future__ import annotations

import re
from functools import cache

from fastapi import Request, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from charter.facade import Charter


@cache
def environment() -> Environment:
    """The pages' templates, HTML-escaped by default."""
    return Environment(
        loader=PackageLoader("charter.web", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def charter_of(request: Request) -> Charter:
    """The app's Charter, as a FastAPI dependency."""
    charter: Charter = request.app.state.charter
    return charter


def package_download(charter: Charter, request_id: str) -> Response:
    """A request's access package as a download (the caller has checked the person's token)."""
    return Response(
        charter.requests.package(request_id),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="my-data-{request_id[:8]}.zip"',
            "Cache-Control": "no-store",
        },
    )


def attachment(name: str, content: bytes) -> Response:
    """Bytes as a download, never rendered (an uploaded page must not run in Charter's origin):
    ``application/octet-stream``, ``nosniff`` (added to every answer) and a file name reduced to
    letters, digits, dots, hyphens and underscores (nothing to break out of the header)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "document"
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe[:100]}"',
            "Cache-Control": "no-store",
        },
    )


def sentence(message: str) -> str:
    """An error message as a page shows it: a capital first letter and a full stop."""
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
