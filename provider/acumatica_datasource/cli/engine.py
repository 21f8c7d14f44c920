"""Drive Pulumi's engine for an environment file through the Automation API, offline.

An environment file becomes an inline program (one ``AcumaticaDataSource`` per data
source) run against a stack named after the file's ``environment``; engine events become
readable progress, and the outcome a small summary per data source.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.resource import TYPE_TOKEN, declare
from acumatica_datasource.resource.properties import INPUT_PROPERTIES, UNKNOWN
from acumatica_datasource.spec import Environment
from acumatica_datasource.tooling import PulumiCli, ensure_pulumi_cli, offline_environment

PROJECT = "acumatica-datasources"
DEFAULT_STATE_DIR = ".acumatica-ds/state"
PAST = {
    "create": "created",
    "update": "updated",
    "same": "unchanged",
    "delete": "deleted",
    "replace": "replaced",
    "create-replacement": "replaced",
    "refresh": "refreshed",
    "read": "refreshed",
    "delete-replaced": "replaced",
}
SYMBOLS = {
    "create": "+",
    "update": "~",
    "same": "=",
    "delete": "-",
    "replace": "+-",
    "create-replacement": "+-",
    "delete-replaced": "+-",
    "refresh": "~",
    "read": "~",
}


class EngineError(AcumaticaDataSourceError):
    """The engine could not run: a stack that cannot be opened or read, a locked or
    interrupted stack (no CLI and no passphrase have errors of their own in ``tooling``)."""


@dataclass
class DataSourceOutcome:
    """What happened to one data source in one operation."""

    data_source_id: str
    description: str
    status: str = "unchanged"
    op: str | None = None
    """The engine's step: create, update, same, delete, replace..."""
    verification: str | None = None
    callback_url: str | None = None
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``--format json``)."""
        return {
            "description": self.description,
            "data_source_id": self.data_source_id,
            "status": self.status,
            "verification": self.verification,
            "callback_url": self.callback_url,
            "messages": list(self.messages),
        }


@dataclass
class OperationResult:
    """The outcome of one engine operation on one stack."""

    operation: str
    stack: str
    succeeded: bool
    changes: dict[str, int]
    data_sources: list[DataSourceOutcome]
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``--format json``)."""
        return {
            "operation": self.operation,
            "stack": self.stack,
            "succeeded": self.succeeded,
            "changes": self.changes,
            "data_sources": [d.as_dict() for d in self.data_sources],
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class EngineSettings:
    """Where state lives and how the provider runs."""

    state_dir: Path
    stack: str
    sessions_per_site: int | None = None
    clear_pending: bool = False

    @staticmethod
    def state_directory(given: str | None) -> Path:
        """``--state``, else ``$ACUMATICA_DS_STATE_DIR``, else ``./.acumatica-ds/state``."""
        return Path(given or os.environ.get(variables.STATE_DIR) or DEFAULT_STATE_DIR).expanduser()


class Progress:
    """Turns engine events into progress lines and per-data-source outcomes."""

    def __init__(self, environment: Environment, operation: str, write: Callable[[str], None]):
        self.write = write
        self.operation = operation
        self._lock = threading.Lock()
        self.outcomes = {
            source.data_source_id: DataSourceOutcome(source.data_source_id, source.description)
            for source in environment.data_sources
        }
        self.errors: list[str] = []

    def _outcome(self, urn: str | None) -> DataSourceOutcome | None:
        if not urn or TYPE_TOKEN not in urn:
            return None
        name = urn.rsplit("::", 1)[-1]
        return self.outcomes.setdefault(name, DataSourceOutcome(name, name))

    def __call__(self, event: auto.EngineEvent) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            outcome = self._outcome(meta.urn)
            if outcome is not None:
                op = str(meta.op.value if hasattr(meta.op, "value") else meta.op)
                self._planned(outcome, op, meta)
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            outcome = self._outcome(meta.urn)
            if outcome is not None:
                self._applied(outcome, meta)
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            outcome = self._outcome(meta.urn)
            if outcome is not None:
                outcome.status = "failed"
                self.write(f"  x {outcome.data_source_id}: failed")
        elif event.diagnostic_event is not None:
            self._diagnostic(event.diagnostic_event)

    def _planned(self, outcome: DataSourceOutcome, op: str, meta: Any) -> None:
        outcome.op = op
        outcome.status = op if self.operation == "preview" else PAST.get(op, op)
        state = meta.new or meta.old
        values = dict(getattr(state, "inputs", None) or {})
        values.update(getattr(meta.old, "outputs", None) or {} if meta.old else {})
        callback = (
            (getattr(meta.new, "inputs", None) or {}).get("callback_url") if meta.new else None
        )
        outcome.callback_url = _known(callback) or _known(values.get("callback_url"))
        verification = values.get("verification")
        if isinstance(verification, dict) and op == "same":
            outcome.verification = _known(verification.get("status"))
        if op != "same" or self.operation == "refresh":
            detail = _changed_fields(meta) if op in ("update", "replace") else ""
            self.write(f"  {SYMBOLS.get(op, '*')} {op:<8} {outcome.data_source_id}{detail}")
            moved = _callback_change(meta) if op in ("update", "replace") else None
            if moved is not None:
                self.write(
                    f"    callback URL {moved[0]} -> {moved[1]}: register the new one in the "
                    "connected application's Redirect URIs in Acumatica"
                )

    def _applied(self, outcome: DataSourceOutcome, meta: Any) -> None:
        outputs = getattr(meta.new, "outputs", None) or {}
        verification = outputs.get("verification")
        if isinstance(verification, dict):
            outcome.verification = _known(verification.get("status"))
        outcome.callback_url = _known(outputs.get("callback_url")) or outcome.callback_url

    def _diagnostic(self, diagnostic: auto.DiagnosticEvent) -> None:
        if diagnostic.severity == "debug":
            return
        message = diagnostic.message.strip()
        if not message or message in ("update failed", "preview failed", "refresh failed"):
            return
        if message.startswith("Resource monitor has terminated"):
            return
        message = message.removeprefix("DataSourceError: ")
        outcome = self._outcome(diagnostic.urn)
        if outcome is not None:
            outcome.messages.append(message)
        elif diagnostic.severity == "error":
            self.errors.append(message)
        for line in message.splitlines():
            self.write(f"    {line}")


def _known(value: Any) -> Any:
    return None if value == UNKNOWN else value


def _callback_change(meta: Any) -> tuple[str, str] | None:
    """The callback URL before and after a step, when it changes (both known)."""
    old = (getattr(meta.old, "outputs", None) or {}).get("callback_url") if meta.old else None
    new = (getattr(meta.new, "inputs", None) or {}).get("callback_url") if meta.new else None
    if _known(old) and _known(new) and old != new:
        return str(old), str(new)
    return None


def _changed_fields(meta: Any) -> str:
    old = getattr(meta.old, "outputs", None) or {} if meta.old else {}
    new = getattr(meta.new, "inputs", None) or {} if meta.new else {}
    changed = [key for key in INPUT_PROPERTIES if key in new and old.get(key) != new.get(key)]
    return f"  ({', '.join(changed)})" if changed else "  (a Vault secret was rotated)"


class EngineRunner:
    """One environment's stack: preview, up, refresh, destroy."""

    def __init__(
        self,
        environment: Environment,
        settings: EngineSettings,
        *,
        write: Callable[[str], None],
        cli: PulumiCli | None = None,
    ) -> None:
        self.environment = environment
        self.settings = settings
        self.write = write
        self.cli = cli or ensure_pulumi_cli(build=True, log=write)
        state = settings.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.env = offline_environment(state, cli=self.cli, pulumi_home=state / ".pulumi-home")
        if settings.sessions_per_site is not None:
            self.env[variables.SESSIONS_PER_SITE] = str(settings.sessions_per_site)
        self._stack: auto.Stack | None = None

    def program(self) -> None:
        """The inline program: the environment's data sources and a summary export."""
        resources = declare(self.environment)
        pulumi.export(
            "data_sources",
            {
                data_source_id: {
                    "description": resource.description,
                    "verification": resource.verification,
                    "callback_url": resource.callback_url,
                }
                for data_source_id, resource in resources.items()
            },
        )

    @property
    def stack(self) -> auto.Stack:
        """The stack, created on first use."""
        if self._stack is None:
            work_dir = self.settings.state_dir / ".workspaces" / self.settings.stack
            work_dir.mkdir(parents=True, exist_ok=True)
            options = auto.LocalWorkspaceOptions(
                work_dir=str(work_dir),
                pulumi_home=self.env["PULUMI_HOME"],
                env_vars=self.env,
                project_settings=auto.ProjectSettings(name=PROJECT, runtime="python"),
                pulumi_command=self.cli.command(),
            )
            try:
                self._stack = auto.create_or_select_stack(
                    stack_name=self.settings.stack,
                    project_name=PROJECT,
                    program=self.program,
                    opts=options,
                )
            except auto.CommandError as exc:
                raise EngineError(
                    f"cannot open stack {self.settings.stack}: {_tail(exc)}"
                ) from None
        return self._stack

    # --- interrupted deployments --------------------------------------------------------------

    def check_pending(self) -> None:
        """Stop (or, with ``clear_pending``, repair) a stack an interrupted run left behind."""
        stack = self.stack
        try:
            deployment = stack.export_stack()
        except auto.CommandError as exc:
            raise EngineError(f"cannot read stack {self.settings.stack}: {_tail(exc)}") from None
        pending = list((deployment.deployment or {}).get("pending_operations") or [])
        if not pending:
            return
        described = ", ".join(
            f"{op.get('type', '?')} {_name(op.get('resource', {}).get('urn'))}" for op in pending
        )
        if not self.settings.clear_pending:
            raise EngineError(
                f"the last deployment of stack {self.settings.stack} was interrupted while "
                f"{described}: those data sources may or may not have been applied. Re-run "
                "with --clear-pending to drop the interrupted operations from the state; the "
                "run then re-applies what is needed (data sources are safe to apply again)"
            )
        self.write(f"clearing {len(pending)} interrupted operation(s): {described}")
        cleared = dict(deployment.deployment or {})
        cleared["pending_operations"] = []
        stack.import_stack(auto.Deployment(version=deployment.version, deployment=cleared))

    @contextlib.contextmanager
    def _unlocked(self) -> Iterator[None]:
        try:
            yield
        except auto.ConcurrentUpdateError:
            raise EngineError(
                f"stack {self.settings.stack} is locked by another run. If none is running (a "
                "run was killed), re-run with --clear-pending to remove the stale lock"
            ) from None

    def _clear_lock(self) -> None:
        if self.settings.clear_pending:
            with contextlib.suppress(auto.CommandError):
                self.stack.cancel()

    # --- operations ---------------------------------------------------------------------------

    def run(self, operation: str) -> OperationResult:
        """Run ``preview``, ``up``, ``refresh`` or ``destroy``; never raises for a failed
        deployment (the result says what failed)."""
        self._clear_lock()
        self.check_pending()
        progress = Progress(self.environment, operation, self.write)
        callbacks: dict[str, Any] = {"on_event": progress, "color": "never"}
        succeeded = True
        changes: dict[str, int] = {}
        try:
            with self._unlocked():
                if operation == "preview":
                    preview = self.stack.preview(**callbacks)
                    changes = _summary(preview.change_summary)
                elif operation == "up":
                    # data sources are independent: one failing must not leave the others
                    # unattempted (and unexplained); the run still fails
                    up = self.stack.up(continue_on_error=True, **callbacks)
                    changes = _summary(up.summary.resource_changes)
                elif operation == "refresh":
                    changes = _summary(self.stack.refresh(**callbacks).summary.resource_changes)
                elif operation == "destroy":
                    changes = _summary(self.stack.destroy(**callbacks).summary.resource_changes)
                else:  # pragma: no cover - the parser allows only the four
                    raise ValueError(operation)
        except auto.CommandError as exc:
            succeeded = False
            if not progress.errors and not any(o.messages for o in progress.outcomes.values()):
                progress.errors.append(_tail(exc))
            gc.collect()  # finish the abandoned inline program now (see pulumi_engine notes)
        if operation in ("up", "refresh") or (operation == "destroy" and succeeded):
            self._read_state(progress)
        return OperationResult(
            operation=operation,
            stack=self.settings.stack,
            succeeded=succeeded,
            changes=_counts(changes, progress, operation),
            data_sources=list(progress.outcomes.values()),
            errors=progress.errors,
        )

    def _read_state(self, progress: Progress) -> None:
        """Fill verification statuses and callback URLs from the recorded state."""
        try:
            deployment = self.stack.export_stack().deployment or {}
        except auto.CommandError:
            return
        recorded = {
            str(r.get("urn", "")).rsplit("::", 1)[-1]: r.get("outputs") or {}
            for r in deployment.get("resources") or []
            if r.get("type") == TYPE_TOKEN
        }
        for data_source_id, outcome in progress.outcomes.items():
            outputs = recorded.get(data_source_id)
            if outputs is None:
                if outcome.status in ("unchanged", "same"):
                    outcome.status = "absent"
                continue
            verification = outputs.get("verification")
            if isinstance(verification, dict):
                outcome.verification = verification.get("status")
                if progress.operation == "refresh" and verification.get("status") == "failed":
                    outcome.messages.append(str(verification.get("summary", "")))
            outcome.callback_url = outputs.get("callback_url")


def _summary(changes: Any) -> dict[str, int]:
    return {str(getattr(key, "value", key)): int(value) for key, value in (changes or {}).items()}


def _counts(changes: dict[str, int], progress: Progress, operation: str) -> dict[str, int]:
    """Changes to data sources (the engine's summary also counts the stack itself)."""
    result = dict.fromkeys(("create", "update", "delete", "same"), 0)
    if operation == "refresh":
        for key in result:
            result[key] = int(changes.get(key, 0))
        result["same"] = max(0, result["same"] - 1)
        return result
    for outcome in progress.outcomes.values():
        op = outcome.op
        if op in ("replace", "create-replacement"):
            result["replace"] = result.get("replace", 0) + 1
        elif op in result:
            result[op] += 1
    return result


def _name(urn: Any) -> str:
    return str(urn or "?").rsplit("::", 1)[-1]


def _tail(exc: auto.CommandError, lines: int = 12) -> str:
    text = str(exc)
    marker = "stderr:"
    stderr = text.split(marker, 1)[1].strip() if marker in text else ""
    body = stderr or text
    kept = [line for line in body.splitlines() if line.strip()][-lines:]
    return "\n".join(kept)
