"""``acumatica-ds preview|up|refresh|destroy --env FILE``: run an environment through Pulumi.

Exit 0 on success; 1 when the file is invalid, the deployment failed, a data source failed
(for ``up``, a ``strict`` one whose verification does not pass now; for ``refresh``, any whose
verification failed now) or the stack is held by another run; 2 on usage and environment
problems (bad arguments, no passphrase, no Pulumi CLI, a malformed setting variable); 130 or
143 when SIGINT or SIGTERM interrupted the run.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.cli import output
from acumatica_datasource.errors import AcumaticaDataSourceError, EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from acumatica_datasource.cli.engine import EngineRunner
    from acumatica_datasource.cli.interrupts import Interrupts
    from acumatica_datasource.cli.result import StackResult
    from acumatica_datasource.spec import Environment


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments shared by the four stack commands (and ``destroy``'s ``--yes``)."""
    from acumatica_datasource.cli import render

    parser.add_argument("--env", required=True, metavar="FILE", help="an environment file")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="ID",
        help="operate on the data source with this id only (repeat for more); the others are "
        "left as they are",
    )
    if parser.prog.rsplit(" ", 1)[-1] == "destroy":
        parser.add_argument(
            "--yes",
            action="store_true",
            help="destroy without asking (a run whose input is not a terminal needs it)",
        )
    add_engine_options(parser)
    render.add_output_options(parser, parser.prog.rsplit(" ", 1)[-1])


def add_engine_options(parser: argparse.ArgumentParser, *, stack: bool = True) -> None:
    """Options shared with ``promote``."""
    add_stack_options(parser, stack=stack)
    output.add_sessions_option(parser)
    parser.add_argument(
        "--wait-lock",
        type=output.at_least(0.0, float, "a number of seconds"),
        default=0.0,
        metavar="SECONDS",
        help="when another run holds the stack, wait up to SECONDS for it to end (default: "
        "fail at once)",
    )
    parser.add_argument(
        "--clear-pending",
        action="store_true",
        help="drop the lock and the pending operations a run that is no longer alive left "
        "behind, then converge (refused while that run is alive)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="with --clear-pending: also clear a lock held by a run on another host, whose "
        "liveness cannot be checked from here",
    )


def add_stack_options(parser: argparse.ArgumentParser, *, stack: bool = True) -> None:
    """Which stack, of which project, in which state: ``--stack``, ``--project``, ``--state``
    (shared with ``promote``, which has no ``--stack``, and ``output``)."""
    if stack:
        parser.add_argument(
            "--stack", metavar="NAME", help="the stack (default: the file's environment)"
        )
    parser.add_argument(
        "--project",
        type=project_name,
        metavar="NAME",
        help="the Pulumi project of the stack (default: the file's project, else "
        "acumatica-datasources)",
    )
    parser.add_argument(
        "--state",
        metavar="DIR",
        help=f"local state directory (default ${variables.STATE_DIR} or ./.acumatica-ds/state; "
        "ignored when PULUMI_BACKEND_URL is set)",
    )


def project_name(text: str) -> str:
    """An argparse type: a Pulumi project name, as the ``project`` key allows (a usage error,
    exit 2, otherwise)."""
    from acumatica_datasource.spec import project_problem

    problem = project_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


def check_settings() -> None:
    """Fail before the engine starts when a setting variable is malformed (the provider
    would otherwise fail each data source with it)."""
    from acumatica_datasource.resource.settings import ProviderSettings, SettingsError

    try:
        ProviderSettings.load({}, os.environ)
    except SettingsError as exc:
        raise EnvironmentProblem(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Run one operation on the environment's stack."""
    from acumatica_datasource.cli import interrupts, render
    from acumatica_datasource.cli.result import stack_label
    from acumatica_datasource.spec import validate_file

    validated = validate_file(args.env)
    error = validated.error()
    if error is not None:
        raise error
    environment = validated.environment
    assert environment is not None  # a file without problems has an environment
    misnamed = validated.name_mismatch()
    if misnamed is not None:
        output.note(f"warning: {misnamed}")
    check_settings()
    stack = args.stack or environment.environment
    label = stack_label(args.project or environment.project, stack)
    output.note(
        f"{args.command} {label}: {len(environment.data_sources)} data source(s) from {args.env}"
    )
    runner = engine_runner(args, environment, stack)
    if args.command == "destroy" and not args.yes:
        confirm_destroy(runner, label)
    result = runner.run(args.command)
    if args.target:
        result.say(
            "info",
            f"targeted {', '.join(args.target)}: the other data sources were left as they are",
        )
    if misnamed is not None:
        result.say("warning", str(misnamed))
    render.deliver(result, args)
    return exit_code(result, interrupts.current())


def engine_runner(args: argparse.Namespace, environment: Environment, stack: str) -> EngineRunner:
    """The engine driver for ``stack`` as the command line's options say (shared with
    ``promote``)."""
    from acumatica_datasource.cli import interrupts
    from acumatica_datasource.cli.engine import EngineRunner, EngineSettings

    settings = EngineSettings(
        state_dir=EngineSettings.state_directory(args.state),
        stack=stack,
        project=args.project or environment.project,
        sessions_per_site=args.sessions_per_site,
        clear_pending=args.clear_pending,
        force=args.force,
        wait_lock=args.wait_lock,
        targets=tuple(dict.fromkeys(getattr(args, "target", None) or ())),
    )
    return EngineRunner(
        environment,
        settings,
        write=output.note,
        progress=output.note if args.format == "text" else None,
        interrupts=interrupts.current(),
    )


class DestroyDeclined(AcumaticaDataSourceError):
    """The person at the terminal did not confirm ``destroy``."""

    kind = "declined"


def confirm_destroy(runner: EngineRunner, label: str) -> None:
    """Ask on the terminal before ``destroy`` removes anything; refuse (a usage error) when
    the input is no terminal, where only ``--yes`` confirms."""
    from acumatica_datasource.cli import interrupts
    from acumatica_datasource.cli.engine import EngineError

    if not sys.stdin.isatty():
        raise UsageError(
            f"destroy {label} asks for confirmation, and this run is not interactive (its "
            "input is not a terminal): pass --yes to destroy without asking"
        )
    targets = list(runner.settings.targets)
    try:
        recorded = list(runner.recorded_outputs())
    except EngineError:  # no such stack: nothing to remove, the engine says so
        return
    doomed = [i for i in recorded if i in targets] if targets else recorded
    if not doomed:
        return
    sys.stderr.write(
        f"destroy {label} removes from the stack {len(doomed)} data source(s): "
        f"{', '.join(doomed)} (their recorded definitions and outputs; the BI server, "
        "Acumatica and Vault are not touched).\nType yes to destroy them: "
    )
    sys.stderr.flush()

    def stop(_received: object, _count: int) -> None:
        raise KeyboardInterrupt

    with interrupts.current().on_signal(stop):
        answer = sys.stdin.readline()
    if answer.strip().lower() != "yes":
        raise DestroyDeclined(f"destroy {label} was not confirmed: nothing was removed")


def exit_code(result: StackResult, received: Interrupts) -> int:
    """0 when the run succeeded, 1 when it failed, 130/143 when a signal interrupted it."""
    if result.status == "interrupted":
        return received.exit_code or 130
    return 0 if result.succeeded else 1
