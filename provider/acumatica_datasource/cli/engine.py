"""Drive Pulumi's engine for an environment file through the Automation API, offline.

An environment file becomes an inline program (one ``AcumaticaDataSource`` per data source)
run against a stack named after the file's ``environment``. Engine events become progress
lines; engine events, the provider processes' run channel (this run's verification verdicts,
warnings, what slow verifications wait for) and the state after the run become a
:class:`~.result.StackResult` that describes this run and nothing older.

Before it runs, the driver looks at the engine's own records: a stack locked by a live run is
refused (or waited for, ``--wait-lock``), a dead run's lock and pending operations are
explained, and cleared only with ``--clear-pending``. A signal cancels the run (see
:mod:`.interrupts`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.cli.backend import backend_name, engine_text
from acumatica_datasource.cli.engine_events import PREVIEWED, Progress
from acumatica_datasource.cli.engine_process import EngineProcess
from acumatica_datasource.cli.interrupts import Interrupts
from acumatica_datasource.cli.locks import LockHolder, file_lock_holders, holders_in_error
from acumatica_datasource.cli.output import ticking
from acumatica_datasource.cli.result import (
    DONE,
    DataSourceResult,
    StackResult,
    stack_label,
)
from acumatica_datasource.errors import AcumaticaDataSourceError, EnvironmentProblem, UsageError
from acumatica_datasource.resource import TYPE_TOKEN, declare, export_data_sources
from acumatica_datasource.resource.outputs import upgrade
from acumatica_datasource.resource.run_channel import RunChannel
from acumatica_datasource.spec import DEFAULT_PROJECT, Environment
from acumatica_datasource.tooling import PulumiCli, ensure_pulumi_cli, offline_environment
from acumatica_datasource.verify import Waiting

DEFAULT_STATE_DIR = ".acumatica-ds/state"
LOCK_POLL_SECONDS = 1.0
TABLE_RACE = "failed to create table"
"""How the engine reports that it could not create its table in a new PostgreSQL database."""
STACK_RACE = "could not create stack: could not list bucket"
"""How the engine reports a new stack that another run created at the same moment (the
PostgreSQL backend lists its rows while the other run writes them): selecting it then works."""
OPEN_ATTEMPTS = 3
OPEN_RETRY_SECONDS = 0.5
STOP_SECONDS = 2.0
"""Seconds between the signals that stop an engine whose backend cannot be written."""
TAIL_SECONDS = 0.3


class EngineError(AcumaticaDataSourceError):
    """The engine could not run: a stack that cannot be opened or read, a dead run's lock or
    pending operations (no CLI and no passphrase have errors of their own in ``tooling``)."""

    kind = "engine"


class StackBusy(EngineError):
    """Another run, alive or not known to be dead, holds the stack's lock."""

    kind = "locked"


class _Busy(Exception):
    """Internal: the lock is held by ``holders`` (alive, or on another host)."""

    def __init__(self, holders: list[LockHolder]) -> None:
        super().__init__()
        self.holders = holders


class _Pending(Exception):
    """Internal: operations are pending on a backend whose locks only the engine sees (not
    ``file://``): another run may be applying them (``--wait-lock`` waits), or a killed run
    left them; ``error`` says so when the wait is over."""

    def __init__(self, described: str, error: EngineError) -> None:
        super().__init__()
        self.described = described
        self.error = error


class _Retry(Exception):
    """Internal: a dead run's lock was removed as the run began; begin again."""


@dataclass(frozen=True)
class EngineSettings:
    """Where state lives, how the provider runs, and what to do about locks."""

    state_dir: Path
    stack: str
    project: str = DEFAULT_PROJECT
    """The Pulumi project of the stack (the environment's ``project``, or ``--project``)."""
    sessions_per_site: int | None = None
    clear_pending: bool = False
    force: bool = False
    """With ``clear_pending``: clear a lock held on another host (its liveness is unknown)."""
    wait_lock: float = 0.0
    """Seconds to wait for a live run's lock to go before giving up."""
    targets: tuple[str, ...] = ()
    """The ids of the data sources to operate on (``--target``); empty: all of them."""

    @staticmethod
    def state_directory(given: str | None) -> Path:
        """``--state``, else ``$ACUMATICA_DS_STATE_DIR``, else ``./.acumatica-ds/state``."""
        return Path(given or os.environ.get(variables.STATE_DIR) or DEFAULT_STATE_DIR).expanduser()


