"""Resolved secrets: a redacting value wrapper and the non-secret metadata beside it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

REDACTED = "<secret>"


class SecretValue:
    """A secret string that does not show itself.

    ``str()``, ``repr()`` and formatting print ``<secret>``; :meth:`reveal` returns the value.
    Pickling (and so dill, and Pulumi's pickled provider state) is refused.
    """

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("SecretValue wraps a str")
        self.__value = value

    def reveal(self) -> str:
        """The secret itself; use it at the last moment, never log or store it."""
        return self.__value

    def __repr__(self) -> str:
        return f"SecretValue({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, format_spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretValue):
            return NotImplemented
        return hmac.compare_digest(self.__value.encode(), other.__value.encode())

    def __hash__(self) -> int:
        return hash((SecretValue, self.__value))

    def __len__(self) -> int:
        return len(self.__value)

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __copy__(self) -> SecretValue:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SecretValue:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SecretValue cannot be pickled: secrets must never be stored")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a SecretValue cannot be pickled: secrets must never be stored")


@dataclass(frozen=True)
class SecretMetadata:
    """What is known about a secret besides its value; safe to log, store and diff."""

    kind: Literal["vault", "env", "inline"]
    """``inline``: a value given directly (a Pulumi secret in a program)."""
    reference: str
    """The reference's ``describe()`` string, e.g. ``vault:secret/acumatica/dev#password``."""
    mount: str | None = None
    path: str | None = None
    key: str | None = None
    engine: Literal["kv1", "kv2"] | None = None
    version: int | None = None
    """The KV v2 version read (or written); ``None`` for KV v1 and environment variables."""
    created_time: str | None = None
    """When that KV v2 version was created (ISO 8601, as Vault reports it)."""
    namespace: str | None = None
    variable: str | None = None
    """The environment variable of an ``{env: NAME}`` reference."""


@dataclass(frozen=True)
class ResolvedSecret:
    """A secret value with its metadata."""

    value: SecretValue
    metadata: SecretMetadata
