"""``acumatica-ds preview|up|refresh|destroy --env FILE``: run an environment through Pulumi.

Exit 0 on success, 1 on failure (an invalid file, a failed deployment, or after a refresh a
strict-mode data source whose verification now fails), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.cli import output

if TYPE_CHECKING:
    from acumatica_datasource.cli.engine import OperationResult
    from acumatica_datasource.spec import Environment


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments shared by the four stack commands."""
    parser.add_argument("--env", required=True, metavar="FILE", help="an environment file")
    add_engine_options(parser)
    output.add_format_option(parser)


def add_engine_options(parser: argparse.ArgumentParser, *, stack: bool = True) -> None:
    """Options shared with ``promote``."""
    if stack:
        parser.add_argument(
            "--stack", metavar="NAME", help="the stack (default: the file's environment)"
        )
    parser.add_argument(
        "--state",
        metavar="DIR",
        help=f"local state directory (default ${variables.STATE_DIR} or ./.acumatica-ds/state; "
        "ignored when PULUMI_BACKEND_URL is set)",
    )
    output.add_sessions_option(parser)
    parser.add_argument(
        "--clear-pending",
        action="store_true",
        help="drop operations an interrupted run left pending (and a stale lock), then converge",
    )


def run(args: argparse.Namespace) -> int:
    """Run one operation on the environment's stack."""
    from acumatica_datasource.cli.engine import EngineRunner, EngineSettings
    from acumatica_datasource.spec import load_environment

    environment = load_environment(args.env)
    settings = EngineSettings(
        state_dir=EngineSettings.state_directory(args.state),
        stack=args.stack or environment.environment,
        sessions_per_site=args.sessions_per_site,
        clear_pending=args.clear_pending,
    )
    output.note(
        f"{args.command} {settings.stack}: {len(environment.data_sources)} data source(s) "
        f"from {args.env}"
    )
    result = EngineRunner(environment, settings, write=output.note).run(args.command)
    print_result(result, args.format)
    return exit_code(result, environment)


def exit_code(result: OperationResult, environment: Environment) -> int:
    """1 when the operation failed, or a refresh found a strict data source failing."""
    if not result.succeeded:
        return 1
    if result.operation == "refresh":
        strict = {
            s.data_source_id for s in environment.data_sources if s.verification.mode == "strict"
        }
        if any(
            d.verification == "failed" and d.data_source_id in strict for d in result.data_sources
        ):
            return 1
    return 0


def print_result(result: OperationResult, format_: str) -> None:
    """The summary: a table for people, or one JSON object as the last stdout line."""
    if format_ == "json":
        document = result.as_dict()
        print(json.dumps({"stack": document.pop("stack"), **document}, ensure_ascii=False))
        return
    changes = ", ".join(f"{count} {kind}" for kind, count in result.changes.items())
    state = "succeeded" if result.succeeded else "FAILED"
    print(f"{result.operation} {result.stack}: {state} ({changes})")
    for source in result.data_sources:
        line = f"  {source.description} [{source.data_source_id}]: {source.status}"
        if source.verification:
            line += f", verification {source.verification}"
        print(line)
        if source.callback_url and source.status not in ("deleted", "delete"):
            print(f"      callback URL: {source.callback_url} (register it in Acumatica)")
        for message in source.messages:
            print(f"      {message}")
    for error in result.errors:
        print(f"  error: {error}")
