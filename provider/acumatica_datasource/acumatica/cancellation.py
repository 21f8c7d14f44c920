"""A run's cancellation, shared by the work of one command (or one provider process).

Set once, by a signal or when the engine goes away. Work checks it between steps and while
it waits for a session slot; a request already on the wire runs to its answer or its
timeout, and a session already open is still logged out.
"""

from __future__ import annotations

import threading

from acumatica_datasource.errors import Interrupted


class Cancellation:
    """Whether the run was cancelled, and why; safe to share between threads."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason = ""

    def cancel(self, reason: str) -> None:
        """Cancel the run (the first reason is kept)."""
        if not self._event.is_set():
            self._reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    @property
    def reason(self) -> str:
        """Why the run was cancelled ("" while it is not)."""
        return self._reason

    def check(self) -> None:
        """Raise :class:`~acumatica_datasource.errors.Interrupted` once cancelled."""
        if self._event.is_set():
            raise Interrupted(self._reason)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a cancellation; whether there was one."""
        return self._event.wait(timeout)
