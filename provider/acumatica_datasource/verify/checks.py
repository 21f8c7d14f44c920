"""Record the checks of one verification: timed steps, skipped ones, and results made elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from acumatica_datasource.acumatica import Cancellation
from acumatica_datasource.errors import AcumaticaDataSourceError, Interrupted
from acumatica_datasource.redaction import Redactor
from acumatica_datasource.verify.report import Check, Report, timing

T = TypeVar("T")


class StepFailed(Exception):
    """A step failed; its check already says why."""


class Checks:
    """Adds checks to one report; every message is redacted first. A step of a cancelled run
    does not start: it raises :class:`~acumatica_datasource.errors.Interrupted`."""

    def __init__(
        self, report: Report, redact: Redactor, cancellation: Cancellation | None = None
    ) -> None:
        self.report = report
        self.redact = redact
        self.cancellation = cancellation or Cancellation()
        self.last_error: BaseException | None = None
        """The error of the last step that failed."""

    def step(self, name: str, action: Callable[[Check], T]) -> T:
        """Run ``action`` as the timed check ``name``; a known failure marks it failed and
        raises :class:`StepFailed` (the message is redacted and names what to fix)."""
        self.cancellation.check()
        check = self.report.add(name, "ok", "")
        try:
            with timing(check):
                return action(check)
        except Interrupted:
            self.report.checks.remove(check)
            raise
        except (AcumaticaDataSourceError, LookupError) as exc:
            check.status = "failed"
            check.detail = self.redact(str(exc))
            self.last_error = exc
            raise StepFailed from None

    def try_step(self, name: str, action: Callable[[Check], None]) -> None:
        """Like :meth:`step`, for a check whose failure does not stop the others."""
        try:
            self.step(name, action)
        except StepFailed:
            return

    def skip(self, *names: str, reason: str) -> None:
        """Record checks that did not run."""
        for name in names:
            self.report.add(name, "skipped", reason)

    def record(self, *checks: Check, records_read: int = 0) -> None:
        """Record checks run elsewhere (and the records they read)."""
        self.report.checks.extend(checks)
        self.report.records_read += records_read

    def warn(self, name: str, exc: Exception) -> None:
        """Record a check that warns with ``exc``'s (redacted) message."""
        self.report.add(name, "warning", self.redact(str(exc)))
