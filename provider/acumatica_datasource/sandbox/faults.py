"""Injected faults: which answers to replace, delay or drop, and how many times.

A fault is posted to ``/_sandbox/faults`` as JSON::

    {"path": "/entity/auth/login", "method": "POST", "status": 503, "delay_ms": 0,
     "reset": false, "times": 1, "retry_after": null}

Extensions to that issue-3 form:

* ``path`` is an fnmatch glob (``/entity/Default/*``, ``*``) matched against the request path
  both with and without the site's ``instance_path``; ``method`` may be omitted (any method).
* ``status: null`` passes the request through to the real handler (``delay_ms`` alone then only
  adds latency); ``times: null`` applies the fault forever.
* ``probability`` (0..1, default 1) applies the fault to that share of matching requests,
  drawn from a random generator seeded with ``seed`` (default 0), so runs are repeatable;
  only applied answers use up ``times``.
* ``when``: ``before`` (default) answers instead of the real handler, which does not run;
  ``after`` runs the real handler first (a login does open its session) and then delays,
  replaces or drops its answer - "a login that timed out may still have opened a session".
* ``body``: the replacement body, a string (sent as text/plain) or any JSON value; by default
  the status's reason phrase as text/plain. ``retry_after`` adds a ``Retry-After`` header.
* ``reset: true`` aborts the TCP connection without an HTTP answer.

The first fault (in the order posted) that matches and fires is applied; at most one applies
to a request.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

When = Literal["before", "after"]

_KEYS: Final = (
    "path",
    "method",
    "status",
    "delay_ms",
    "reset",
    "times",
    "retry_after",
    "probability",
    "seed",
    "when",
    "body",
)


class FaultSpecError(ValueError):
    """A fault description that cannot be applied; the message names the bad keys."""


@dataclass
class Fault:
    """One injected fault and how many more answers it will replace."""

    path: str
    method: str | None = None
    status: int | None = 503
    delay_ms: float = 0.0
    reset: bool = False
    times: int | None = 1
    retry_after: str | None = None
    probability: float = 1.0
    seed: int = 0
    when: When = "before"
    body: object = None
    has_body: bool = False
    applied: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, paths: tuple[str, ...]) -> bool:
        """Whether a request with ``method`` on one of ``paths`` is covered by this fault."""
        if self.method is not None and self.method != method.upper():
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        return any(fnmatch.fnmatchcase(path, self.path) for path in paths)

    def describe(self) -> dict[str, object]:
        """The fault as JSON for ``GET /_sandbox/faults``."""
        remaining = None if self.times is None else max(0, self.times - self.applied)
        described: dict[str, object] = {
            "path": self.path,
            "method": self.method,
            "status": self.status,
            "delay_ms": self.delay_ms,
            "reset": self.reset,
            "times": self.times,
            "retry_after": self.retry_after,
            "probability": self.probability,
            "seed": self.seed,
            "when": self.when,
            "applied": self.applied,
            "remaining": remaining,
        }
        if self.has_body:
            described["body"] = self.body
        return described


def parse_fault(data: object) -> Fault:
    """Build a :class:`Fault` from posted JSON; raise :class:`FaultSpecError` listing problems."""
    if not isinstance(data, Mapping):
        raise FaultSpecError("the fault must be a JSON object")
    problems: list[str] = []
    for key in data:
        if key not in _KEYS:
            problems.append(f"{key}: unknown key (allowed: {', '.join(_KEYS)})")
    path = data.get("path")
    if not isinstance(path, str) or not path:
        problems.append('path: required, a path or glob such as "/entity/auth/login" or "*"')
        path = "*"
    method = data.get("method")
    if method is not None and (not isinstance(method, str) or not method.isalpha()):
        problems.append('method: must be an HTTP method such as "POST", or null for any')
        method = None
    status = data.get("status", 503)
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        problems.append("status: must be an HTTP status 100..599, or null to pass through")
        status = 503
    delay = data.get("delay_ms", 0)
    if delay is None:
        delay = 0
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 600_000:
        problems.append("delay_ms: must be a number of milliseconds between 0 and 600000")
        delay = 0
    reset = data.get("reset", False)
    if not isinstance(reset, bool):
        problems.append("reset: must be true or false")
        reset = False
    times = data.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        problems.append("times: must be a whole number >= 1, or null for unlimited")
        times = 1
    retry_after = data.get("retry_after")
    if retry_after is not None:
        if isinstance(retry_after, bool) or not isinstance(retry_after, int | float | str):
            problems.append("retry_after: must be a number of seconds, an HTTP date, or null")
            retry_after = None
        else:
            retry_after = str(retry_after)
    probability = data.get("probability", 1.0)
    if (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not 0 <= probability <= 1
    ):
        problems.append("probability: must be a number between 0 and 1")
        probability = 1.0
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append("seed: must be a whole number")
        seed = 0
    when = data.get("when", "before")
    if when not in ("before", "after"):
        problems.append('when: must be "before" or "after"')
        when = "before"
    if status is None and not reset and data.get("body") is not None:
        problems.append("body: needs a status (a pass-through fault keeps the real body)")
    if problems:
        raise FaultSpecError("; ".join(problems))
    return Fault(
        path=path,
        method=method.upper() if isinstance(method, str) else None,
        status=status,
        delay_ms=float(delay),
        reset=reset,
        times=times,
        retry_after=retry_after,
        probability=float(probability),
        seed=seed,
        when="after" if when == "after" else "before",
        body=data.get("body"),
        has_body="body" in data and data.get("body") is not None,
        rng=random.Random(seed),  # noqa: S311 - repeatable test faults, not security
    )


class FaultBook:
    """The faults in force, in the order they were posted."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Add a fault after those already in force."""
        self.faults.append(fault)

    def clear(self) -> None:
        """Remove every fault."""
        self.faults.clear()

    def take(self, method: str, paths: tuple[str, ...]) -> Fault | None:
        """The fault to apply to this request, if any, counting it as applied."""
        for fault in self.faults:
            if not fault.matches(method, paths):
                continue
            if fault.probability < 1.0 and fault.rng.random() >= fault.probability:
                continue
            fault.applied += 1
            return fault
        return None

    def describe(self) -> list[dict[str, object]]:
        """Every fault as JSON, with its remaining count."""
        return [fault.describe() for fault in self.faults]
