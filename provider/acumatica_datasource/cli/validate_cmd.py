"""``acumatica-ds validate FILE...``: check environment files offline.

Exit 0 when every file is valid, 1 when any is invalid, 2 on usage errors (including a
file that cannot be read). Problems go to stdout as ``FILE:LINE: path: message``.
"""

from __future__ import annotations

import argparse
import json
import sys

from acumatica_datasource.cli import EXIT_OK, exit_code, output


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``validate``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="environment files (YAML)")
    output.add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Validate every file; print every problem."""
    from acumatica_datasource.cli.result import RESULT_VERSION
    from acumatica_datasource.spec import validate_file

    results = [validate_file(name) for name in args.files]
    problems = [problem for result in results for problem in result.problems]
    if args.format == "json":
        document = {
            "version": RESULT_VERSION,
            "command": "validate",
            "valid": not problems,
            "errors": [p.as_dict() for p in problems],
        }
        print(json.dumps(document, ensure_ascii=False))
    else:
        for problem in problems:
            print(problem)
        for result in results:
            if result.environment is not None:
                count = len(result.environment.data_sources)
                output.note(f"{result.file}: valid ({count} data source{'s' * (count != 1)})")
        if problems:
            invalid = sum(1 for r in results if not r.valid)
            output.note(
                f"{invalid} of {len(results)} file{'s' * (len(results) != 1)} invalid, "
                f"{len(problems)} problem{'s' * (len(problems) != 1)}"
            )
    sys.stdout.flush()
    errors = [error for result in results if (error := result.error()) is not None]
    return max(map(exit_code, errors), default=EXIT_OK)
