"""The public privacy policy as HTML (``/policy``, ``charter policy render``) and as Markdown
(``charter policy render --format md``): two templates over one ``PolicyContext``
(``charter.manifest.policy_content``), so both carry the same content.

The HTML page is self-contained (its style inline, allowed by hash when served: ``policy_styles``)
and accessible: ``lang``, a skip link, a table of contents, one ``h1`` and sections headed in
order, tables with captions and ``scope``. The Markdown escapes every manifest value for its own
syntax (``_tw_id`` stays a cookie name, a ``|`` cannot break a table).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from charter.manifest.models import Manifest
from charter.manifest.policy_content import SECTIONS, PolicyContext, policy_context
from charter.manifest.wording import BASIS_TEXT

__all__ = [
    "BASIS_TEXT",
    "SECTIONS",
    "PolicyContext",
    "policy_context",
    "policy_styles",
    "render_policy_html",
    "render_policy_markdown",
]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_LINE_BREAK = re.compile(r"\s*\n\s*")


def _markdown_text(value: object) -> object:
    """Every value a Markdown template prints is escaped, so that manifest text (a cookie named
    ``_tw_id``, a ``|`` in a description) can never change the document's structure."""
    if isinstance(value, str):
        return _MARKDOWN_SPECIAL.sub(r"\\\1", _LINE_BREAK.sub(" ", value))
    return value


def _long_date(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"


def _sentence(text: str) -> str:
    """Manifest text as a sentence: a capital first letter and a closing full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _filters(environment: Environment) -> Environment:
    environment.filters["long_date"] = _long_date
    environment.filters["sentence"] = _sentence
    return environment


@cache
def _html_environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("charter.manifest", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return _filters(environment)


@cache
def _markdown_environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("charter.manifest", "templates"),
        autoescape=False,  # noqa: S701 (Markdown, escaped by finalize for its own syntax)
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_markdown_text,
        keep_trailing_newline=True,
    )
    return _filters(environment)


def render_policy_html(
    manifest: Manifest, brand: str | None = None, *, base_url: str = "", banner: bool = False
) -> str:
    """The policy as one complete, accessible HTML page (per brand when ``brand`` is given).

    ``banner`` (with a brand) loads the cookie banner script from ``base_url``, so that the
    page's "Cookie settings" link (``data-charter-action="open"``) opens it wherever the file
    is published; the page Charter serves itself leaves it out, as a choice made on Charter's
    own origin would not govern the cookies of the brand's sites."""
    context = policy_context(manifest, brand, base_url=base_url)
    banner_src = f"{base_url.rstrip('/')}/cookie-banner.js" if banner and brand else None
    return (
        _html_environment().get_template("policy.html.j2").render(c=context, banner_src=banner_src)
    )


def render_policy_markdown(
    manifest: Manifest, brand: str | None = None, *, base_url: str = ""
) -> str:
    """The same policy as Markdown (CommonMark with pipe tables), for a site generator or a
    repository; manifest text is escaped so that it is shown as written."""
    context = policy_context(manifest, brand, base_url=base_url)
    return _markdown_environment().get_template("policy.md.j2").render(c=context)


@cache
def policy_styles() -> tuple[str, ...]:
    """The exact text of the policy page's inline ``<style>`` blocks. The page keeps its CSS
    inline so that ``charter policy render`` writes one self-contained file; served, its CSP
    allows these blocks by hash. They hold no template code, so the source is the output."""
    environment = _html_environment()
    assert environment.loader is not None
    source, _, _ = environment.loader.get_source(environment, "policy.html.j2")
    return tuple(re.findall(r"<style>(.*?)</style>", source, re.S))
