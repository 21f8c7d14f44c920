"""The ``acumatica-ds`` command line.

Each subcommand lives in a module of its own with two functions, ``configure(parser)`` and
``run(args) -> int``. Only the module of the command being run is imported, and modules
import their heavy dependencies inside ``run``, so a command pays only for what it uses
(``validate`` never imports pulumi or hvac).

A command returns its exit code or raises; :func:`main` prints a raised error of the package
and exits with :func:`exit_code`, the one place where an error's type becomes a code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.errors import AcumaticaDataSourceError, UsageError

# subcommand name -> (module, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate_cmd", "check environment files offline"),
    "schema": ("schema_cmd", "print the JSON Schema of environment files"),
    "verify": ("verify_cmd", "resolve secrets and verify data sources against their sites"),
    "preview": ("stack_cmd", "preview the changes an environment file would make"),
    "up": ("stack_cmd", "verify and apply an environment file (create or update)"),
    "refresh": ("stack_cmd", "verify again and record what changed in the world"),
    "destroy": ("stack_cmd", "remove an environment's data sources from the stack"),
    "promote": ("promote_cmd", "apply environment files in order, stopping at a failure"),
    "sandbox": ("sandbox_cmd", "run the local Acumatica sandbox"),
}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# error type -> exit code; the first match wins
_EXIT_CODES: tuple[tuple[type[AcumaticaDataSourceError], int], ...] = (
    (UsageError, EXIT_USAGE),
    (AcumaticaDataSourceError, EXIT_FAILED),
)


def exit_code(error: AcumaticaDataSourceError) -> int:
    """The exit code of an error: 2 for a :class:`~acumatica_datasource.errors.UsageError`
    (a file that cannot be read, a missing passphrase, an unknown name), 1 for the rest."""
    return next(code for kind, code in _EXIT_CODES if isinstance(error, kind))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s own arguments are configured."""
    parser = argparse.ArgumentParser(
        prog="acumatica-ds",
        description="Acumatica data sources as code: validate, verify and deploy them.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in _COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(f"{__name__}.{module_name}")
            module.configure(sub)
            sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in arguments if not a.startswith("-")), None)
    parser = build_parser(command if command in _COMMANDS else None)
    args = parser.parse_args(arguments)
    try:
        code: int = args._module.run(args)
    except AcumaticaDataSourceError as exc:
        from acumatica_datasource.cli import output

        output.failure(exc)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("acumatica-ds: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if os.environ.get(variables.DEBUG):
            raise
        print(
            f"acumatica-ds: internal error ({type(exc).__name__}); this is a bug: please "
            f"report it, with the output of the same command run with {variables.DEBUG}=1",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return code


def console_main() -> None:
    """Entry point of the ``acumatica-ds`` console script."""
    sys.exit(main())
