"""Markdown summaries for job summaries (``$GITHUB_STEP_SUMMARY``) and merge-request
comments (``--format markdown`` on ``verify``, ``preview``, ``up``, ``refresh``, ``destroy``,
``promote``).

A summary is a headline with the run's status, a table of data sources with status icons,
their verification and their field-level changes (``diff``), the callback URLs to register
in Acumatica, and the failures with what to fix (the checks' details and the messages of the
result, which name it). Every text is escaped, so a description or a server's text cannot
change the layout or inject markup.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from acumatica_datasource.cli.render.locations import repository_path
from acumatica_datasource.cli.result import (
    DONE,
    DataSourceResult,
    FailedCommand,
    FieldChange,
    PromoteResult,
    StackResult,
    VerifyResult,
    left_open,
    shown,
    stack_label,
)

if TYPE_CHECKING:
    from acumatica_datasource.verify import Report

ICONS = {
    "succeeded": "✅",
    "applied": "✅",
    "ok": "✅",
    "created": "✅",
    "updated": "✅",
    "unchanged": "✅",
    "planned": "📝",
    "deleted": "🗑️",
    "warning": "⚠️",
    "failed": "❌",
    "interrupted": "⏹️",
    "skipped": "⏭️",
    "not_applied": "⏭️",
    "not_run": "➖",
}
"""The icon of a status: of a run, a data source, a verification or a promoted
environment."""

_SPECIAL = re.compile(r"([\\`*\[\]|~#!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
"""Characters that start Markdown (``_`` only at a word's edge: inside a word it is text)."""
APPLIED = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "same": "unchanged",
    "failed": "failed",
    "interrupted": "interrupted",
}
"""A key of :attr:`StackResult.changes` in the headline of a run that applies."""
PLANNED = {**APPLIED, "create": "to create", "update": "to update", "delete": "to delete"}
"""A key of :attr:`StackResult.changes` in the headline of a preview."""
_CHANGES_SHOWN = 6
"""Field changes listed per data source (the rest are counted)."""


@functools.singledispatch
def render(result: object) -> str:
    """The Markdown summary of ``result``."""
    raise TypeError(f"no Markdown summary for {type(result).__name__}")


# --- verify -----------------------------------------------------------------------------------


@render.register(VerifyResult)
def _verify(result: VerifyResult) -> str:
    reports = result.reports
    failed = sum(1 for report in reports if not report.passed)
    noun = f"data source{'s' * (len(reports) != 1)}"
    if result.signal is not None:
        headline = f"interrupted by {result.signal}"
    elif failed:
        headline = f"{failed} of {len(reports)} {noun} failed"
    else:
        headline = f"{len(reports)} {noun} passed"
    lines = [f"### {ICONS[result.status]} acumatica-ds verify: {headline}", ""]
    several = len(result.files) > 1
    header = ["", "Data source", *(["Environment"] if several else []), "Verification", "Checks"]
    rows = []
    for verified in result.files:
        for report in verified.reports:
            rows.append(
                [
                    ICONS[report.status],
                    _source(report.description, report.data_source_id),
                    *([text(verified.environment)] if several else []),
                    report.status,
                    _checks(report),
                ]
            )
    lines += _table(header, rows)
    register = [
        (report.description, report.callback_url, report.callback_registered)
        for report in reports
        if report.callback_url and report.callback_registered is not True
    ]
    if register:
        lines += _register_heading()
        states = {False: "not registered", None: "not checked"}
        lines += [
            f"- {text(description)}: {code(url)} ({states[registered]})"
            for description, url, registered in register
        ]
    for title, status, icon in (("Failures", "failed", "❌"), ("Warnings", "warning", "⚠️")):
        found = [
            f"- {icon} **{text(report.description)}**"
            + (f" ({text(verified.environment)})" if several else "")
            + f", {code(check.name)}: {text(report.text(check.detail))}"
            for verified in result.files
            for report in verified.reports
            for check in report.checks
            if check.status == status
        ]
        if found:
            lines += ["", f"**{title}:**", "", *found]
    lines += _sessions(result.possibly_open_sessions)
    return "\n".join(lines)


def _checks(report: Report) -> str:
    """``4 ok, 1 failed (callback_url)``; the total time."""
    if report.interrupted is not None:
        return text(f"interrupted: {report.text(report.interrupted)}")
    counts: dict[str, list[str]] = {}
    for check in report.checks:
        counts.setdefault(check.status, []).append(check.name)
    parts = []
    for status, names in counts.items():
        part = f"{len(names)} {status}"
        if status in ("failed", "warning"):
            part += f" ({', '.join(names)})"
        parts.append(part)
    return text(", ".join(parts) + f" in {report.duration_ms / 1000:.1f} s")


# --- preview, up, refresh, destroy ------------------------------------------------------------


@render.register(StackResult)
def _stack(result: StackResult) -> str:
    return "\n".join(stack_summary(result, level=3))