class EngineRunner:
    """One environment's stack: preview, up, refresh, destroy."""

    def __init__(
        self,
        environment: Environment,
        settings: EngineSettings,
        *,
        write: Callable[[str], None],
        progress: Callable[[str], None] | None = None,
        interrupts: Interrupts | None = None,
        cli: PulumiCli | None = None,
    ) -> None:
        self.environment = environment
        self.settings = settings
        self.write = write
        self.progress = progress
        """Where lines about slow verifications go (text output only)."""
        self.interrupts = interrupts or Interrupts()
        self.cli = cli or ensure_pulumi_cli(build=True, log=write)
        state = settings.state_dir
        try:
            state.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot create the state directory {state} ({exc.strerror or exc}): give a "
                f"writable one (--state or ${variables.STATE_DIR})"
            ) from None
        self.env = offline_environment(state, cli=self.cli, pulumi_home=state / ".pulumi-home")
        if settings.sessions_per_site is not None:
            self.env[variables.SESSIONS_PER_SITE] = str(settings.sessions_per_site)
        self.engine = EngineProcess(root=str(self.cli.root))
        self._stack: auto.Stack | None = None
        self._channel: RunChannel | None = None

    def program(self) -> None:
        """The inline program: the environment's data sources, a stack output of each (see
        :func:`~acumatica_datasource.resource.export_data_sources`) and a summary."""
        resources = declare(self.environment)
        export_data_sources(self.environment, resources)
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
    def workspace(self) -> Path:
        """The stack's local workspace directory (its ``Pulumi.yaml`` and stack settings; the
        state itself is in the backend): ``STATE_DIR/.workspaces/PROJECT/STACK``."""
        return self.settings.state_dir / ".workspaces" / self.settings.project / self.settings.stack

    @property
    def stack(self) -> auto.Stack:
        """The stack, created on first use."""
        if self._stack is None:
            self._stack = self._open(_create_or_select)
        return self._stack

    def _open(self, opener: Callable[..., auto.Stack]) -> auto.Stack:
        """The stack, opened with ``auto.create_or_select_stack`` or ``auto.select_stack``."""
        work_dir = self.workspace
        work_dir.mkdir(parents=True, exist_ok=True)
        options = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            pulumi_home=self.env["PULUMI_HOME"],
            env_vars=self.env,
            project_settings=auto.ProjectSettings(name=self.settings.project, runtime="python"),
            pulumi_command=self.engine,
        )
        label = stack_label(self.settings.project, self.settings.stack)
        try:
            stack: auto.Stack = _opened(
                opener,
                stack_name=self.settings.stack,
                project_name=self.settings.project,
                program=self.program,
                opts=options,
            )
        except auto.StackNotFoundError:
            raise EngineError(
                f"stack {label} (project {self.settings.project}) does not exist in this state "
                "backend: nothing was deployed to it yet. Run up first, or check --stack, "
                "--project and the backend (PULUMI_BACKEND_URL, --state)"
            ) from None
        except auto.CommandError as exc:
            raise EngineError(f"cannot open stack {label}: {_tail(exc)}") from None
        return stack

    def recorded_outputs(self) -> dict[str, dict[str, Any]]:
        """The outputs the stack records for each data source, by id, in the current shape
        (:func:`~acumatica_datasource.resource.outputs.upgrade`), a secret output's value in
        clear (the caller decides what to show). Reads the stack without taking its lock or
        creating it (a stack that does not exist is an :class:`EngineError`)."""
        stack = self._open(auto.select_stack)
        try:
            deployment = stack.export_stack().deployment or {}
        except auto.CommandError as exc:
            raise EngineError(
                f"cannot read stack {stack_label(self.settings.project, self.settings.stack)}: "
                f"{_tail(exc)}"
            ) from None
        recorded: dict[str, dict[str, Any]] = {}
        for resource in deployment.get("resources") or []:
            if resource.get("type") != TYPE_TOKEN or resource.get("delete"):
                continue
            outputs = _revealed(resource.get("outputs") or {})
            try:
                recorded[_name(resource.get("urn"))] = upgrade(outputs)
            except ValueError as exc:  # recorded by a newer provider
                raise EngineError(f"{_name(resource.get('urn'))}: {exc}") from None
        return recorded

    # --- locks and interrupted deployments ---------------------------------------------------

    def _holders(self) -> list[LockHolder] | None:
        """The holders of the stack's lock, as the lock files say (None: not a ``file://``
        backend, so only the engine can tell)."""
        return file_lock_holders(
            self.env["PULUMI_BACKEND_URL"], self.settings.project, self.settings.stack
        )

    def _judge(self, holders: list[LockHolder]) -> None:
        """Decide about a held lock: wait (:class:`_Busy`), refuse, or remove a dead run's."""
        alive = [h for h in holders if h.alive() is True]
        unknown = [h for h in holders if h.alive() is None]
        if alive or (unknown and not (self.settings.clear_pending and self.settings.force)):
            raise _Busy(alive or unknown)
        dead = [h for h in holders if h.alive() is False]
        described = "; ".join(h.describe() for h in dead + unknown)
        if not self.settings.clear_pending:
            raise EngineError(
                f"stack {self.settings.stack} is locked by a run that is no longer alive "
                f"({described}): it was killed before it could unlock the stack. Re-run with "
                "--clear-pending to remove its lock and any operations it left pending; the run "
                "then re-applies what is needed (data sources are safe to apply again)"
            )
        self.write(f"removing the lock of a run that is no longer alive ({described})")
        with contextlib.suppress(auto.CommandError):
            self.stack.cancel()

    def _busy_error(self, holders: list[LockHolder]) -> StackBusy:
        described = "; ".join(h.describe() for h in holders)
        stack = self.settings.stack
        if any(h.alive() is None for h in holders) and not any(h.alive() for h in holders):
            return StackBusy(
                f"stack {stack} is locked by a run on another host ({described}); from here it "
                "cannot be told whether that run is still alive. Wait for it (--wait-lock "
                "SECONDS); if you know it is gone, re-run with --clear-pending --force"
            )
        if self.settings.clear_pending:
            return StackBusy(
                f"refusing to clear stack {stack}: it is being updated by another run "
                f"({described}), which is still alive. Wait for it to end (--wait-lock "
                "SECONDS), or stop it first"
            )
        return StackBusy(
            f"stack {stack} is being updated by another run ({described}). Wait for it to "
            "end, or re-run with --wait-lock SECONDS to wait for it"
        )

    def _prepare(self) -> None:
        """Refuse a stack a live run holds; explain, or with ``clear_pending`` repair, what a
        dead run left behind (its lock, its pending operations)."""
        holders = self._holders()
        if holders:
            self._judge(holders)
        stack = self.stack
        try:
            deployment = stack.export_stack()
        except auto.CommandError as exc:
            raise EngineError(f"cannot read stack {self.settings.stack}: {_tail(exc)}") from None
        self._check_targets(deployment.deployment or {})
        pending = list((deployment.deployment or {}).get("pending_operations") or [])
        if not pending:
            return
        described = ", ".join(
            f"{op.get('type', '?')} {_name(op.get('resource', {}).get('urn'))}" for op in pending
        )
        if not self.settings.clear_pending:
            if holders is None:  # this backend's locks are seen only by the engine
                raise _Pending(
                    described,
                    EngineError(
                        f"stack {self.settings.stack} has operations pending ({described}): "
                        "either another run is updating it now, or the last run was killed "
                        "before it could finish them. If no other run is going on, re-run with "
                        "--clear-pending (it asks the backend, and refuses while a live run "
                        "holds the stack); the run then re-applies what is needed. To wait for "
                        "another run to end, re-run with --wait-lock SECONDS"
                    ),
                )
            raise EngineError(
                f"the last deployment of stack {self.settings.stack} was interrupted while "
                f"{described}: those data sources may or may not have been applied. "
                "Re-run with --clear-pending to drop the interrupted operations from the state; "
                "the run then re-applies what is needed (data sources are safe to apply again)"
            )
        self.write(f"clearing {len(pending)} interrupted operation(s): {described}")
        cleared = dict(deployment.deployment or {})
        cleared["pending_operations"] = []
        replacement = auto.Deployment(version=deployment.version, deployment=cleared)
        try:
            stack.import_stack(replacement)
        except auto.ConcurrentUpdateError as exc:  # a backend whose locks only the engine sees
            named = holders_in_error(str(exc))
            if not named:
                raise EngineError(_tail(exc)) from None
            self._judge(named)
            stack.import_stack(replacement)

    def _check_targets(self, deployment: Mapping[str, Any]) -> None:
        """Refuse a ``--target`` that names no data source of the environment or the stack."""
        declared = [source.data_source_id for source in self.environment.data_sources]
        recorded = [
            _name(r.get("urn"))
            for r in deployment.get("resources") or []
            if r.get("type") == TYPE_TOKEN
        ]
        known = list(dict.fromkeys(declared + recorded))
        unknown = [target for target in self.settings.targets if target not in known]
        if unknown:
            raise UsageError(
                f"--target {', '.join(unknown)}: no data source has this id in the environment "
                f"file or in stack {stack_label(self.settings.project, self.settings.stack)}; "
                f"give one of: {', '.join(known) or '(none)'}"
            )

    def _target_urns(self, targets: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The engine's ``target`` argument for ``targets`` (default ``--target``; none:
        every data source)."""
        targets = self.settings.targets if targets is None else targets
        if not targets:
            return {}
        prefix = f"urn:pulumi:{self.settings.stack}::{self.settings.project}::{TYPE_TOKEN}::"
        return {"target": [prefix + target for target in targets]}

    # --- operations ---------------------------------------------------------------------------

    def run(self, operation: str) -> StackResult:
        """Run ``preview``, ``up``, ``refresh`` or ``destroy``; never raises for a failed or
        interrupted deployment (the result says what happened)."""
        deadline = time.monotonic() + self.settings.wait_lock
        with self._run_channel(), self.interrupts.on_signal(self._on_signal):
            while True:
                if self.interrupts.first is not None:
                    return self._not_started(operation, "while it waited for the stack's lock")
                try:
                    self._prepare()
                    if self.interrupts.first is not None:
                        return self._not_started(operation, "before the engine started")
                    result = self._run_once(operation)
                    if operation == "up":
                        self._record_failed_reverifications(result)
                    return result
                except EngineError:
                    if self.interrupts.first is not None:  # a signal cut a command short
                        return self._not_started(operation, "before the engine started")
                    raise
                except _Retry:
                    continue
                except _Pending as pending:
                    if time.monotonic() >= deadline:
                        raise pending.error from None
                    self.write(
                        f"waiting for stack {self.settings.stack}: operations are pending "
                        f"({pending.described}); another run may be applying them"
                    )
                    self._sleep_until(min(deadline, time.monotonic() + LOCK_POLL_SECONDS))
                except _Busy as busy:
                    if time.monotonic() >= deadline:
                        raise self._busy_error(busy.holders) from None
                    self.write(
                        f"waiting for the lock of stack {self.settings.stack} "
                        f"({'; '.join(h.describe() for h in busy.holders)})"
                    )
                    self._sleep_until(min(deadline, time.monotonic() + LOCK_POLL_SECONDS))

    def _sleep_until(self, moment: float) -> None:
        while self.interrupts.first is None and time.monotonic() < moment:
            time.sleep(0.1)

    def _on_signal(self, received: signal.Signals, count: int) -> None:
        """First signal: cancel the providers' work and the engine's run; second: the engine
        terminates at once; third (the process ends): the engine is killed."""
        if self._channel is not None:
            self._channel.cancel(f"the command received {received.name}")
        if count >= 3:
            self.engine.kill()
        else:
            self.engine.signal(received)

    @contextlib.contextmanager
    def _run_channel(self) -> Iterator[RunChannel]:
        directory = Path(tempfile.mkdtemp(prefix="acumatica-ds-run-"))
        self._channel = RunChannel(directory)
        self.env[variables.RUN_DIR] = str(directory)
        try:
            yield self._channel
        finally:
            self._channel = None
            shutil.rmtree(directory, ignore_errors=True)

    def _stop_unsaved(self) -> None:
        """Stop a run whose state cannot be saved: the engine retried the write for about 30
        seconds, and each further step, and its own last write, would wait as long only to go
        unrecorded too. The providers' work is cancelled, the engine gets two SIGINTs (cancel,
        then terminate) and, as it still waits on the backend then, SIGKILL: the engine alone,
        so its provider processes close their sessions as it goes."""
        if self._channel is not None:
            self._channel.cancel("the state backend could not be written")
        engines = self.engine.pids()  # not the commands that run after it (stack export)

        def stop() -> None:
            for signum in (signal.SIGINT, signal.SIGINT, signal.SIGKILL):
                self.engine.signal(signum, only=engines)
                time.sleep(STOP_SECONDS)

        threading.Thread(target=stop, name="stop-unsaved", daemon=True).start()

    def _not_started(self, operation: str, when: str) -> StackResult:
        result = self._new_result(operation, status="interrupted")
        result.signal = self.interrupts.describe()
        for source in self.environment.data_sources:
            result.data_sources.append(
                DataSourceResult(source.data_source_id, source.description, status="skipped")
            )
        result.say("warning", f"interrupted by {result.signal} {when}: nothing was run")
        return result

    def _new_result(self, operation: str, **fields: Any) -> StackResult:
        return StackResult(operation, self.settings.stack, project=self.settings.project, **fields)

    def _record_failed_reverifications(self, result: StackResult) -> None:
        """Record the fresh failures of strict data sources that ``up`` verified again only
        because their record was not ``ok``: a failed update records nothing, so a refresh
        of just those data sources records this run's verdict (their inputs are unchanged)."""
        again = tuple(
            source.data_source_id
            for source in result.data_sources
            if source.status == "failed"
            and source.action == "update"
            and not source.diff
            and source.verification == "failed"
            and source.recorded_verification not in (None, "ok")
        )
        if not again or self.interrupts.first is not None:
            return
        self.write(f"recording the failed verification of {', '.join(again)} (refresh)")
        try:
            refreshed = {s.data_source_id: s for s in self._run_once("refresh", again).data_sources}
        except (EngineError, _Retry, _Busy):  # e.g. another run took the stack meanwhile
            refreshed = {}
        for source in result.data_sources:
            if source.data_source_id not in again:
                continue
            now = refreshed.get(source.data_source_id)
            if now is not None and now.verification == "failed":
                source.recorded_verification = now.recorded_verification
                source.say("info", "the state records this run's failed verification")
            else:
                source.say(
                    "warning",
                    "this run's failed verification could not be recorded; the state keeps "
                    f"the earlier {source.recorded_verification} result",
                )

    def _run_once(self, operation: str, targets: tuple[str, ...] | None = None) -> StackResult:
        progress = Progress(self.environment, operation, self.write)
        progress.on_unsaved = self._stop_unsaved
        channel = self._channel
        assert channel is not None
        _, start = channel.read()
        callbacks: dict[str, Any] = {
            "on_event": progress,
            "color": "never",
            **self._target_urns(targets),
        }
        failed = False
        with self._tail(channel):
            try:
                if operation == "preview":
                    self.stack.preview(**callbacks)
                elif operation == "up":
                    # data sources are independent: one failing must not leave the others
                    # unattempted (and unexplained); the run still fails
                    self.stack.up(continue_on_error=True, **callbacks)
                elif operation == "refresh":
                    self.stack.refresh(**callbacks)
                elif operation == "destroy":
                    self.stack.destroy(**callbacks)
                else:  # pragma: no cover - the parser allows only the four
                    raise ValueError(operation)
            except auto.ConcurrentUpdateError as exc:
                holders = holders_in_error(str(exc))
                if not holders:
                    raise EngineError(_tail(exc)) from None
                self._judge(holders)  # waits, refuses, or removes a dead run's lock:
                raise _Retry from None
            except auto.CommandError as exc:
                failed = True
                if not progress.errors and not any(s.messages for s in progress.sources.values()):
                    progress.errors.append(_tail(exc))
                gc.collect()  # finish the abandoned inline program now (see pulumi_engine notes)
        progress.verdicts(channel.read(start)[0])
        pending = self._read_state(progress) if operation != "preview" else set()
        return self._result(operation, progress, failed=failed, pending=pending)

    @contextlib.contextmanager
    def _tail(self, channel: RunChannel) -> Iterator[None]:
        """Print what slow verifications wait for while the engine runs (text output)."""
        if self.progress is None:
            yield
            return
        write = self.progress
        offset = 0

        def follow() -> None:
            nonlocal offset
            events, offset = channel.read(offset)
            for event in events:
                if event.get("kind") == "waiting":
                    waiting = Waiting(
                        str(event.get("data_source_id")),
                        str(event.get("description")),
                        float(event.get("seconds") or 0),
                        str(event.get("waiting_for")),
                    )
                    write(f"  ... {waiting.line()}")

        with ticking(TAIL_SECONDS, follow):
            yield

    def _read_state(self, progress: Progress) -> set[str]:
        """Fill recorded verifications and callback URLs from the state; return the data
        sources with an operation the state shows pending."""
        try:
            deployment = self.stack.export_stack().deployment or {}
        except auto.CommandError:
            return set()
        recorded = {
            _name(r.get("urn")): r.get("outputs") or {}
            for r in deployment.get("resources") or []
            if r.get("type") == TYPE_TOKEN
        }
        for data_source_id, source in progress.sources.items():
            outputs = recorded.get(data_source_id)
            if outputs is None:
                source.recorded_verification = None
                continue
            verification = outputs.get("verification")
            if isinstance(verification, dict):
                source.recorded_verification = verification.get("status")
            source.callback_url = outputs.get("callback_url") or source.callback_url
        return {
            _name((op.get("resource") or {}).get("urn"))
            for op in deployment.get("pending_operations") or []
        }

    def _result(
        self, operation: str, progress: Progress, *, failed: bool, pending: set[str]
    ) -> StackResult:
        interrupted = self.interrupts.first is not None
        stopped = interrupted or progress.unsaved is not None
        done = PREVIEWED if operation == "preview" else DONE
        result = self._new_result(operation)
        targets = self.settings.targets
        for data_source_id, source in progress.sources.items():
            if targets and data_source_id not in targets and source.status != "failed":
                # the engine steps over what is not targeted ("same", even when never created)
                source.status, source.action = "skipped", None
            elif data_source_id in pending:
                source.status = "interrupted"  # the state says its operation never ended
            elif stopped and source.status not in (*done, "failed"):
                source.status = "interrupted"
            elif operation == "refresh" and source.status in DONE:
                source.status = _refreshed(
                    source,
                    progress.old_outputs.get(data_source_id),
                    progress.new_outputs.get(data_source_id),
                )
            elif source.action is None and operation in ("refresh", "destroy"):
                source.say("info", f"not in stack {self.settings.stack}: nothing to {operation}")
            result.data_sources.append(source)
        if progress.unsaved is not None:
            result.say(
                "error",
                f"the state backend ({backend_name(self.env['PULUMI_BACKEND_URL'])}) could not "
                f"be written ({progress.unsaved}), so the run was stopped: what it applied since "
                "its last saved checkpoint is not recorded. Once the backend is reachable again, "
                "re-run the command (with --clear-pending if it asks for it); data sources are "
                "safe to apply again",
            )
        for error in progress.errors:
            result.say("error", error)
        for warning in progress.warnings:
            result.say("warning", warning)
        if progress.unchecked:
            result.say(
                "warning",
                f"could not check whether a secret was rotated for {len(progress.unchecked)} "
                f"data source(s) ({', '.join(progress.unchecked)}): a rotated secret may be "
                "missing from this run's changes (their messages say why)",
            )
        statuses = {source.status for source in result.data_sources}
        if interrupted:
            result.status = "interrupted"
            result.signal = self.interrupts.describe()
            result.say(
                "warning",
                f"interrupted by {result.signal}: data sources marked interrupted were not "
                "applied to the end; the next run applies them again",
            )
        elif failed or "failed" in statuses or "interrupted" in statuses:
            result.status = "failed"
        return result


