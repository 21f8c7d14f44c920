"""Who holds a stack's lock, and whether that run is still alive.

The engine's DIY backends lock a stack for every operation by writing
``.pulumi/locks/<org>/<project>/<stack>/<id>.json`` (``{"pid", "username", "hostname",
"timestamp"}``, the pid being the engine's) and refuse to run while another lock exists,
naming each holder in their error ("created by user@host (pid N) at T"). ``pulumi cancel``
deletes every lock of the stack. This module reads those records (the lock files of a
``file://`` backend; the engine's error for any backend) and tells a live run from a dead one:
on this host by its pid, on another host not at all (the caller asks for ``--force``).
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

_HOLDER = re.compile(
    r"created by (?P<user>[^@\s]*)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\S+)"
)


@dataclass(frozen=True)
class LockHolder:
    """The run that holds a lock."""

    pid: int
    host: str
    user: str = ""
    started: str = ""
    """When the lock was taken (RFC 3339), as recorded."""

    @property
    def local(self) -> bool:
        """Whether the run is on this host (its pid can be checked)."""
        return self.host in (socket.gethostname(), socket.getfqdn())

    def alive(self) -> bool | None:
        """True or False on this host; None (cannot tell) on another."""
        if not self.local:
            return None
        return _process_alive(self.pid)

    def describe(self) -> str:
        """``started 2025-01-02T03:04:05Z, by PID 1234 on host ci-7 (user runner)``."""
        where = "this host" if self.local else f"host {self.host}"
        user = f" (user {self.user})" if self.user else ""
        started = f"started {self.started}, " if self.started else ""
        return f"{started}by PID {self.pid} on {where}{user}"


def file_lock_holders(backend_url: str, project: str, stack: str) -> list[LockHolder] | None:
    """The holders of ``stack``'s locks in a ``file://`` backend; None for other backends
    (their locks are known only from the engine's error)."""
    parts = urlsplit(backend_url)
    if parts.scheme != "file":
        return None
    root = Path(unquote(parts.netloc + parts.path)).expanduser() / ".pulumi" / "locks"
    candidates = list(root.glob(f"*/{project}/{stack}/*.json"))
    candidates += root.glob(f"{stack}/*.json")  # the legacy, non-project layout
    holders = []
    for path in candidates:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being written or removed: the engine itself will tell
        if isinstance(record, dict) and isinstance(record.get("pid"), int):
            holders.append(
                LockHolder(
                    pid=record["pid"],
                    host=str(record.get("hostname", "")),
                    user=str(record.get("username", "")),
                    started=_rfc3339(record.get("timestamp")),
                )
            )
    return holders


def holders_in_error(text: str) -> list[LockHolder]:
    """The holders the engine named in its "the stack is currently locked" error."""
    return [
        LockHolder(
            pid=int(match["pid"]), host=match["host"], user=match["user"], started=match["at"]
        )
        for match in _HOLDER.finditer(text)
    ]


def _rfc3339(value: object) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat(timespec="seconds")
    except ValueError:
        return value


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, finished but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal test is all there is
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
