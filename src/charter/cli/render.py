"""``charter policy render``: the public privacy policy, from the manifest, as HTML or Markdown.

``--format html`` (default) writes one self-contained page, ``--format md`` the same content as
Markdown; ``--brand KEY`` one brand's policy; ``--output FILE`` a file instead of stdout. Links
to the privacy center start with ``CHARTER_PUBLIC_BASE_URL``, as the file is published on
another site; a brand's HTML page also loads the cookie banner from there, so that its
"Cookie settings" link opens the banner. An unknown brand or format is bad usage (exit 2, the
message naming the option); a manifest that does not load, or a file that cannot be written,
exits 1.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class PolicyFormat(StrEnum):
    HTML = "html"
    MD = "md"


def emit(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output``, or to stdout without one; exit 1 naming the file when it
    cannot be written."""
    from charter.cli import fail

    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None


def policy_render(
    format: Annotated[
        PolicyFormat, typer.Option("--format", "-f", help="html or md.", case_sensitive=False)
    ] = PolicyFormat.HTML,
    brand: Annotated[str | None, typer.Option(help="Render one brand's policy.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE.")] = None,
) -> None:
    """Render the public privacy policy from the manifest, as HTML or Markdown."""
    from charter.cli import err, fail, load_settings
    from charter.domain.errors import CharterError
    from charter.manifest import load_manifest
    from charter.manifest.render import render_policy_html, render_policy_markdown

    settings = load_settings()
    try:
        manifest = load_manifest(settings.manifest)
    except CharterError as exc:
        raise fail(exc.message) from None
    if brand is not None and brand not in manifest.brands:
        err.print(
            f"error: --brand: no brand '{brand}' in {settings.manifest} "
            f"(brands: {', '.join(manifest.brands)})",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(2)
    base_url = settings.public_base_url
    if format is PolicyFormat.MD:
        text = render_policy_markdown(manifest, brand, base_url=base_url)
    else:
        text = render_policy_html(manifest, brand, base_url=base_url, banner=True)
    emit(text, output)
