"""A thread-safe memo where concurrent callers of one key share a single computation."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Compute each key once; callers arriving meanwhile wait for that computation.

    A failure is handed to the callers that waited for it but not remembered: the next caller
    tries again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[K, V] = {}
        self._pending: dict[K, Future[V]] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value of ``key``, computing it (once, in this thread) when needed."""
        with self._lock:
            if key in self._done:
                return self._done[key]
            future = self._pending.get(key)
            owner = future is None
            if future is None:
                future = Future()
                self._pending[key] = future
        if not owner:
            return future.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            future.set_exception(exc)
            raise
        with self._lock:
            self._done[key] = value
            del self._pending[key]
        future.set_result(value)
        return value

    def peek(self, key: K) -> V | None:
        """The remembered value of ``key``, if any, without computing it."""
        with self._lock:
            return self._done.get(key)

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for ``key``."""
        with self._lock:
            self._done[key] = value

    def forget(self, predicate: Callable[[K], bool]) -> None:
        """Drop the remembered values whose key matches ``predicate``."""
        with self._lock:
            for key in [k for k in self._done if predicate(k)]:
                del self._done[key]

    def clear(self) -> None:
        """Drop every remembered value."""
        with self._lock:
            self._done.clear()
