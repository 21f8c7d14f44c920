"""Text for people: what each command prints on stdout without ``--format`` (its progress
and notes go to stderr)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from acumatica_datasource.cli.result import (
    Message,
    PromoteResult,
    StackResult,
    ValidateResult,
    VerifyResult,
    left_open,
    stack_label,
)

if TYPE_CHECKING:
    from acumatica_datasource.verify import Check, Report

MARKS = {"ok": "ok  ", "warning": "WARN", "failed": "FAIL", "skipped": "skip"}
"""A check's status in a column of four characters."""
HEADLINE = {"succeeded": "succeeded", "failed": "FAILED", "interrupted": "INTERRUPTED"}


@functools.singledispatch
def render(result: object) -> str:
    """The text of ``result``."""
    raise TypeError(f"no text form for {type(result).__name__}")


@render.register(ValidateResult)
def _validate(result: ValidateResult) -> str:
    return "\n".join(str(problem) for problem in result.problems)


def validate_notes(result: ValidateResult) -> list[str]:
    """What ``validate`` says on stderr: each valid file, then the count of problems."""
    notes = []
    for validation in result.files:
        if validation.environment is not None:
            count = len(validation.environment.data_sources)
            notes.append(f"{validation.file}: valid ({count} data source{'s' * (count != 1)})")
    problems = result.problems
    if problems:
        files = len(result.files)
        invalid = sum(1 for validation in result.files if not validation.valid)
        notes.append(
            f"{invalid} of {files} file{'s' * (files != 1)} invalid, "
            f"{len(problems)} problem{'s' * (len(problems) != 1)}"
        )
    return notes


@render.register(VerifyResult)
def _verify(result: VerifyResult) -> str:
    blocks = []
    for verified in result.files:
        if len(result.files) > 1:
            blocks.append(f"== {verified.file} (environment {verified.environment})")
        blocks += [report_block(report) for report in verified.reports]
    return "\n".join(blocks)


def verify_note(result: VerifyResult) -> str:
    """The last line ``verify`` says on stderr: how many data sources passed."""
    reports = result.reports
    passed = sum(1 for report in reports if report.passed)
    line = f"{passed} of {len(reports)} data source{'s' * (len(reports) != 1)} passed"
    if result.signal is not None:
        line += f" (interrupted by {result.signal})"
    return line


def report_line(report: Report) -> str:
    """``description: status (1.2 s)``: a progress line."""
    return f"{report.description}: {report.summary()} ({report.duration_ms / 1000:.1f} s)"


def report_block(report: Report) -> str:
    """A readable, multi-line report of one data source."""
    server = report.facts()
    lines = [f"{report.description} [{report.data_source_id}]: {report.status.upper()}"]
    lines += [f"  {check_line(report, check)}" for check in report.checks]
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


def check_line(report: Report, check: Check) -> str:
    """``ok   discovery              Acumatica 24.210.0013 (12 ms)``."""
    return (
        f"{MARKS[check.status]} {check.name:<22} {report.text(check.detail)} "
        f"({check.duration_ms} ms)"
    )


@render.register(StackResult)
def _stack(result: StackResult) -> str:
    return "\n".join(stack_lines(result))


def stack_lines(result: StackResult) -> list[str]:
    """The summary of one engine operation."""
    counts = ", ".join(f"{count} {kind}" for kind, count in result.changes.items())
    state = HEADLINE[result.status]
    if result.signal:
        state += f" by {result.signal}"
    lines = [f"{result.command} {result.name}: {state} ({counts})"]
    for source in result.data_sources:
        line = f"  {source.description} [{source.data_source_id}]: {source.status}"
        if source.verification != "not_run":
            line += f", verification {source.verification}"
        elif source.recorded_verification and source.status in ("unchanged", "planned"):
            line += f" (recorded verification {source.recorded_verification})"
        lines.append(line)
        if source.callback_url and source.status != "deleted":
            lines.append(f"      callback URL: {source.callback_url} (register it in Acumatica)")
        lines += [f"      {change.text()}" for change in source.diff]
        lines += [f"      {_prefix(m)}{m.text}" for m in source.messages]
    lines += [f"  {_prefix(m) or 'note: '}{m.text}" for m in result.messages]
    return lines


@render.register(PromoteResult)
def _promote(result: PromoteResult) -> str:
    lines = []
    for environment in result.environments:
        reason = f": {environment.reason}" if environment.reason else ""
        label = stack_label(environment.project, environment.stack)
        lines.append(f"{label:<16} {environment.status}{reason}")
        if environment.result is None:
            continue
        for source in environment.result.data_sources:
            lines += [
                f"    {source.description}: {message.text}"
                for message in source.messages
                if message.severity != "info"
            ]
    return "\n".join(lines)


def _prefix(message: Message) -> str:
    return {"error": "error: ", "warning": "warning: ", "info": ""}[message.severity]
