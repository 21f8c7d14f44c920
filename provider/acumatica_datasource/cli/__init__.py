"""The ``acumatica-ds`` command line.

Each subcommand lives in a module of its own with two functions, ``configure(parser)`` and
``run(args) -> int``. Only the module of the command being run is imported, and modules
import their heavy dependencies inside ``run``, so a command pays only for what it uses
(``validate`` never imports pulumi or hvac).

A command returns its exit code or raises; :func:`main` prints a raised error of the package
and exits with :func:`exit_code`, the one place where an error's type becomes a code. With
``--format json`` every command's last stdout line is one JSON object, also when it fails
before it could do anything (bad arguments, an invalid file, no passphrase, no Pulumi CLI):
``{"version": 1, "error": {"kind", "message"}, ...}`` (:mod:`.result`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.errors import AcumaticaDataSourceError, EnvironmentProblem, UsageError

WORKING = frozenset({"verify", "preview", "up", "refresh", "destroy", "promote"})
"""The commands that handle SIGINT and SIGTERM (see :mod:`.interrupts`)."""

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
    "output": ("output_cmd", "print the recorded outputs of an environment's data sources"),
    "sandbox": ("sandbox_cmd", "run the local Acumatica sandbox"),
}

DISTRIBUTION = "pulumi-acumatica-datasource"
"""The package that installs ``acumatica-ds``."""

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


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors also end with the JSON error object when the command
    line asks for ``--format json``."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            _print_json(_error_document(None, "usage", f"{self.prog}: {message}"))
        super().error(message)


class _Version(argparse.Action):
    """``--version``: the package's version (read only when asked, to keep start-up fast)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version(DISTRIBUTION)
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "unknown (not installed)"
        print(f"acumatica-ds {found} ({DISTRIBUTION})")
        parser.exit()


def wants_json(arguments: Sequence[str]) -> bool:
    """Whether the arguments ask for ``--format json`` (read before they are parsed)."""
    for index, argument in enumerate(arguments):
        if argument == "--format=json":
            return True
        if argument == "--format" and arguments[index + 1 : index + 2] == ["json"]:
            return True
    return False


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s own arguments are configured."""
    parser = _Parser(
        prog="acumatica-ds",
        description="Acumatica data sources as code: validate, verify and deploy them.",
    )
    parser.add_argument(
        "--version", action=_Version, help="print the version of acumatica-ds and exit"
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
    if command in WORKING:
        from acumatica_datasource.cli import interrupts

        with interrupts.handling():
            return _run(command, arguments)
    return _run(command, arguments)


def _run(command: str | None, arguments: list[str]) -> int:
    json_output = wants_json(arguments)
    _Parser.json_errors = json_output
    try:
        parser = build_parser(command if command in _COMMANDS else None)
        args = parser.parse_args(arguments)
    finally:
        _Parser.json_errors = False
    known = command if command in _COMMANDS else None
    try:
        code: int = args._module.run(args)
    except AcumaticaDataSourceError as exc:
        from acumatica_datasource.cli import output

        output.failure(exc)
        if json_output:
            _print_json(_error_document(known, exc.kind, str(exc), **_details(exc)))
        if known is not None:
            from acumatica_datasource.cli import render

            render.deliver_failure(known, exc, args)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("acumatica-ds: interrupted", file=sys.stderr)
        if json_output:
            _print_json(_error_document(known, "interrupted", "interrupted by SIGINT"))
        return 130
    except OSError as exc:  # the machine refused something (a file, a directory, a process)
        problem = EnvironmentProblem(
            f"{exc.strerror or type(exc).__name__}"
            + (f": {exc.filename}" if exc.filename else "")
            + " (a file or directory this command needs; check its path and permissions)"
        )
        print(f"acumatica-ds: {problem}", file=sys.stderr)
        if json_output:
            _print_json(_error_document(known, problem.kind, str(problem)))
        return exit_code(problem)
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if os.environ.get(variables.DEBUG):
            raise
        message = (
            f"internal error ({type(exc).__name__}); this is a bug: please report it, with the "
            f"output of the same command run with {variables.DEBUG}=1"
        )
        print(f"acumatica-ds: {message}", file=sys.stderr)
        if json_output:
            _print_json(_error_document(known, "internal", message))
        return EXIT_FAILED
    return code


def _error_document(command: str | None, kind: str, message: str, **extra: Any) -> dict[str, Any]:
    from acumatica_datasource.cli.result import error_document

    return error_document(command, kind, message, **extra)


def _details(error: AcumaticaDataSourceError) -> dict[str, Any]:
    """What the JSON error object adds for ``error``: a file's problems, one by one."""
    problems = getattr(error, "problems", None)
    if not problems:
        return {}
    return {"problems": [problem.as_dict() for problem in problems]}


def _print_json(document: dict[str, Any]) -> None:
    sys.stdout.flush()
    print(json.dumps(document, ensure_ascii=False), flush=True)


def console_main() -> None:
    """Entry point of the ``acumatica-ds`` console script."""
    sys.exit(main())
