"""``charter policy publish`` and ``charter policy diff``: thin calls into
``charter.services.policy_versions`` (see there for the rules)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from charter.domain.errors import CharterError, ManifestError, NotFound
from charter.domain.policy_diff import Change
from charter.manifest import Manifest

_LOOKS_LIKE_A_FILE = (".yaml", ".yml", ".json")


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date such as 2027-01-31", param_hint="--effective"
        ) from None


def policy_publish(
    effective: Annotated[
        str | None,
        typer.Option(
            "--effective",
            help="The date it takes effect (default: policy.effective_date); with a material "
            "change, at least policy.notice_days from today.",
        ),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Manifest file (default: CHARTER_MANIFEST).")
    ] = None,
) -> None:
    """Publish the manifest as a new version of the policy, and tell the people a material
    change concerns."""
    from charter.cli import err, fail, load_settings, out
    from charter.facade import Charter
    from charter.manifest import check_manifest

    when = _date(effective)
    settings = load_settings()
    path = file or settings.manifest
    problems = check_manifest(path)
    if problems:
        for problem in problems:
            err.print(problem, highlight=False, markup=False)
        raise fail(f"{len(problems)} problem(s) in {path}; not publishing it")
    text = path.read_text(encoding="utf-8")
    try:
        with Charter.open(settings) as charter:
            done = charter.policy_versions.publish(
                text, effective=when, actor="cli", source=str(path)
            )
            sent = 0
            while delivered := charter.outbox.deliver():
                sent += delivered
    except CharterError as exc:
        raise fail(exc.message) from None
    if not done.created:
        out.print(
            f"{done.version} is already published with this content (effective "
            f"{done.effective_on}); nothing to do",
            highlight=False,
        )
        return
    since = f" from {done.previous}" if done.previous else " (the first version)"
    out.print(f"published {done.version}, effective {done.effective_on}{since}", highlight=False)
    _print_changes(done.changes, done.previous)
    notices = done.notices
    if any(c.material for c in done.changes):
        out.print(
            f"notices: {notices['people']} people told, {notices['consent_asks']} consent(s) "
            f"asked, {notices['unreachable']} concerned without an e-mail address; "
            f"{sent} message(s) sent now",
            highlight=False,
        )


def policy_diff(
    old: Annotated[str, typer.Argument(help="A manifest file, or a published version.")],
    new: Annotated[str, typer.Argument(help="A manifest file, or a published version.")],
) -> None:
    """Print the changes from OLD to NEW in plain words, each marked material or not."""
    from charter.cli import err, fail, load_settings
    from charter.facade import Charter
    from charter.manifest import load_manifest
    from charter.services.policy_facts import compare

    manifests: list[Manifest] = []
    with ExitStack() as stack:
        charter: Charter | None = None
        for name, given in (("OLD", old), ("NEW", new)):
            path = Path(given)
            if path.is_file():
                try:
                    manifests.append(load_manifest(path))
                except ManifestError as exc:
                    for problem in exc.problems:
                        err.print(problem, highlight=False, markup=False)
                    raise fail(f"{name}: {path} is not a valid manifest") from None
                continue
            if path.suffix in _LOOKS_LIKE_A_FILE or "/" in given:
                err.print(f"error: {name}: no such file: {given}", highlight=False, markup=False)
                raise typer.Exit(2)
            try:
                if charter is None:
                    charter = stack.enter_context(Charter.open(load_settings()))
                manifests.append(charter.policy_versions.manifest_of(given)[0])
            except NotFound:
                err.print(
                    f"error: {name}: '{given}' is neither a file nor a published version",
                    highlight=False,
                    markup=False,
                )
                raise typer.Exit(2) from None
            except CharterError as exc:
                raise fail(exc.message) from None
    before, after = manifests
    _print_changes(compare(before, after), before.policy.version, after.policy.version)


def _print_changes(changes: Sequence[Change], old: str | None, new: str | None = None) -> None:
    from charter.cli import out

    if new is not None:
        material = sum(c.material for c in changes)
        out.print(f"{old} -> {new}: {len(changes)} change(s), {material} material", highlight=False)
    if old is not None and not changes:
        out.print("  no change to what the policy says", highlight=False)
    for change in changes:
        mark = "material    " if change.material else "not material"
        out.print(f"  {mark}  {change.text}", highlight=False, markup=False)
