"""``acumatica-ds verify FILE...``: resolve secrets and verify data sources against their sites.

Exit 0 when every selected data source is ``ok`` or ``warning`` (or not verified because its
mode is ``off``), 1 otherwise (including an invalid file), 2 on usage errors, 130 or 143 when
SIGINT or SIGTERM interrupted it: no verification starts after the signal, those under way
stop at their next step and close their sessions, and the report says ``interrupted``.
In text output a verification taking longer than 5 s says what it waits for.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.cli import output
from acumatica_datasource.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from acumatica_datasource.cli.result import VerifiedFile
    from acumatica_datasource.spec import DataSource, Environment
    from acumatica_datasource.verify import ProgressBoard, Report, VerifyOptions

TICK_SECONDS = 0.5


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``verify``."""
    from acumatica_datasource.cli import render

    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="environment files (YAML), verified in order"
    )
    parser.add_argument(
        "--data-source",
        action="append",
        default=[],
        metavar="DESCRIPTION",
        help="verify only this data source (its description or id, in any of the files); "
        "repeatable",
    )
    output.add_sessions_option(parser)
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help=f"CA certificates to trust for the Acumatica sites (${variables.CA_BUNDLE})",
    )
    render.add_output_options(parser, "verify")


def run(args: argparse.Namespace) -> int:
    """Verify the selected data sources of each file (those of a file in parallel) and
    report."""
    import dataclasses

    from acumatica_datasource.cli import interrupts, render
    from acumatica_datasource.cli.render.text import report_line, verify_note
    from acumatica_datasource.cli.result import VerifiedFile, VerifyResult
    from acumatica_datasource.verify import ProgressBoard, VerifyOptions

    selected = _selected(args.files, args.data_source)
    try:
        options = VerifyOptions.from_environment(
            os.environ, sessions_per_site=args.sessions_per_site, ca_bundle=args.ca_bundle
        )
    except ValueError as exc:
        raise EnvironmentProblem(str(exc)) from None
    if options.ca_bundle is not None and not Path(options.ca_bundle).is_file():
        origin = "--ca-bundle" if args.ca_bundle else f"${variables.CA_BUNDLE}"
        raise UsageError(f"{origin}: {options.ca_bundle} is not a readable file of CA certificates")
    total = sum(len(sources) for _, _, sources in selected)
    where = args.files[0] if len(args.files) == 1 else f"{len(args.files)} files"
    output.note(f"verifying {total} data source{'s' * (total != 1)} of {where}")
    done = [0]
    lock = threading.Lock()

    def progress(report: Report) -> None:
        with lock:
            done[0] += 1
            output.note(f"[{done[0]}/{total}] {report_line(report)}")

    board = ProgressBoard()
    options = dataclasses.replace(options, board=board)

    def cancel(signum: signal.Signals, count: int) -> None:
        if count == 1:
            options.cancellation.cancel(f"the command received {signum.name}")
            output.note(
                "interrupted: no verification starts any more; those under way stop at their "
                "next step and close their sessions"
            )

    received = interrupts.current()
    if received.first is not None:  # a signal came while the files were read
        options.cancellation.cancel(f"the command received {received.describe()}")
    result = VerifyResult([])
    with received.on_signal(cancel), _progress_lines(board, enabled=args.format == "text"):
        for file, environment, sources in selected:
            verified = VerifiedFile(file, environment.environment)
            result.files.append(verified)
            verified.reports = _verify_file(environment, sources, options, progress, verified)
    if received.first is not None:
        result.signal = received.describe()
    render.deliver(result, args)
    if args.format == "text":
        output.note(verify_note(result))
    if result.status == "interrupted":
        return received.exit_code
    return 0 if result.succeeded else 1


def _selected(
    files: list[str], wanted_names: list[str]
) -> list[tuple[str, Environment, list[DataSource]]]:
    """Each file with its environment and the data sources to verify (all, or those named
    by ``--data-source``). Every file is read before anything is verified: the problems of
    all invalid files are reported together."""
    from acumatica_datasource.cli import exit_code
    from acumatica_datasource.spec import validate_file

    validations = [validate_file(name) for name in files]
    errors = [error for validation in validations if (error := validation.error()) is not None]
    if errors:
        worst = max(errors, key=exit_code)
        raise type(worst)([problem for error in errors for problem in error.problems])
    wanted = {name.strip().casefold() for name in wanted_names}
    selected = []
    found: set[str] = set()
    for validation in validations:
        environment = validation.environment
        assert environment is not None  # a file without problems has an environment
        sources = environment.data_sources
        if wanted:
            sources = [s for s in sources if {s.description.casefold(), s.data_source_id} & wanted]
            found |= {s.description.casefold() for s in sources} | {
                s.data_source_id for s in sources
            }
        selected.append((validation.file, environment, sources))
    missing = sorted(wanted - found)
    if missing:
        known = ", ".join(s.description for _, e, _ in selected for s in e.data_sources) or "none"
        where = files[0] if len(files) == 1 else ", ".join(files)
        raise UsageError(f"{where}: no data source {', '.join(missing)}; known: {known}")
    return selected


def _verify_file(
    environment: Environment,
    sources: list[DataSource],
    options: VerifyOptions,
    progress: Callable[[Report], None],
    verified: VerifiedFile,
) -> list[Report]:
    """Verify ``sources`` of one environment in parallel; time them on ``verified``."""
    from acumatica_datasource.secrets import SecretResolver
    from acumatica_datasource.verify import verify_all

    started = time.perf_counter()
    verified.started_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with SecretResolver(environment.vault) as resolver:
            return verify_all(
                [(source, environment.callback_url(source)) for source in sources],
                secrets=resolver,
                options=options,
                on_report=progress,
            )
    finally:
        verified.duration_ms = round((time.perf_counter() - started) * 1000)


@contextlib.contextmanager
def _progress_lines(board: ProgressBoard, *, enabled: bool) -> Iterator[None]:
    """While the block runs, say what slow verifications wait for (text output only)."""
    if not enabled:
        yield
        return

    def tick() -> None:
        for waiting in board.due():
            output.note(f"  ... {waiting.line()}")

    with output.ticking(TICK_SECONDS, tick):
        yield
