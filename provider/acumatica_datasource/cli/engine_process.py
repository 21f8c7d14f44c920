"""The ``pulumi`` processes of a command: started in a session of their own, and reachable.

The Automation API starts ``pulumi`` as a plain child, so a Ctrl-C in a terminal reaches it
as well as this process, and this process has no handle on it to pass on a SIGTERM. Here every
``pulumi`` runs in its own session (its own process group): the terminal's signals reach this
process only, which passes each one on exactly once (:meth:`EngineProcess.signal`), as the
engine expects (first signal: cancel; second: terminate).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import IO

from pulumi.automation import CommandResult, PulumiCommand
from pulumi.automation._cmd import OnOutput
from pulumi.automation.errors import create_command_error


class EngineProcess(PulumiCommand):
    """A :class:`pulumi.automation.PulumiCommand` whose processes can be signalled."""

    def __init__(self, root: str) -> None:
        super().__init__(root=root)
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: OnOutput | None = None,
        on_error: OnOutput | None = None,
    ) -> CommandResult:
        """Run ``pulumi ARGS`` as the Automation API does (non-interactive, output lines to
        the callbacks, :class:`~pulumi.automation.errors.CommandError` on failure), in a
        session of its own."""
        separator = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:separator]:
            args = ["--non-interactive", *args]
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        program = Path(self.command)
        if program.is_absolute():
            env["PATH"] = os.pathsep.join([str(program.parent), env.get("PATH", "")])
        stdout: list[str] = []
        stderr: list[str] = []
        with subprocess.Popen(
            [self.command, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        ) as process:
            with self._lock:
                self._running.add(process)
            try:
                readers = [
                    threading.Thread(target=_lines, args=(process.stdout, on_output, stdout)),
                    threading.Thread(target=_lines, args=(process.stderr, on_error, stderr)),
                ]
                for reader in readers:
                    reader.start()
                for reader in readers:
                    reader.join()
                code = process.wait()
            finally:
                with self._lock:
                    self._running.discard(process)
        result = CommandResult(stdout="\n".join(stdout), stderr="\n".join(stderr), code=code)
        if code != 0:
            raise create_command_error(result)
        return result

    def pids(self) -> set[int]:
        """The process ids of the ``pulumi`` processes running now."""
        with self._lock:
            return {process.pid for process in self._running}

    def signal(self, signum: int, *, only: Collection[int] | None = None) -> None:
        """Pass ``signum`` on to every ``pulumi`` running now (the engine cancels on the first
        SIGINT or SIGTERM and terminates on the second); with ``only``, to those of these
        process ids that still run."""
        with self._lock:
            running = [p for p in self._running if only is None or p.pid in only]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signum)

    def kill(self) -> None:
        """End every ``pulumi`` running now and its process group at once (SIGKILL)."""
        with self._lock:
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def _lines(stream: IO[str] | None, callback: OnOutput | None, lines: list[str]) -> None:
    if stream is None:
        return
    for line in iter(stream.readline, ""):
        stripped = line.rstrip()
        if callback is not None:
            callback(stripped)
        lines.append(stripped)
    stream.close()
