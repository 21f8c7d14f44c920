"""What a command did: the result objects every output format is rendered from.

:class:`ValidateResult` (``validate``), :class:`VerifyResult` (``verify``),
:class:`StackResult` (``preview``, ``up``, ``refresh``, ``destroy``) and
:class:`PromoteResult` (``promote``). Their ``as_dict`` is the JSON form: one object on the
last stdout line, version :data:`RESULT_VERSION` (documented in the README, "JSON output").
The renderers of :mod:`.render` (text, JSON, GitHub annotations, SARIF, JUnit, Markdown)
read these objects, never each other's output.

A result describes this run and nothing older: a data source's ``status`` is what happened to
it now, its ``verification`` the verdict of a verification run now (or ``not_run``), and what
the state holds is ``recorded_verification``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from acumatica_datasource.spec import Problem, ValidationResult
    from acumatica_datasource.verify import Report

RESULT_VERSION = 1
SECRET = "[secret]"
"""How a diff shows a secret value (as Pulumi does)."""

Severity = Literal["error", "warning", "info"]
RunStatus = Literal["succeeded", "failed", "interrupted"]

DONE = ("created", "updated", "unchanged", "deleted")
"""Statuses of a data source whose operation completed in this run."""
STATUSES = (*DONE, "failed", "interrupted", "skipped", "planned")
"""Every status of a data source: what happened to it in this run (``planned``: a preview
found a change to make)."""
VERDICTS = ("ok", "warning", "failed", "not_run")
"""Every ``verification`` of a data source: the verdict of this run's verification."""
COUNTED = {
    "created": "create",
    "updated": "update",
    "deleted": "delete",
    "unchanged": "same",
    "failed": "failed",
    "interrupted": "interrupted",
}
"""Status -> the key of ``changes`` that counts it."""


@dataclass(frozen=True)
class Message:
    """A line about a data source or the run."""

    severity: Severity
    text: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {"severity": self.severity, "text": self.text}


@dataclass(frozen=True)
class FieldChange:
    """One changed input field of a data source: its dotted ``path`` (``page_size``,
    ``authentication.password.vault.key``), what it was and what it becomes (None: not set).
    A secret value is never shown: it is :data:`SECRET`; a secret *reference* is no secret
    and is shown as written."""

    path: str
    kind: Literal["add", "delete", "update"]
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"path": self.path, "old": self.old, "new": self.new, "kind": self.kind}

    def text(self) -> str:
        """``page_size: 100 => 200``; ``(unset)`` for a side without a value."""
        return f"{self.path}: {shown(self.old)} => {shown(self.new)}"


@dataclass
class DataSourceResult:
    """What happened to one data source in this run."""

    data_source_id: str
    description: str
    action: str | None = None
    """The engine's step for it: create, update, replace, delete, same, refresh (None: never
    reached)."""
    status: str = "skipped"
    verification: str = "not_run"
    recorded_verification: str | None = None
    """The verification status the state holds after this run (None: not in the state)."""
    possibly_open_sessions: int = 0
    callback_url: str | None = None
    diff: list[FieldChange] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def say(self, severity: Severity, text: str) -> None:
        """Add a message, once."""
        message = Message(severity, text.strip())
        if message.text and message not in self.messages:
            self.messages.append(message)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "description": self.description,
            "data_source_id": self.data_source_id,
            "action": self.action,
            "status": self.status,
            "verification": self.verification,
            "recorded_verification": self.recorded_verification,
            "possibly_open_sessions": self.possibly_open_sessions,
            "callback_url": self.callback_url,
            "diff": [change.as_dict() for change in self.diff],
            "messages": [message.as_dict() for message in self.messages],
        }


@dataclass
class StackResult:
    """What one engine operation (preview, up, refresh, destroy) did to one stack."""

    command: str
    stack: str
    status: RunStatus = "succeeded"
    project: str | None = None
    """The Pulumi project of the stack."""
    data_sources: list[DataSourceResult] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    signal: str | None = None
    """The signal that interrupted the run (``SIGINT``, ``SIGTERM``), if one did."""

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def name(self) -> str:
        """The stack as people read it: ``dev``, or ``PROJECT/dev`` outside the default
        project."""
        return stack_label(self.project, self.stack)

    @property
    def changes(self) -> dict[str, int]:
        """How many data sources were created, updated, deleted, left unchanged, failed or
        were interrupted; for a preview, the planned operations instead of applied ones."""
        counts = dict.fromkeys(("create", "update", "delete", "same", "failed", "interrupted"), 0)
        found: Counter[str] = Counter()
        for source in self.data_sources:
            if source.status == "planned":
                found[_planned_key(source.action)] += 1
            elif source.status in COUNTED:
                found[COUNTED[source.status]] += 1
        counts.update(found)
        return counts

    @property
    def possibly_open_sessions(self) -> int:
        return sum(source.possibly_open_sessions for source in self.data_sources)

    def say(self, severity: Severity, text: str) -> None:
        """Add a message about the run, once."""
        message = Message(severity, text.strip())
        if message.text and message not in self.messages:
            self.messages.append(message)

    def as_dict(self, *, versioned: bool = True) -> dict[str, Any]:
        """The JSON form (``versioned``: with the ``version`` key, for a top-level object)."""
        document: dict[str, Any] = {"version": RESULT_VERSION} if versioned else {}
        document.update(
            command=self.command,
            project=self.project,
            stack=self.stack,
            status=self.status,
            succeeded=self.succeeded,
            signal=self.signal,
            changes=self.changes,
            possibly_open_sessions=self.possibly_open_sessions,
            data_sources=[source.as_dict() for source in self.data_sources],
            messages=[message.as_dict() for message in self.messages],
        )
        return document


