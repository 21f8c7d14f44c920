"""One thread for the whole process that acts when a deadline passes.

A request arms the watchdog with its deadline and what to do then (shut its connection's
sockets down) and disarms it when it finishes: arming is a heap push under a lock, so a
request costs no thread of its own.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Watchdog:
    """Calls each armed action once its deadline (``time.monotonic()``) passes, unless it was
    disarmed first. The thread starts on first use and is a daemon."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._armed: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, action: Callable[[], None]) -> int:
        """Run ``action`` at ``deadline``; returns the token that disarms it."""
        with self._condition:
            token = next(self._tokens)
            heapq.heappush(self._heap, (deadline, token, action))
            self._armed.add(token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][1] == token:  # the earliest deadline now: wake up sooner
                self._condition.notify()
            return token

    def disarm(self, token: int) -> None:
        """Forget an action that has not run (its heap entry is dropped when it comes up)."""
        with self._condition:
            self._armed.discard(token)

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                deadline, token, action = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._condition.wait(left)
                    continue
                heapq.heappop(self._heap)
                self._armed.discard(token)
                self._condition.release()
                try:
                    with contextlib.suppress(Exception):  # an action must not stop the thread
                        action()
                finally:
                    self._condition.acquire()


WATCHDOG = Watchdog()
"""The process's watchdog."""
