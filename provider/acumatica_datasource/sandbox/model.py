"""The entity model the sandbox serves: one :class:`Contract` per endpoint version.

A contract holds top-level entities (:class:`Entity`: a schema, its key fields, screen and
actions) and every schema they reach (:class:`EntityType`: scalar fields typed like the
endpoint definitions' value wrappers, linked entities and detail collections). Records,
``swagger.json`` and query validation are all derived from it, so they agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

ScalarType = Literal[
    "string", "decimal", "double", "int", "short", "long", "byte", "bool", "datetime", "guid"
]

#: The value wrapper of each scalar type, as the endpoint definitions name them.
WRAPPERS: Final[Mapping[ScalarType, str]] = {
    "string": "StringValue",
    "decimal": "DecimalValue",
    "double": "DoubleValue",
    "int": "IntValue",
    "short": "ShortValue",
    "long": "LongValue",
    "byte": "ByteValue",
    "bool": "BooleanValue",
    "datetime": "DateTimeValue",
    "guid": "GuidValue",
}
SCALAR_TYPES: Final[Mapping[str, ScalarType]] = {name: kind for kind, name in WRAPPERS.items()}
NUMERIC_TYPES: Final = frozenset({"decimal", "double", "int", "short", "long", "byte"})
#: Properties every record has besides its fields (``files`` only when expanded).
SYSTEM_FIELDS: Final = ("id", "rowNumber", "note", "custom", "_links", "files")


def custom_type(kind: ScalarType) -> str:
    """The type name of a custom field: ``CustomStringField``, ``CustomDecimalField``, ..."""
    return f"Custom{WRAPPERS[kind].removesuffix('Value')}Field"


def value_problem(kind: ScalarType, value: object) -> str | None:
    """Why ``value`` (from JSON) cannot be a value of a ``kind`` field; None if it can."""
    if value is None:
        return None
    if kind == "bool":
        good = isinstance(value, bool)
    elif kind in ("decimal", "double"):
        good = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind in ("int", "short", "long", "byte"):
        good = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "datetime":
        good = isinstance(value, str) and _parses(datetime.fromisoformat, value)
    elif kind == "guid":
        good = isinstance(value, str) and _parses(uuid.UUID, value)
    else:
        good = isinstance(value, str)
    if good:
        return None
    shown = "text" if isinstance(value, str) else type(value).__name__
    return f"must be a {kind} value (or null), not {shown}"


def _parses(parse: object, text: str) -> bool:
    try:
        parse(text)  # type: ignore[operator]
    except ValueError:
        return False
    return True


def _folded(names: Mapping[str, object]) -> dict[str, str]:
    return {name.casefold(): name for name in names}


@dataclass(frozen=True)
class EntityType:
    """A schema: scalar fields in order, linked entities and detail collections by type name."""

    name: str
    fields: Mapping[str, ScalarType]
    links: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)
    _index: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index = {**_folded(self.details), **_folded(self.links), **_folded(self.fields)}
        object.__setattr__(self, "_index", index)

    def member(self, name: str) -> str | None:
        """The property named ``name`` (case-insensitively): a field, link or detail."""
        return self._index.get(name.casefold())


@dataclass(frozen=True)
class Action:
    """An action of a top-level entity and the scalar parameters it takes."""

    name: str
    parameters: Mapping[str, ScalarType] = field(default_factory=dict)


@dataclass(frozen=True)
class Entity:
    """A top-level entity: its schema, key fields (URL order), screen and actions."""

    type: EntityType
    keys: tuple[str, ...]
    screen: str
    graph: str
    actions: tuple[Action, ...] = ()

    @property
    def name(self) -> str:
        """The entity's name, e.g. ``StockItem``."""
        return self.type.name


@dataclass(frozen=True, eq=False)
class Contract:
    """The entities one endpoint version serves, and every schema they use.

    Compared (and hashed) by identity: each site builds one per endpoint version.
    """

    key: str
    entities: Mapping[str, Entity]
    types: Mapping[str, EntityType]
    _index: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _folded(self.entities))

    def entity(self, name: str) -> Entity | None:
        """The top-level entity named ``name`` (case-insensitively)."""
        canonical = self._index.get(name.casefold())
        return self.entities[canonical] if canonical is not None else None


def merged(key: str, base: Contract | None, override: Contract) -> Contract:
    """``override``'s entities and types over ``base``'s."""
    if base is None:
        return Contract(key, override.entities, override.types)
    return Contract(
        key,
        {**base.entities, **override.entities},
        {**base.types, **override.types},
    )


def version_number(version: str) -> float:
    """A version as a number for nearness: ``24.200.001`` -> 24200.001."""
    parts = (*(int(part) for part in version.split(".")), 0, 0)
    return parts[0] * 1000.0 + parts[1] + parts[2] / 1000.0


def nearest(versions: Mapping[str, object] | tuple[str, ...], version: str) -> str:
    """The version in ``versions`` numerically closest to ``version`` (ties: the lower)."""
    target = version_number(version)
    return min(versions, key=lambda known: (abs(version_number(known) - target), known))
