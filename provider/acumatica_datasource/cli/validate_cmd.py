"""``acumatica-ds validate FILE...``: check environment files offline.

Exit 0 when every file is valid, 1 when any is invalid, 2 on usage errors (including a
file that cannot be read). Problems go to stdout in the chosen format: text lines
``FILE:LINE: path: message``, one JSON object, GitHub Actions annotations or a SARIF log.
"""

from __future__ import annotations

import argparse

from acumatica_datasource.cli import EXIT_OK, exit_code, output


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``validate``."""
    from acumatica_datasource.cli import render

    parser.add_argument("files", nargs="+", metavar="FILE", help="environment files (YAML)")
    render.add_output_options(parser, "validate")


def run(args: argparse.Namespace) -> int:
    """Validate every file; report every problem."""
    from acumatica_datasource.cli import render
    from acumatica_datasource.cli.render.text import validate_notes
    from acumatica_datasource.cli.result import ValidateResult
    from acumatica_datasource.spec import validate_file

    result = ValidateResult([validate_file(name) for name in args.files])
    render.deliver(result, args)
    if args.format != "json":
        for line in validate_notes(result):
            output.note(line)
    errors = [error for validation in result.files if (error := validation.error()) is not None]
    return max(map(exit_code, errors), default=EXIT_OK)
