"""Helpers of the resilience suite: a fleet of 20 data sources, the figures collector, and
checks shared by the scenarios."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.e2e import CALLBACK_BASE_URL, CLIENT_ID, SECRETS, Run, World
from tests.support.pulumi_engine import command_line, descendants, kill_pids

FLEET_SIZE = 20
OAUTH_COUNT = 2
"""The last data sources of a fleet use OAuth (no session: cheap)."""
COUNTS = ("create", "update", "delete", "same")


@dataclass(frozen=True)
class Team:
    """A Vault path holding a user's password (and the application's client secret)."""

    path: str
    user: str
    password: str


DEFAULT_TEAMS = (Team("acumatica/e2e", "nectari", SECRETS["password"]),)


def source_id(index: int) -> str:
    return f"ds-{index:02d}"


def fleet_tenant(teams: Sequence[Team] = DEFAULT_TEAMS, size: int = FLEET_SIZE) -> dict[str, Any]:
    """Sandbox tenant overrides: one user per team, the application with every callback."""
    return {
        "users": [{"name": team.user, "password": team.password} for team in teams],
        "connected_apps": [
            {
                "client_id": CLIENT_ID,
                "name": "Nectari",
                "flow": "authorization_code",
                "secrets": [SECRETS["client_secret"]],
                "redirect_uris": [
                    f"{CALLBACK_BASE_URL}/oauth/callback/{source_id(i)}" for i in range(size)
                ],
            }
        ],
    }


def vault_secrets(teams: Sequence[Team] = DEFAULT_TEAMS) -> dict[str, dict[str, str]]:
    return {
        team.path: {"password": team.password, "client_secret": SECRETS["client_secret"]}
        for team in teams
    }


def fleet(
    world: World,
    *,
    name: str = "dev",
    size: int = FLEET_SIZE,
    oauth: int = OAUTH_COUNT,
    teams: Sequence[Team] = DEFAULT_TEAMS,
    page_size: int = 10,
    operation_timeout: float | None = None,
) -> dict[str, Any]:
    """``size`` data sources against the world's sandbox (the last ``oauth`` use OAuth); the
    teams split them in consecutive blocks, each reading its secrets from its Vault path."""
    defaults: dict[str, Any] = {"url": world.sandbox.url, "company": "ACME", "page_size": page_size}
    if operation_timeout is not None:
        defaults["operation_timeout"] = operation_timeout
    sources = []
    for index in range(size):
        team = teams[index * len(teams) // size]
        if index >= size - oauth:
            authentication: dict[str, Any] = {
                "strategy": "oauth2",
                "client_id": CLIENT_ID,
                "client_secret": {"vault": {"path": team.path, "key": "client_secret"}},
            }
        else:
            authentication = {
                "strategy": "basic",
                "username": team.user,
                "password": {"vault": {"path": team.path, "key": "password"}},
            }
        sources.append(
            {
                "description": f"Data source {index:02d}",
                "id": source_id(index),
                "authentication": authentication,
            }
        )
    return {
        "environment": name,
        "callback_base_url": CALLBACK_BASE_URL,
        "defaults": defaults,
        "data_sources": sources,
    }


def team_ids(teams: Sequence[Team], team: Team, size: int = FLEET_SIZE) -> set[str]:
    """The ids of the data sources that read their secrets from ``team``'s path."""
    return {source_id(i) for i in range(size) if teams[i * len(teams) // size] == team}


# --- outcomes ---------------------------------------------------------------------------------


def by_id(run: Run) -> dict[str, dict[str, Any]]:
    return {str(s["data_source_id"]): s for s in run.result["data_sources"]}


def changes(run: Run) -> dict[str, int]:
    found = run.result["changes"]
    return {key: int(found.get(key, 0)) for key in COUNTS}


def no_changes(size: int = FLEET_SIZE) -> dict[str, int]:
    return {"create": 0, "update": 0, "delete": 0, "same": size}


def verified(source: dict[str, Any]) -> bool:
    """Verified ok in this run, or left unchanged with an ok verification on record."""
    if source["verification"] == "not_run":
        return source["status"] == "unchanged" and source["recorded_verification"] == "ok"
    return source["verification"] == "ok" and source["recorded_verification"] == "ok"


def assert_classified(run: Run, causes: dict[str, str]) -> dict[str, int]:
    """Every data source of ``run`` is applied with verification ok, or failed with messages
    naming one of ``causes`` (name -> regular expression); returns how many of each."""
    seen: dict[str, int] = {"applied": 0}
    for source_id_, source in by_id(run).items():
        if source["status"] == "failed":
            text = "\n".join(m["text"] for m in source["messages"])
            matched = [name for name, pattern in causes.items() if re.search(pattern, text, re.I)]
            assert matched, f"{source_id_} failed without a classified cause: {text!r}"
            assert "internal error" not in text and "Traceback" not in text, text
            seen[matched[0]] = seen.get(matched[0], 0) + 1
        else:
            assert source["status"] in ("created", "updated", "unchanged"), source
            assert verified(source), source
            seen["applied"] += 1
    assert sum(seen.values()) == len(run.result["data_sources"])
    return seen


def assert_converged(world: World, path: str, size: int = FLEET_SIZE) -> Run:
    """``up`` with faults off applies everything (verification ok); ``preview`` shows no
    changes left. Returns the ``up``."""
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 0, up.output
    assert all(verified(s) for s in up.result["data_sources"]), up.stdout
    assert len(up.result["data_sources"]) == size
    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert changes(preview) == no_changes(size), preview.stdout
    return up


def wait_for_sessions(world: World, expected: int = 0, timeout: float = 15.0) -> int:
    """Poll the sandbox until ``expected`` sessions are open (idle ones expire lazily, on
    each request, which the state request is); returns the last count seen."""
    deadline = time.monotonic() + timeout
    count = world.control.open_sessions()
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        count = world.control.open_sessions()
    return count


# --- figures ----------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one scenario did."""

    scenario: str
    runs: int = 0
    failed_runs: int = 0
    failed_sources: int = 0
    leaked_sessions: int = 0
    secret_hits: int = 0
    seconds: float = 0.0
    verdict_correct: bool = False
    """Set by the scenario once every exit code, status and verdict it checked was right."""
    orphans: int = 0
    """Processes a command started that outlived it by more than 10 s."""
    exit_seconds: list[float] = field(default_factory=list)
    """Per signal sent: seconds from the signal to the command's exit."""
    notes: list[str] = field(default_factory=list)

    def count_runs(self, runs: Iterable[Run]) -> None:
        for run in runs:
            self.runs += 1
            self.failed_runs += run.code != 0
            try:
                sources = run.result.get("data_sources") or []
            except (ValueError, IndexError):
                continue
            self.failed_sources += sum(1 for s in sources if s.get("status") == "failed")


@dataclass
class Collector:
    """Figures of every scenario of the session, printed as a table at the end."""

    rows: list[Figures] = field(default_factory=list)

    def scenario(self, name: str) -> Figures:
        figures = Figures(name)
        self.rows.append(figures)
        return figures

    def table(self) -> list[str]:
        header = (
            "scenario",
            "runs",
            "failures (runs / data sources)",
            "verdict correct",
            "sessions left",
            "orphan processes",
            "exit after signal (s)",
            "secret hits",
            "seconds",
        )
        rows = [
            (
                f.scenario,
                str(f.runs),
                f"{f.failed_runs} / {f.failed_sources}",
                "yes" if f.verdict_correct else "no",
                str(f.leaked_sessions),
                str(f.orphans),
                ", ".join(f"{s:.1f}" for s in f.exit_seconds) or "-",
                str(f.secret_hits),
                f"{f.seconds:.1f}",
            )
            for f in self.rows
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        lines = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        lines += [line(r) for r in rows]
        total = sum(f.seconds for f in self.rows)
        lines.append(f"total: {sum(f.runs for f in self.rows)} runs, {total:.0f} s")
        lines += [f"{f.scenario}: {note}" for f in self.rows for note in f.notes]
        return lines


# --- commands under signals -------------------------------------------------------------------

_STARTED = itertools.count()
ORPHAN_GRACE = 10.0
"""Seconds a process the command started may outlive it (issue 11, point 8)."""


def _start_time(pid: int) -> str | None:
    """The process's start time (ticks since boot), which tells a pid from its reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if fields and fields[0] in ("Z", "X"):
        return None  # finished, not yet reaped
    return fields[19] if len(fields) > 19 else None


@dataclass
class Watched:
    """A command running in the background, its process tree followed while it runs."""

    world: World
    args: list[str]
    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    tree: dict[int, str] = field(default_factory=dict)
    """Every process the command started (pid -> start time), seen while it ran."""
    signalled_at: float | None = None
    exited_at: float | None = None
    children_gone: float | None = None
    """Seconds from the command's exit until the last process it started was gone (at most
    the time to notice: 0.1 s)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _follow(self) -> None:
        while not self._stop.is_set():
            for pid in descendants(self.process.pid):
                started = _start_time(pid)
                if started is not None:
                    self.tree.setdefault(pid, started)
            if self.process.poll() is not None and self.exited_at is None:
                self.exited_at = time.monotonic()
                return
            time.sleep(0.05)

    def names(self) -> list[str]:
        return [" ".join(command_line(pid))[:120] for pid in list(self.tree)]  # it grows

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 120.0) -> None:
        """Wait for ``predicate`` while the command runs (fails if it ends first)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.process.poll() is None, self.err.read_text()[-3000:]
            assert time.monotonic() < deadline, "the command did not get there in time"
            time.sleep(0.05)

    def signal(self, signum: int, *, group: bool = False) -> None:
        """Send ``signum`` to the command (``group``: to its process group, as a terminal's
        Ctrl-C does)."""
        if self.signalled_at is None:
            self.signalled_at = time.monotonic()
        if group:
            os.killpg(self.process.pid, signum)
        else:
            os.kill(self.process.pid, signum)

    def finish(self, timeout: float = 180.0) -> Run:
        """Wait for the command to end and record its run."""
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                kill_pids([self.process.pid, *descendants(self.process.pid)])
                self.process.wait(timeout=10)
        self.exited_at = self.exited_at or time.monotonic()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        run = Run(
            list(self.args), self.process.returncode, self.out.read_text(), self.err.read_text()
        )
        self.world.record(run)
        assert "Traceback" not in run.output, run.output
        return run

    @property
    def exit_seconds(self) -> float:
        """Seconds from the first signal to the command's exit."""
        assert self.signalled_at is not None and self.exited_at is not None
        return round(self.exited_at - self.signalled_at, 1)

    def survivors(self, grace: float = ORPHAN_GRACE) -> list[str]:
        """The processes the command started still running ``grace`` seconds after it ended
        (each is then stopped, by pid); their command lines. Sets :attr:`children_gone`."""
        assert self.exited_at is not None
        deadline = self.exited_at + grace
        alive = self._alive()
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = self._alive()
        if not alive:
            self.children_gone = round(max(0.0, time.monotonic() - self.exited_at), 1)
        names = [" ".join(command_line(pid))[:160] for pid in alive]
        kill_pids(alive)
        return names

    def _alive(self) -> list[int]:
        return [pid for pid, started in list(self.tree.items()) if _start_time(pid) == started]


def start(world: World, *args: str, env: dict[str, str] | None = None) -> Watched:
    """Start ``acumatica-ds ARGS`` in a process group of its own, following its tree."""
    index = next(_STARTED)
    out, err = world.root / f"run-{index}.out", world.root / f"run-{index}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            world.command(*args),
            env={**world.env(), **(env or {})},
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    watched = Watched(world, list(args), process, out, err)
    watched._thread = threading.Thread(target=watched._follow, daemon=True)
    watched._thread.start()
    return watched


def logins(world: World) -> int:
    """Logins the sandbox answered so far."""
    return sum(
        1
        for r in world.control.requests()
        if r["path"] == "/entity/auth/login" and r["status"] == 204
    )