def _refreshed(
    source: DataSourceResult, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> str:
    """A refreshed data source's status: failed when its verification failed now, updated
    when the record changed (verdict or secret versions), else unchanged."""
    if source.verification == "failed":
        return "failed"
    if old is None or new is None:
        return "unchanged"
    before, after = old.get("verification") or {}, new.get("verification") or {}
    changed = (before.get("status") if isinstance(before, Mapping) else None) != (
        after.get("status") if isinstance(after, Mapping) else None
    ) or old.get("secret_versions") != new.get("secret_versions")
    return "updated" if changed else "unchanged"


def _opened(opener: Callable[..., auto.Stack], **options: Any) -> auto.Stack:
    """``opener(**options)``, tried again when the backend's first use lost a race: on a new
    PostgreSQL database each run creates the engine's table, and one that does it at the same
    moment as another fails ("duplicate key value violates unique constraint", 23505) although
    the table is then there; the same for a new stack (:data:`STACK_RACE`)."""
    for _ in range(OPEN_ATTEMPTS - 1):
        try:
            return opener(**options)
        except auto.CommandError as exc:
            said = str(exc)
            lost = (TABLE_RACE in said and "(23505)" in said) or STACK_RACE in said
            if not lost:
                raise
        time.sleep(OPEN_RETRY_SECONDS)
    return opener(**options)


def _create_or_select(**options: Any) -> auto.Stack:
    """``auto.create_or_select_stack``, which looks for the stack, then creates it: when
    another run (a pipeline sharing the backend) created it in between, that one is selected."""
    try:
        return auto.create_or_select_stack(**options)
    except auto.StackAlreadyExistsError:
        return auto.select_stack(**options)


SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
"""The key that marks a secret value in an exported deployment (Pulumi's ``sig.Secret``)."""


def _revealed(value: Any) -> Any:
    """``value`` of a deployment exported with ``--show-secrets``, each secret replaced by its
    plaintext (an encrypted one, exported without, by None)."""
    if isinstance(value, Mapping):
        if SECRET_SIGNATURE in value:
            plaintext = value.get("plaintext")
            return json.loads(plaintext) if isinstance(plaintext, str) else None
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_revealed(item) for item in value]
    return value


def _name(urn: Any) -> str:
    return str(urn or "?").rsplit("::", 1)[-1]


def _tail(exc: auto.CommandError, lines: int = 12) -> str:
    text = str(exc)
    marker = "stderr:"
    stderr = text.split(marker, 1)[1].strip() if marker in text else ""
    body = stderr or text
    kept = [line for line in body.splitlines() if line.strip()][-lines:]
    return engine_text("\n".join(kept))