def stack_summary(result: StackResult, *, level: int) -> list[str]:
    """The lines of one engine operation's summary, its headline at heading ``level``."""
    state = result.status + (f" by {result.signal}" if result.signal else "")
    words = PLANNED if result.command == "preview" else APPLIED
    counts = " · ".join(f"{count} {words[kind]}" for kind, count in result.changes.items() if count)
    lines = [
        f"{'#' * level} {ICONS[result.status]} acumatica-ds {result.command} "
        f"{text(result.name)}: {state}",
        "",
        *([counts, ""] if counts else []),
    ]
    rows = [
        [
            _row_icon(source),
            _source(source.description, source.data_source_id),
            source.status,
            _verification(source),
            _changes(source),
        ]
        for source in result.data_sources
    ]
    lines += _table(["", "Data source", "Status", "Verification", "Changes"], rows)
    register = [
        source
        for source in result.data_sources
        if source.callback_url and source.status != "deleted"
    ]
    if register:
        lines += _register_heading()
        lines += [f"- {text(s.description)}: {code(s.callback_url or '')}" for s in register]
    for title, severity, icon in (("Failures", "error", "❌"), ("Warnings", "warning", "⚠️")):
        found = [
            f"- {icon} **{text(source.description)}**: {text(message.text)}"
            for source in result.data_sources
            for message in source.messages
            if message.severity == severity
        ]
        found += [f"- {icon} {text(m.text)}" for m in result.messages if m.severity == severity]
        if found:
            lines += ["", f"**{title}:**", "", *found]
    notes = [f"- {text(m.text)}" for m in result.messages if m.severity == "info"]
    if notes:
        lines += ["", "**Notes:**", "", *notes]
    lines += _sessions(result.possibly_open_sessions)
    return lines


def _row_icon(source: DataSourceResult) -> str:
    """The status's icon, or a warning when the data source was applied with a verification
    that did not pass (``mode: warn``)."""
    if source.status in (*DONE, "planned") and source.verification in ("warning", "failed"):
        return ICONS["warning"]
    return ICONS[source.status]


def _verification(source: DataSourceResult) -> str:
    if source.verification != "not_run":
        return source.verification
    if source.recorded_verification and source.status in ("unchanged", "planned"):
        return f"not run (recorded {source.recorded_verification})"
    return "not run"


def _changes(source: DataSourceResult) -> str:
    """The field-level changes, one per line of the cell (``page_size``: `10` → `20`), and
    why a data source changes otherwise (a rotated secret, a verification to run again)."""
    shown = [_change(change) for change in source.diff[:_CHANGES_SHOWN]]
    if len(source.diff) > _CHANGES_SHOWN:
        shown.append(f"and {len(source.diff) - _CHANGES_SHOWN} more")
    shown += [f"_{text(m.text)}_" for m in source.messages if m.severity == "info"]
    return "<br>".join(shown)


def _change(change: FieldChange) -> str:
    return f"{code(change.path)}: {code(shown(change.old))} → {code(shown(change.new))}"


# --- promote ----------------------------------------------------------------------------------


@render.register(PromoteResult)
def _promote(result: PromoteResult) -> str:
    state = result.status + (f" by {result.signal}" if result.signal else "")
    lines = [f"### {ICONS[result.status]} acumatica-ds promote: {state}", ""]
    rows = [
        [
            ICONS[environment.status],
            text(stack_label(environment.project, environment.stack)),
            code(repository_path(environment.file)),
            environment.status.replace("_", " "),
            text(environment.reason or ""),
        ]
        for environment in result.environments
    ]
    lines += _table(["", "Stack", "File", "Status", "Reason"], rows)
    if result.error is not None:
        lines += ["", f"❌ {text(result.error[1])}"]
    for environment in result.environments:
        if environment.result is not None:
            lines += ["", *stack_summary(environment.result, level=4)]
    return "\n".join(lines)


# --- a command that could not start -----------------------------------------------------------


@render.register(FailedCommand)
def _failed(result: FailedCommand) -> str:
    lines = [f"### ❌ acumatica-ds {result.command}: failed ({text(result.kind)})", ""]
    if result.problems:
        lines += [
            f"- {code(f'{repository_path(p.file)}:{p.line}')}: {code(p.path)}: {text(p.message)}"
            for p in result.problems
        ]
    else:
        lines.append(text(result.message))
    return "\n".join(lines)


# --- Markdown ---------------------------------------------------------------------------------


def text(value: str) -> str:
    """``value`` as literal Markdown text on one line: markup characters escaped, HTML
    neutralised, line breaks as spaces."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(_SPECIAL.sub(r"\\\1", value).split())


def code(value: str) -> str:
    """``value`` as an inline code span on one line, safe in a table cell."""
    value = " ".join(value.split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {value} " if value.startswith("`") or value.endswith("`") else value
    return f"{fence}{padded}{fence}"


def _source(description: str, data_source_id: str) -> str:
    return f"{text(description)} {code(data_source_id)}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["_No data sources._"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _register_heading() -> list[str]:
    from acumatica_datasource.verify.oauth import CONNECTED_APPS_FORM

    return ["", f"**Callback URLs to register in Acumatica** ({text(CONNECTED_APPS_FORM)}):", ""]


def _sessions(count: int) -> list[str]:
    return ["", f"⚠️ {text(left_open(count))}"] if count else []
