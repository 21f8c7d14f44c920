"""What a command did, for people (text) and machines (``--format json``).

Every command's JSON output is one object on the last stdout line, version
:data:`RESULT_VERSION` (the shape is documented in the README, "JSON output"). A result
describes this run and nothing older: a data source's ``status`` is what happened to it now,
its ``verification`` the verdict of a verification run now (or ``not_run``), and what the
state holds is ``recorded_verification``. Renderers (text here; JUnit, Markdown and CI
annotations can follow) read these objects, not the JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

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
        return f"{self.path}: {_shown(self.old)} => {_shown(self.new)}"


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

    def text(self) -> list[str]:
        """The summary for people."""
        counts = ", ".join(f"{count} {kind}" for kind, count in self.changes.items())
        headline = {"succeeded": "succeeded", "failed": "FAILED", "interrupted": "INTERRUPTED"}
        state = headline[self.status]
        if self.signal:
            state += f" by {self.signal}"
        lines = [f"{self.command} {self.name}: {state} ({counts})"]
        for source in self.data_sources:
            line = f"  {source.description} [{source.data_source_id}]: {source.status}"
            if source.verification != "not_run":
                line += f", verification {source.verification}"
            elif source.recorded_verification and source.status in ("unchanged", "planned"):
                line += f" (recorded verification {source.recorded_verification})"
            lines.append(line)
            if source.callback_url and source.status != "deleted":
                lines.append(
                    f"      callback URL: {source.callback_url} (register it in Acumatica)"
                )
            lines += [f"      {change.text()}" for change in source.diff]
            lines += [f"      {_prefix(m)}{m.text}" for m in source.messages]
        lines += [f"  {_prefix(m) or 'note: '}{m.text}" for m in self.messages]
        return lines


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


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _prefix(message: Message) -> str:
    return {"error": "error: ", "warning": "warning: ", "info": ""}[message.severity]
