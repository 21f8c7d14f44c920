"""Per-site and per-tenant limits on concurrent sessions inside one process.

An Acumatica license allows a fixed number of concurrent API sessions per site (a trial
allows 2). Verifications running in parallel queue here instead of failing at the site
with "API Login Limit".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from acumatica_datasource.acumatica.cancellation import Cancellation

DEFAULT_SESSIONS_PER_SITE = 1
POLL_SECONDS = 0.1
"""How often a queued session looks at its run's cancellation."""


@dataclass(frozen=True)
class SessionLimits:
    """How many sessions may be open at once, per site and per (site, tenant)."""

    per_site: int = DEFAULT_SESSIONS_PER_SITE
    per_tenant: int | None = None
    """At most ``per_site`` when absent."""

    def __post_init__(self) -> None:
        if self.per_site < 1 or (self.per_tenant is not None and self.per_tenant < 1):
            raise ValueError("session limits must be at least 1")


class SessionGate:
    """Semaphores keyed by site and by (site, tenant); one shared gate per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._semaphores: dict[tuple[str, ...], tuple[int, threading.BoundedSemaphore]] = {}

    def _semaphore(self, key: tuple[str, ...], size: int) -> threading.BoundedSemaphore:
        with self._lock:
            known = self._semaphores.get(key)
            if known is None or known[0] != size:
                # a changed limit applies to sessions opened from now on
                known = (size, threading.BoundedSemaphore(size))
                self._semaphores[key] = known
            return known[1]

    @contextmanager
    def hold(
        self,
        site: str,
        tenant: str,
        limits: SessionLimits,
        *,
        cancellation: Cancellation | None = None,
        on_queue: Callable[[], None] | None = None,
    ) -> Iterator[None]:
        """Wait for a free slot for ``site`` and ``tenant``; release it on exit.

        ``on_queue`` is called when no slot is free at once; while queued, a cancelled run
        raises :class:`~acumatica_datasource.errors.Interrupted` instead of waiting on."""
        site_key = site.lower()
        semaphores = [self._semaphore(("site", site_key), limits.per_site)]
        if limits.per_tenant is not None and limits.per_tenant < limits.per_site:
            semaphores.append(
                self._semaphore(("tenant", site_key, tenant.lower()), limits.per_tenant)
            )
        taken: list[threading.BoundedSemaphore] = []
        try:
            for semaphore in reversed(semaphores):  # tenant first: never hold a site slot idle
                _acquire(semaphore, cancellation, on_queue)
                taken.append(semaphore)
            yield
        finally:
            for semaphore in reversed(taken):
                semaphore.release()


def _acquire(
    semaphore: threading.BoundedSemaphore,
    cancellation: Cancellation | None,
    on_queue: Callable[[], None] | None,
) -> None:
    if semaphore.acquire(blocking=False):
        return
    if on_queue is not None:
        on_queue()
    if cancellation is None:
        semaphore.acquire()
        return
    while not semaphore.acquire(timeout=POLL_SECONDS):
        cancellation.check()
    if cancellation.cancelled:  # a slot came free as the run was cancelled: give it back
        semaphore.release()
        cancellation.check()


GATE = SessionGate()
"""The process-wide gate used by default."""
