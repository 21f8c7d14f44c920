"""The channel between ``acumatica-ds`` and the provider processes of one engine run.

The command line runs the engine with ``ACUMATICA_DS_RUN_DIR`` naming a fresh directory, which
the engine passes on to the provider processes it starts:

* the command line creates ``cancel`` there when it is interrupted (SIGINT, SIGTERM); the
  providers then cancel their work: no verification starts, those under way stop at their next
  step and close their sessions;
* the providers append one JSON object per line to ``events.jsonl``: what each verification
  found (this run's verdict, also for an operation that failed), warnings about a data source,
  and what a slow verification waits for. The command line reads them for its progress lines
  and its summary, which so describe this run and nothing older.

Without the variable (a plain ``pulumi up``) there is no channel, and warnings go to the
engine's output only.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acumatica_datasource import environment_variables as variables

EVENTS = "events.jsonl"
CANCEL = "cancel"


class RunChannel:
    """One run's channel directory (see the module's docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> RunChannel | None:
        """The channel named by ``ACUMATICA_DS_RUN_DIR``, or None."""
        named = environ.get(variables.RUN_DIR)
        return cls(Path(named)) if named else None

    @property
    def events_path(self) -> Path:
        return self.directory / EVENTS

    # --- command line -> providers ---------------------------------------------------------

    def cancel(self, reason: str) -> None:
        """Ask the providers to cancel their work (written once; the first reason stays)."""
        path = self.directory / CANCEL
        try:
            with path.open("x", encoding="utf-8") as file:
                file.write(reason)
        except FileExistsError:
            return

    def cancelled(self) -> str | None:
        """Why the run was cancelled, or None while it is not."""
        try:
            return (self.directory / CANCEL).read_text(encoding="utf-8") or "cancelled"
        except OSError:
            return None

    # --- providers -> command line ---------------------------------------------------------

    def emit(self, kind: str, **fields: Any) -> None:
        """Append an event; a channel that cannot be written is ignored (the engine's own
        output still carries errors and warnings)."""
        line = json.dumps({"kind": kind, **fields}, ensure_ascii=False, default=str) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            try:
                descriptor = os.open(self.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            except OSError:
                return
            try:
                os.write(descriptor, data)
            except OSError:
                return
            finally:
                os.close(descriptor)

    def read(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """The complete events from byte ``offset`` on, and the offset after them."""
        try:
            with self.events_path.open("rb") as file:
                file.seek(offset)
                data = file.read()
        except OSError:
            return [], offset
        complete = data[: data.rfind(b"\n") + 1]
        events = []
        for raw in complete.splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events, offset + len(complete)
