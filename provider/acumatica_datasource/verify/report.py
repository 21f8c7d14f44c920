"""The verification report: which checks ran, their outcome, timings and server facts.

Check details and server facts hold what servers said. Every text that leaves a report (its
JSON, the command line's lines, what the provider records in the state) goes through
:meth:`Report.text`, which is :meth:`Redactor.clean` with the run's redactor: secrets masked
before anything else, then terminal sequences and control characters removed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from acumatica_datasource.redaction import Redactor

Status = Literal["ok", "warning", "failed", "skipped"]
OverallStatus = Literal["ok", "warning", "failed", "skipped", "interrupted"]


@dataclass
class Check:
    """One step of a verification."""

    name: str
    status: Status
    detail: str
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
        }


@dataclass
class ServerFacts:
    """What the site said about itself, and the endpoint the probe used."""

    build_version: str | None = None
    endpoint: str | None = None
    version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (as the server said it: see :meth:`Report.as_dict`)."""
        return {
            "build_version": self.build_version,
            "endpoint": self.endpoint,
            "version": self.version,
        }


@dataclass
class Report:
    """The outcome of verifying one data source."""

    description: str
    data_source_id: str
    mode: str
    callback_url: str | None = None
    checks: list[Check] = field(default_factory=list)
    server: ServerFacts = field(default_factory=ServerFacts)
    records_read: int = 0
    requests: int = 0
    callback_registered: bool | None = None
    secret_versions: dict[str, int | None] = field(default_factory=dict)
    possibly_open_sessions: int = 0
    """Sessions a login may have left open on the site (a retried or cut login)."""
    interrupted: str | None = None
    """Why the verification stopped before its end (the run was cancelled), if it did."""
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    duration_ms: int = 0
    redact: Redactor = field(default_factory=Redactor, repr=False, compare=False)
    """Knows the run's secret values; used by :meth:`text`."""

    def text(self, value: str, limit: int | None = None) -> str:
        """``value`` (a check's detail, a server fact) as it may leave the report: printed,
        serialised or recorded."""
        return self.redact.clean(value, limit)

    def __repr__(self) -> str:
        # not the dataclass's: details and facts are server text, shown only through text()
        checks = ", ".join(f"{c.name}={c.status}" for c in self.checks)
        return f"Report({self.description!r}, {self.status}, [{checks}])"

    def facts(self) -> dict[str, Any]:
        """The server facts, each made safe by :meth:`text`."""
        return {
            key: self.text(value) if isinstance(value, str) else value
            for key, value in self.server.as_dict().items()
        }

    @property
    def status(self) -> OverallStatus:
        """``interrupted`` when the run was cancelled first, else ``failed`` if any check
        failed, else ``warning`` if any warned, else ``ok``; ``skipped`` when nothing ran
        (verification ``mode: off``)."""
        if self.interrupted is not None:
            return "interrupted"
        statuses = {check.status for check in self.checks}
        if "failed" in statuses:
            return "failed"
        if "warning" in statuses:
            return "warning"
        if not statuses - {"skipped"}:
            return "skipped"
        return "ok"

    @property
    def passed(self) -> bool:
        """True unless a check failed or the verification was interrupted."""
        return self.status not in ("failed", "interrupted")

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if check.status == "failed"]

    def summary(self) -> str:
        """One line: the status and, when it is not ok, the first problem."""
        problem = next(
            (c for c in self.checks if c.status == "failed"),
            next((c for c in self.checks if c.status == "warning"), None),
        )
        if problem is None:
            return self.status
        return self.text(f"{self.status}: {problem.name}: {problem.detail}")

    def add(self, name: str, status: Status, detail: str, duration_ms: int = 0) -> Check:
        """Append a check."""
        check = Check(name, status, detail, duration_ms)
        self.checks.append(check)
        return check

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of ``acumatica-ds verify --format json``."""
        return {
            "description": self.description,
            "data_source_id": self.data_source_id,
            "status": self.status,
            "mode": self.mode,
            "callback_url": self.callback_url,
            "callback_registered": self.callback_registered,
            "checks": [
                {**check.as_dict(), "detail": self.text(check.detail)} for check in self.checks
            ],
            "server": self.facts(),
            "records_read": self.records_read,
            "requests": self.requests,
            "secret_versions": dict(self.secret_versions),
            "possibly_open_sessions": self.possibly_open_sessions,
            "checked_at": self.checked_at,
            "duration_ms": self.duration_ms,
        }


class _Timed(Protocol):
    duration_ms: int


@contextlib.contextmanager
def timing(timed: _Timed) -> Iterator[None]:
    """Set ``timed.duration_ms`` (of a :class:`Check` or a :class:`Report`) to the wall time
    of the block, also when it raises: the one way checks are timed."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timed.duration_ms = round((time.perf_counter() - started) * 1000)
