"""SIGINT and SIGTERM, handled the same way by every command that does work.

CI cancels a job, and ``timeout`` ends a command, with SIGTERM; people press Ctrl-C. Either
way the first signal cancels the run: no new verification starts, those under way stop at
their next step and close their sessions, the engine is told to cancel (it records what it
left pending), and the command still prints its summary, which says ``interrupted``, and
exits 130 (SIGINT) or 143 (SIGTERM). A second signal is passed on to the engine, which then
terminates at once; a third ends this process at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
HARD_EXIT_AFTER = 3
"""The signal that ends the process at once, without waiting for anything."""

Handler = Callable[[signal.Signals, int], None]
"""Called with the signal and how many were received so far (1 for the first)."""


class Interrupts:
    """The signals one command received, and what to do on each."""

    def __init__(self) -> None:
        self.received: list[signal.Signals] = []
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()

    @property
    def first(self) -> signal.Signals | None:
        """The first signal received, if any."""
        return self.received[0] if self.received else None

    @property
    def exit_code(self) -> int:
        """128 + the first signal's number (130 for SIGINT, 143 for SIGTERM)."""
        first = self.first
        return 128 + int(first) if first is not None else 0

    def describe(self) -> str:
        """``SIGTERM`` (or ``SIGINT``), for messages."""
        first = self.first
        return first.name if first is not None else "no signal"

    @contextlib.contextmanager
    def on_signal(self, handler: Handler) -> Iterator[None]:
        """Call ``handler`` on each signal received while the block runs."""
        with self._lock:
            self._handlers.append(handler)
        try:
            yield
        finally:
            with self._lock:
                self._handlers.remove(handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        received = signal.Signals(signum)
        self.received.append(received)
        count = len(self.received)
        if count >= HARD_EXIT_AFTER:
            print(
                f"acumatica-ds: {received.name} received again: stopping at once",
                file=sys.stderr,
                flush=True,
            )
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            handler(received, count)
        if count >= HARD_EXIT_AFTER:
            os._exit(self.exit_code)


_CURRENT: Interrupts | None = None


@contextlib.contextmanager
def handling() -> Iterator[Interrupts]:
    """Handle SIGINT and SIGTERM for the block (a command's whole run, from before its
    arguments are read); outside the main thread (a test calling a command), signals are left
    as they are."""
    global _CURRENT  # noqa: PLW0603 - signal dispositions are process-wide
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {signum: signal.signal(signum, interrupts._handle) for signum in SIGNALS}
    _CURRENT = interrupts
    try:
        yield interrupts
    finally:
        _CURRENT = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def current() -> Interrupts:
    """The signals of the command being run (see :func:`handling`); a fresh, empty record
    when none is handled."""
    return _CURRENT or Interrupts()
