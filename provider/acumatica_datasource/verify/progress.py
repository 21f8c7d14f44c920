"""What the verifications under way are waiting for, so a slow one can say so.

A :class:`ProgressBoard` is shared by the verifications of a run; each one says what it waits
for (Vault, the login, a page read, a free session slot...) and whoever prints progress asks
:meth:`ProgressBoard.due` now and then for the verifications worth a line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SLOW_AFTER = 5.0
"""Seconds after which a verification says what it waits for."""
REPEAT_AFTER = 10.0
"""Seconds after which a verification still waiting for the same thing says it again."""
SETTLED_AFTER = 1.0
"""Seconds a new wait must last before it is worth a line of its own."""


@dataclass(frozen=True)
class Waiting:
    """A verification under way for a while, and what it waits for."""

    data_source_id: str
    description: str
    seconds: float
    waiting_for: str

    def line(self) -> str:
        """``still verifying NAME [ID] after 6 s: waiting for the login``."""
        return (
            f"still verifying {self.description} [{self.data_source_id}] after "
            f"{self.seconds:.0f} s: waiting for {self.waiting_for}"
        )


@dataclass
class _Entry:
    data_source_id: str
    description: str
    started: float
    waiting_for: str
    since: float
    reported_at: float | None = None
    reported_what: str | None = None


class ProgressBoard:
    """The verifications under way; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}
        self._next = 0

    @contextmanager
    def track(self, data_source_id: str, description: str) -> Iterator[Callable[[str], None]]:
        """Register a verification for the block; yields the function that sets what it waits
        for now."""
        with self._lock:
            key = self._next
            self._next += 1
            now = self._clock()
            self._entries[key] = _Entry(data_source_id, description, now, "its start", now)

        def waiting_for(what: str) -> None:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry.waiting_for != what:
                    entry.waiting_for, entry.since = what, self._clock()

        try:
            yield waiting_for
        finally:
            with self._lock:
                del self._entries[key]

    def due(self, after: float = SLOW_AFTER, repeat: float = REPEAT_AFTER) -> list[Waiting]:
        """The verifications running longer than ``after`` seconds that have not said what
        they wait for yet, have waited a while for something new, or said it ``repeat``
        seconds ago; each is then counted as reported."""
        now = self._clock()
        found = []
        with self._lock:
            for entry in self._entries.values():
                if now - entry.started < after:
                    continue
                if entry.reported_at is None:
                    pass
                elif entry.reported_what != entry.waiting_for:
                    if now - entry.since < SETTLED_AFTER:
                        continue
                elif now - entry.reported_at < repeat:
                    continue
                entry.reported_at, entry.reported_what = now, entry.waiting_for
                found.append(
                    Waiting(
                        entry.data_source_id,
                        entry.description,
                        now - entry.started,
                        entry.waiting_for,
                    )
                )
        return found
