"""Helpers for tests that run the real Pulumi engine through the Automation API, offline.

Import as ``from tests.support.pulumi_engine import ...``.

* :func:`locate_cli` - :func:`ensure_pulumi_cli` for tests (builds once into the cache);
  wrap it in a session-scoped fixture.
* :func:`engine_sandbox` / :class:`EngineSandbox` - an isolated file backend, ``PULUMI_HOME``
  and work directory under a temporary directory, the offline environment, and
  :meth:`EngineSandbox.stack` to create or select a stack running an inline program.
* :class:`EventLog` - collects ``on_event`` / ``on_output`` / ``on_error`` and answers
  questions about them (non-debug diagnostics, summary, everything as text for secret scans).
* :class:`Timings` - measures operations (``with timings("up"): ...``).
* :func:`descendants` / :func:`kill_pids` - find and stop processes a test started (by pid).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from acumatica_datasource.tooling import PulumiCli, ensure_pulumi_cli, offline_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_PASSPHRASE = "engine-tests-passphrase"
DEFAULT_PROJECT = "engine-tests"


def _log(message: str) -> None:
    print(f"[pulumi-cli] {message}", file=sys.stderr, flush=True)


def locate_cli() -> PulumiCli:
    """Locate the Pulumi CLI or build it into the cache (minutes, once per machine)."""
    return ensure_pulumi_cli(build=True, log=_log)


def _clean_environ() -> dict[str, str]:
    """The process environment without the user's Pulumi settings (tests are isolated)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}


@dataclass
class EngineSandbox:
    """Everything one test needs to run the engine offline in its own directory."""

    cli: PulumiCli
    root: Path
    env: dict[str, str]

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def pulumi_home(self) -> Path:
        return self.root / "pulumi-home"

    def work_dir(self, name: str = "work") -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stack(
        self,
        program: Callable[[], None],
        *,
        stack_name: str = "dev",
        project_name: str = DEFAULT_PROJECT,
        work_dir: str = "work",
    ) -> auto.Stack:
        """Create or select ``stack_name`` running ``program`` inline."""
        options = auto.LocalWorkspaceOptions(
            work_dir=str(self.work_dir(work_dir)),
            pulumi_home=str(self.pulumi_home),
            env_vars=self.env,
            project_settings=auto.ProjectSettings(name=project_name, runtime="python"),
            pulumi_command=self.cli.command(),
        )
        return auto.create_or_select_stack(
            stack_name=stack_name, project_name=project_name, program=program, opts=options
        )

    def state_file(self, project_name: str = DEFAULT_PROJECT, stack_name: str = "dev") -> Path:
        """The raw checkpoint file of a stack in the file backend (project mode layout)."""
        return self.state_dir / ".pulumi" / "stacks" / project_name / f"{stack_name}.json"

    def lock_files(self) -> list[Path]:
        return sorted((self.state_dir / ".pulumi" / "locks").rglob("*.json"))


def engine_sandbox(cli: PulumiCli, root: Path) -> EngineSandbox:
    """Prepare ``root`` (a tmp dir) for offline engine runs and return the sandbox."""
    (root / "state").mkdir(parents=True, exist_ok=True)
    env = offline_environment(
        root / "state",
        TEST_PASSPHRASE,
        cli=cli,
        pulumi_home=root / "pulumi-home",
        environ=_clean_environ(),
    )
    # The dynamic provider is unpickled in the plugin process, whose working directory is the
    # one of this process; make the test support modules importable from anywhere.
    pythonpath = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(pythonpath))
    return EngineSandbox(cli=cli, root=root, env=env)


@dataclass
class EventLog:
    """Collects engine events and output lines of one or more operations."""

    events: list[auto.EngineEvent] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def callbacks(self) -> dict[str, Any]:
        """Keyword arguments for ``stack.up/preview/refresh/destroy``."""
        return {
            "on_event": self.events.append,
            "on_output": self.stdout.append,
            "on_error": self.stderr.append,
        }

    def clear(self) -> None:
        self.events.clear()
        self.stdout.clear()
        self.stderr.clear()

    def diagnostics(self, *, include_debug: bool = False) -> list[auto.DiagnosticEvent]:
        found = [event.diagnostic_event for event in self.events if event.diagnostic_event]
        return [d for d in found if include_debug or d.severity != "debug"]

    def summary(self) -> auto.SummaryEvent | None:
        summaries = [event.summary_event for event in self.events if event.summary_event]
        return summaries[-1] if summaries else None

    def failed_ops(self) -> list[auto.ResOpFailedEvent]:
        return [event.res_op_failed_event for event in self.events if event.res_op_failed_event]

    def step_events(self, type_prefix: str = "pulumi-python:") -> list[auto.StepEventMetadata]:
        """Metadata of resource pre/outputs events of resources whose type starts so."""
        found: list[auto.StepEventMetadata] = []
        for event in self.events:
            for step in (event.resource_pre_event, event.res_outputs_event):
                if step is not None and step.metadata.type.startswith(type_prefix):
                    found.append(step.metadata)
        return found

    def text(self) -> str:
        """Everything seen, for scanning for secret values."""
        return "\n".join([*self.stdout, *self.stderr, *(repr(e) for e in self.events)])


@dataclass
class Timings:
    """Wall-clock durations of named operations."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[label] = round(time.monotonic() - started, 2)

    def report(self) -> str:
        return ", ".join(f"{label} {value:.2f}s" for label, value in self.seconds.items())


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (Linux ``/proc``), children first."""
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in _children(pending.pop()):
            found.append(child)
            pending.append(child)
    return found


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def kill_pids(pids: list[int], sig: int = signal.SIGKILL) -> None:
    """Signal each pid (processes this test started), ignoring those already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def pending_operations(deployment: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The ``pending_operations`` of an exported deployment (absent means none)."""
    return list((deployment or {}).get("pending_operations") or [])


def collect_abandoned_programs() -> None:
    """Collect inline-program coroutines abandoned by failed engine runs, now.

    When an operation fails, the Automation API's language server leaves the program's
    ``run_pulumi_func`` coroutine unfinished in a stopped event loop. Its finalizer prints
    "Exception ignored ... no running event loop" whenever the cyclic GC gets to it; on
    CPython < 3.11.8 a finalizer running inside ``ast.parse`` (pytest's assertion rewriting,
    traceback carets) corrupts the AST recursion counter and ``ast.parse`` raises
    ``SystemError: AST constructor recursion depth mismatch``. Collecting at a known point
    (after each engine test or operation) avoids that.
    """
    gc.collect()
