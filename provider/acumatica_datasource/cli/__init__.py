"""The ``acumatica-ds`` command line.

Each subcommand lives in a module of its own with two functions, ``configure(parser)`` and
``run(args) -> int``. Modules import their heavy dependencies inside ``run`` so that a
command only pays for what it uses (``validate`` never imports pulumi or hvac).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand name -> (module, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("sandbox_cmd", "run the local Acumatica sandbox"),
}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand configured."""
    parser = argparse.ArgumentParser(
        prog="acumatica-ds",
        description="Acumatica data sources as code: validate, verify and deploy them.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in _COMMANDS.items():
        module = importlib.import_module(f"{__name__}.{module_name}")
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.configure(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args._module.run(args)
    except KeyboardInterrupt:
        print("acumatica-ds: interrupted", file=sys.stderr)
        return 130
    return code


def console_main() -> None:
    """Entry point of the ``acumatica-ds`` console script."""
    sys.exit(main())
