"""Output formats: one renderer per format, each reading the result objects of
:mod:`acumatica_datasource.cli.result` (never another format's output).

======== ====================================================== ==============================
format   commands                                               for
======== ====================================================== ==============================
text     every command                                          people at a terminal
json     every command                                          programs (one object, last line)
github   validate                                               GitHub Actions annotations
sarif    validate                                               code scanning (SARIF 2.1.0)
junit    verify (also ``--junit FILE`` beside another format)   CI test reports
markdown verify, preview, up, refresh, destroy, promote         job summaries, PR comments
======== ====================================================== ==============================

Each format is a module here with one ``render(result) -> str``. :func:`deliver` prints the
chosen format, writes ``--junit FILE`` and appends the Markdown summary to
``$GITHUB_STEP_SUMMARY`` (unless ``--no-summary``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from acumatica_datasource import environment_variables as variables

if TYPE_CHECKING:
    from acumatica_datasource.cli.result import (
        FailedCommand,
        PromoteResult,
        StackResult,
        ValidateResult,
        VerifyResult,
    )
    from acumatica_datasource.errors import AcumaticaDataSourceError

    Result = ValidateResult | VerifyResult | StackResult | PromoteResult | FailedCommand

_STACK = ("text", "json", "markdown")
FORMATS: dict[str, tuple[str, ...]] = {
    "validate": ("text", "json", "github", "sarif"),
    "verify": ("text", "json", "junit", "markdown"),
    "preview": _STACK,
    "up": _STACK,
    "refresh": _STACK,
    "destroy": _STACK,
    "promote": _STACK,
    "output": ("text", "json"),
}
"""The formats of each command (the first is the default)."""

_HELP = {
    "text": "text for people (default)",
    "json": "one JSON object for programs",
    "github": "GitHub Actions annotations",
    "sarif": "SARIF 2.1.0 for code scanning",
    "junit": "JUnit XML",
    "markdown": "a Markdown summary",
}


def add_output_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add ``--format`` with ``command``'s formats, ``--junit FILE`` where JUnit is one of
    them, and ``--no-summary`` where Markdown is."""
    formats = FORMATS[command]
    parser.add_argument(
        "--format",
        choices=formats,
        default=formats[0],
        help="; ".join(_HELP[name] for name in formats),
    )
    if "junit" in formats:
        parser.add_argument(
            "--junit",
            metavar="FILE",
            help="also write the JUnit XML report to FILE (beside any --format)",
        )
    if "markdown" in formats:
        parser.add_argument(
            "--no-summary",
            action="store_true",
            help=f"do not append the Markdown summary to ${variables.STEP_SUMMARY} (GitHub "
            "Actions sets it; the summary is appended whenever it is set)",
        )


def render(result: Result, format_: str) -> str:
    """``result`` in ``format_`` (a name of :data:`FORMATS`), without a final newline."""
    module = importlib.import_module(f"{__name__}.{format_}")
    text: str = module.render(result)
    return text


def deliver(result: Result, args: argparse.Namespace, *, stdout: bool = True) -> bool:
    """Print ``result`` in ``args.format`` on stdout, write the ``--junit`` file and append
    the Markdown summary to ``$GITHUB_STEP_SUMMARY``. False when a file could not be written
    (said on stderr; the command's output is complete all the same)."""
    written = True
    junit = getattr(args, "junit", None)
    if junit:
        written &= _write(Path(junit), render(result, "junit") + "\n", "--junit", append=False)
    summary = step_summary(args)
    if summary is not None:
        written &= _write(summary, render(result, "markdown") + "\n\n", variables.STEP_SUMMARY)
    text = render(result, args.format) if stdout else ""
    if text:
        print(text, flush=True)
    return written


def deliver_failure(
    command: str, error: AcumaticaDataSourceError, args: argparse.Namespace
) -> None:
    """Report a command that failed before it had a result in the CI formats: as the
    ``--format`` (Markdown or JUnit; text and JSON are printed by the caller), in the
    ``--junit`` file and in ``$GITHUB_STEP_SUMMARY``, so a pipeline's report says why."""
    from acumatica_datasource.cli.result import FailedCommand

    failed = FailedCommand(command, error.kind, str(error), list(getattr(error, "problems", [])))
    printed = getattr(args, "format", "text") in ("markdown", "junit")
    if printed or getattr(args, "junit", None) or step_summary(args):
        deliver(failed, args, stdout=printed)


def step_summary(args: argparse.Namespace) -> Path | None:
    """The file to append the Markdown summary to: ``$GITHUB_STEP_SUMMARY`` when it is set,
    the command renders Markdown and ``--no-summary`` is not given."""
    if getattr(args, "no_summary", True):
        return None
    path = os.environ.get(variables.STEP_SUMMARY, "").strip()
    return Path(path) if path else None


def _write(path: Path, text: str, origin: str, *, append: bool = True) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        print(f"acumatica-ds: {origin}: cannot write {path}: {reason}", file=sys.stderr)
        return False
    return True
