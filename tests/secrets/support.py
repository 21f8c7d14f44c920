"""Search exceptions, log records and text for secret values: the tests expect zero hits.

:class:`LeakGuard` knows every sensitive string of a test: the values, tokens, secret ids and
JWTs that the OpenBao helpers created (``OpenBaoServer.sensitive``) plus the ones a test adds.
An exception is searched in ``str``, ``repr``, its args, its formatted traceback and every
chained ``__cause__`` / ``__context__`` (and their ``str``/``repr``), and must not chain an
``hvac`` / ``requests`` / ``urllib3`` exception at all; a log record is searched in its message,
arguments and formatted exception.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

_TRANSPORT_MODULES = {"hvac", "requests", "urllib3"}
_MIN_LENGTH = 6
"""Shorter strings would match by accident (and test values are long random strings)."""


class LeakGuard:
    """Collects sensitive strings and asserts that they appear nowhere they must not."""

    def __init__(self, sources: Callable[[], Iterable[str]]) -> None:
        self._sources = sources
        self._extra: set[str] = set()
        self.vault_token_file: str | None = None
        """What the test itself wrote to ``~/.vault-token`` (else the file must not exist)."""
        self.exceptions_checked = 0
        self.records_checked = 0

    def add(self, *values: str) -> None:
        """Treat ``values`` as secret too."""
        self._extra.update(values)

    def fresh(self, prefix: str = "s3cret") -> str:
        """A new random secret value, registered."""
        value = f"{prefix}-{secrets.token_hex(10)}"
        self._extra.add(value)
        return value

    @property
    def secrets(self) -> set[str]:
        values = set(self._extra) | set(self._sources())
        return {v for v in values if len(v) >= _MIN_LENGTH}

    def check_text(self, text: str, where: str) -> None:
        hits = sorted(s for s in self.secrets if s in text)
        assert not hits, f"secret leaked into {where}: {len(hits)} value(s) found"

    def check_exception(self, exc: BaseException) -> BaseException:
        """Search ``exc`` and its whole chain; returns ``exc``."""
        self.exceptions_checked += 1
        formatted = "".join(traceback.format_exception(exc))
        self.check_text(formatted, f"the formatted traceback of {type(exc).__name__}")
        seen: set[int] = set()
        todo: list[BaseException] = [exc]
        while todo:
            current = todo.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            name = type(current).__name__
            self.check_text(str(current), f"str({name})")
            self.check_text(repr(current), f"repr({name})")
            for arg in current.args:
                self.check_text(repr(arg), f"{name}.args")
            for note in getattr(current, "__notes__", []):
                self.check_text(str(note), f"{name}.__notes__")
            for attr in vars(current).values() if hasattr(current, "__dict__") else ():
                if isinstance(attr, str):
                    self.check_text(attr, f"an attribute of {name}")
            for linked in (current.__cause__, current.__context__):
                if linked is not None:
                    origin = type(linked).__module__.split(".")[0]
                    assert origin not in _TRANSPORT_MODULES, (
                        f"{name} chains a {origin} exception ({type(linked).__name__}), which "
                        "can carry response bodies or request headers"
                    )
                    todo.append(linked)
        return exc

    def check_records(self, records: Iterable[logging.LogRecord]) -> None:
        formatter = logging.Formatter()
        for record in records:
            self.records_checked += 1
            where = f"a log record of {record.name}"
            self.check_text(record.getMessage(), where)
            self.check_text(repr(record.args), where)
            if record.exc_info:
                self.check_text(formatter.formatException(record.exc_info), where)
            if record.exc_text:
                self.check_text(record.exc_text, where)

    def check_warnings(self, caught: Iterable[warnings.WarningMessage]) -> None:
        for item in caught:
            self.check_text(str(item.message), "a warning")

    @contextlib.contextmanager
    def raises(
        self, expected: type[BaseException], match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[Any]]:
        """``pytest.raises`` that also searches the exception for leaks."""
        with pytest.raises(expected, match=match) as info:
            yield info
        self.check_exception(info.value)