def stack_label(project: str | None, stack: str) -> str:
    """``stack``, or ``project/stack`` when ``project`` is not the default one."""
    from acumatica_datasource.spec import DEFAULT_PROJECT

    return stack if project in (None, DEFAULT_PROJECT) else f"{project}/{stack}"


def error_document(command: str | None, kind: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON object of a command that failed before it could do its work."""
    return {
        "version": RESULT_VERSION,
        "command": command,
        "status": "failed",
        "succeeded": False,
        "error": {"kind": kind, "message": message, **extra},
    }


@dataclass
class FailedCommand:
    """A command that failed before it could do its work (an invalid or unreadable file, no
    passphrase, a locked stack): what the CI formats report instead of a result."""

    command: str
    kind: str
    """The error's kind (``usage``, ``invalid``, ``locked``...; see :func:`error_document`)."""
    message: str
    problems: list[Problem] = field(default_factory=list)
    """The problems of invalid files, one by one."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        extra = {"problems": [p.as_dict() for p in self.problems]} if self.problems else {}
        return error_document(self.command, self.kind, self.message, **extra)


def left_open(count: int) -> str:
    """The message about sessions a login may have left open."""
    sessions = "a session" if count == 1 else f"{count} sessions"
    return (
        f"{sessions} may have been left open on the site by a login that was tried again (or "
        "cut) after an answer that may have come after the site opened it; it holds an API "
        "license slot until it expires (about 10 minutes idle)"
    )


def _planned_key(action: str | None) -> str:
    if action in ("create", "update", "delete"):
        return action
    return "update"  # a replacement


@dataclass
class ValidateResult:
    """What ``validate`` found in its files."""

    files: list[ValidationResult]

    @property
    def problems(self) -> list[Problem]:
        """Every problem once (a base extended by several files is checked with each)."""
        return list(dict.fromkeys(p for result in self.files for p in result.problems))

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "version": RESULT_VERSION,
            "command": "validate",
            "valid": self.valid,
            "errors": [problem.as_dict() for problem in self.problems],
        }


@dataclass
class VerifiedFile:
    """The verification reports of one environment file."""

    file: str
    environment: str
    reports: list[Report] = field(default_factory=list)
    started_at: str | None = None
    """When its verifications started (ISO 8601, UTC)."""
    duration_ms: int = 0
    """Wall time of the file's verifications (they run in parallel)."""


@dataclass
class VerifyResult:
    """What ``verify`` found, file by file."""

    files: list[VerifiedFile]
    signal: str | None = None
    """The signal that interrupted the run (``SIGINT``, ``SIGTERM``), if one did."""

    @property
    def reports(self) -> list[Report]:
        return [report for verified in self.files for report in verified.reports]

    @property
    def status(self) -> RunStatus:
        if self.signal is not None:
            return "interrupted"
        return "succeeded" if all(report.passed for report in self.reports) else "failed"

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def possibly_open_sessions(self) -> int:
        return sum(report.possibly_open_sessions for report in self.reports)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: the data sources of every file, each naming its file and
        environment."""
        return {
            "version": RESULT_VERSION,
            "command": "verify",
            "status": self.status,
            "succeeded": self.succeeded,
            "signal": self.signal,
            "possibly_open_sessions": self.possibly_open_sessions,
            "data_sources": [
                {**report.as_dict(), "file": verified.file, "environment": verified.environment}
                for verified in self.files
                for report in verified.reports
            ],
        }


PromotionStatus = Literal["applied", "failed", "interrupted", "not_applied"]


@dataclass
class PromotedEnvironment:
    """One environment file of a promotion and what became of it."""

    file: str
    stack: str
    project: str | None = None
    """The Pulumi project of the stack."""
    status: PromotionStatus = "not_applied"
    reason: str | None = None
    result: StackResult | None = None
    """The ``up`` of this environment, when it ran."""
    error_kind: str | None = None
    """The kind of the error that kept ``up`` from running, if one did."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: the file, the stack, the fields of the ``up`` result, the status."""
        document: dict[str, Any] = {"file": self.file, "project": self.project, "stack": self.stack}
        if self.result is not None:
            document.update(self.result.as_dict(versioned=False))
            document.pop("command")
        document["status"] = self.status
        if self.reason is not None:
            document["reason"] = self.reason
        if self.error_kind is not None:
            document["error"] = {"kind": self.error_kind}
        return document


@dataclass
class PromoteResult:
    """What ``promote`` did to each environment, in order."""

    environments: list[PromotedEnvironment]
    signal: str | None = None
    error: tuple[str, str] | None = None
    """The kind and message of the first error that kept an ``up`` from running."""

    @property
    def status(self) -> RunStatus:
        if self.signal is not None:
            return "interrupted"
        failed = any(e.status == "failed" for e in self.environments)
        return "failed" if failed else "succeeded"

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        document: dict[str, Any] = {
            "version": RESULT_VERSION,
            "command": "promote",
            "status": self.status,
            "succeeded": self.succeeded,
            "signal": self.signal,
            "environments": [environment.as_dict() for environment in self.environments],
        }
        if self.error is not None:
            document["error"] = {"kind": self.error[0], "message": self.error[1]}
        return document


def shown(value: Any) -> str:
    """A value of a field as a change shows it: text as it is, ``(unset)`` for none, other
    values as compact JSON."""
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
