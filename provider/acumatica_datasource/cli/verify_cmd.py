"""``acumatica-ds verify FILE``: resolve secrets and verify data sources against their sites.

Exit 0 when every selected data source is ``ok`` or ``warning`` (or not verified because its
mode is ``off``), 1 otherwise (including an invalid file), 2 on usage errors, 130 or 143 when
SIGINT or SIGTERM interrupted it: no verification starts after the signal, those under way
stop at their next step and close their sessions, and the report says ``interrupted``.
In text output a verification taking longer than 5 s says what it waits for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.cli import output
from acumatica_datasource.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from acumatica_datasource.verify import ProgressBoard, Report

TICK_SECONDS = 0.5


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``verify``."""
    parser.add_argument("file", metavar="FILE", help="an environment file (YAML)")
    parser.add_argument(
        "--data-source",
        action="append",
        default=[],
        metavar="DESCRIPTION",
        help="verify only this data source (its description or id); repeatable",
    )
    output.add_sessions_option(parser)
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help=f"CA certificates to trust for the Acumatica sites (${variables.CA_BUNDLE})",
    )
    output.add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Verify the selected data sources in parallel and report."""
    import dataclasses

    from acumatica_datasource.cli import interrupts
    from acumatica_datasource.cli.result import RESULT_VERSION
    from acumatica_datasource.secrets import SecretResolver
    from acumatica_datasource.spec import load_environment
    from acumatica_datasource.verify import ProgressBoard, VerifyOptions, verify_all

    environment = load_environment(args.file)
    sources = environment.data_sources
    if args.data_source:
        wanted = {name.strip().casefold() for name in args.data_source}
        sources = [s for s in sources if {s.description.casefold(), s.data_source_id} & wanted]
        found = {s.description.casefold() for s in sources} | {s.data_source_id for s in sources}
        missing = sorted(wanted - found)
        if missing:
            known = ", ".join(s.description for s in environment.data_sources) or "none"
            raise UsageError(f"{args.file}: no data source {', '.join(missing)}; known: {known}")
    try:
        options = VerifyOptions.from_environment(
            os.environ, sessions_per_site=args.sessions_per_site, ca_bundle=args.ca_bundle
        )
    except ValueError as exc:
        raise EnvironmentProblem(str(exc)) from None
    if options.ca_bundle is not None and not Path(options.ca_bundle).is_file():
        origin = "--ca-bundle" if args.ca_bundle else f"${variables.CA_BUNDLE}"
        raise UsageError(f"{origin}: {options.ca_bundle} is not a readable file of CA certificates")
    output.note(f"verifying {len(sources)} data source{'s' * (len(sources) != 1)} of {args.file}")
    done = [0]
    lock = threading.Lock()

    def progress(report: Report) -> None:
        with lock:
            done[0] += 1
            output.note(f"[{done[0]}/{len(sources)}] {report_line(report)}")

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
    if received.first is not None:  # a signal came while the file was read
        options.cancellation.cancel(f"the command received {received.describe()}")
    with (
        received.on_signal(cancel),
        SecretResolver(environment.vault) as resolver,
        _progress_lines(board, enabled=args.format == "text"),
    ):
        reports = verify_all(
            [(source, environment.callback_url(source)) for source in sources],
            secrets=resolver,
            options=options,
            on_report=progress,
        )
    interrupted = received.first is not None
    passed = all(r.passed for r in reports)
    status = "interrupted" if interrupted else ("succeeded" if passed else "failed")
    if args.format == "json":
        document = {
            "version": RESULT_VERSION,
            "command": "verify",
            "status": status,
            "succeeded": status == "succeeded",
            "signal": received.describe() if interrupted else None,
            "possibly_open_sessions": sum(r.possibly_open_sessions for r in reports),
            "data_sources": [r.as_dict() for r in reports],
        }
        print(json.dumps(document, ensure_ascii=False))
    else:
        for report in reports:
            print(format_report(report))
        failed = sum(1 for r in reports if not r.passed)
        output.note(
            f"{len(reports) - failed} of {len(reports)} data source"
            f"{'s' * (len(reports) != 1)} passed"
            + (f" (interrupted by {received.describe()})" if interrupted else "")
        )
    if interrupted:
        return received.exit_code
    return 0 if passed else 1


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


MARKS = {"ok": "ok  ", "warning": "WARN", "failed": "FAIL", "skipped": "skip"}


def report_line(report: Report) -> str:
    """``description: status (1.2 s)``."""
    return f"{report.description}: {report.summary()} ({report.duration_ms / 1000:.1f} s)"


def format_report(report: Report) -> str:
    """A readable, multi-line report of one data source."""
    from acumatica_datasource.cli.result import left_open

    server = report.facts()
    lines = [f"{report.description} [{report.data_source_id}]: {report.status.upper()}"]
    for check in report.checks:
        lines.append(
            f"  {MARKS[check.status]} {check.name:<22} {report.text(check.detail)} "
            f"({check.duration_ms} ms)"
        )
    if server["build_version"] or server["version"]:
        lines.append(
            f"  site: Acumatica {server['build_version'] or '?'}, endpoint "
            f"{server['endpoint'] or '?'} {server['version'] or '?'}"
        )
    if report.callback_url:
        registered = {True: "registered", False: "NOT registered", None: "not checked"}
        lines.append(
            f"  callback URL: {report.callback_url} ({registered[report.callback_registered]})"
        )
    lines.append(f"  records read: {report.records_read}, HTTP requests: {report.requests}")
    if report.possibly_open_sessions:
        lines.append(f"  warning: {left_open(report.possibly_open_sessions)}")
    if report.interrupted:
        lines.append(f"  interrupted: {report.interrupted}")
    return "\n".join(lines)
