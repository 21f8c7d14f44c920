"""The records of any served entity: generated on demand, with this run's writes on top.

A record is a pure function of (tenant, entity, index, field): the hand-tuned entities take
their values from :mod:`.builtin`; every other entity's fields are generated from their
names and types (key fields ``SO000001``-style, ``Email`` fields e-mail addresses, dates
in 2022-2024, ...). Linked entities and detail collections (one to three rows) are generated
only when a request expands or filters on them, so memory stays bounded: generated records
live in a bounded cache, not in the site's state. ``PUT`` and ``DELETE`` are kept per tenant
and entity in :class:`Changes`, in memory, until ``POST /_sandbox/reset``.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from acumatica_datasource.sandbox.builtin import (
    EPOCH,
    NAMESPACE,
    record_id,
    records,
    stamp,
)
from acumatica_datasource.sandbox.model import Contract, Entity, EntityType, ScalarType
from acumatica_datasource.sandbox.query import custom_path

Values = dict[str, object]
#: A record as read (shared, cached: never modified in place).
Row = Mapping[str, object]
_WORDS: Final = (
    "Oak", "Steel", "Blue", "Classic", "Rapid", "Prime", "Nordic", "Solar", "Urban", "Delta",
)  # fmt: skip
_NOUNS: Final = (
    "Widget", "Bracket", "Valve", "Panel", "Cable", "Fitting", "Sensor", "Bearing", "Filter",
)  # fmt: skip
_STATUSES: Final = ("Active", "Active", "Active", "Open", "On Hold", "Inactive")
_KIND_VALUES: Final[Mapping[str, str]] = {"OrderType": "SO", "Module": "GL"}
_CACHE_SIZE: Final = 4096


class _LRU:
    """A small least-recently-used cache (the generated records)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[object, object] = OrderedDict()

    def get(self, key: object, build: Callable[[], object]) -> object:
        try:
            self._items.move_to_end(key)
            return self._items[key]
        except KeyError:
            value = build()
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)
            return value


_GENERATED = _LRU(_CACHE_SIZE)


_MASK: Final = (1 << 64) - 1
Maker = Callable[[int, int], object]


def _hash(text: str) -> int:
    """A stable 64-bit number for ``text`` (unlike ``hash``, the same in every process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _mix(seed: int, salt: int) -> int:
    """A well-spread number from ``seed`` and ``salt`` (splitmix64's finaliser)."""
    value = (seed ^ salt) + 0x9E3779B97F4A7C15 & _MASK
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & _MASK
    return value ^ (value >> 31)


def _initials(name: str) -> str:
    letters = "".join(char for char in name if char.isupper())
    return letters or name[:2].upper()


def _text_maker(name: str) -> Maker:
    folded = name.casefold()
    if "email" in folded:
        return lambda seed, index: f"{_WORDS[seed % len(_WORDS)].lower()}{index + 1}@example.com"
    if "phone" in folded or folded.startswith("fax"):
        return lambda seed, _index: f"+1 555-{seed % 900 + 100:03d}-{seed % 10_000:04d}"
    if folded.endswith("status"):
        return lambda seed, _index: _STATUSES[seed % len(_STATUSES)]
    if folded.endswith("currencyid"):
        return lambda seed, _index: ("USD", "USD", "EUR", "CAD")[seed % 4]
    if folded.endswith(("id", "cd")):
        prefix = _initials(name[:-2])
        return lambda seed, _index: f"{prefix}{seed % 1000:03d}"
    if "description" in folded or folded.endswith("name"):
        return lambda seed, index: (
            f"{_WORDS[seed % len(_WORDS)]} {_NOUNS[seed % len(_NOUNS)]} {index + 1}"
        )
    return lambda _seed, index: f"{name} {index + 1}"


@functools.lru_cache(maxsize=8192)
def _maker(name: str, kind: ScalarType) -> tuple[int, Maker]:
    """Field ``name``'s salt and how to make its value from a seed and the record index."""
    salt = _hash(name)
    if kind == "string":
        return salt, _text_maker(name)
    if kind in ("decimal", "double"):
        return salt, lambda seed, _index: round((seed % 10_000_000) / 100.0, 2)
    if kind in ("int", "long"):
        return salt, lambda seed, _index: seed % 100_000
    if kind in ("short", "byte"):
        return salt, lambda seed, _index: seed % 100
    if kind == "bool":
        return salt, lambda seed, _index: seed % 2 == 0
    if kind == "datetime":
        return salt, lambda seed, _index: stamp(
            EPOCH + timedelta(days=seed % 1000, seconds=seed % 86_400)
        )
    return salt, lambda seed, _index: str(uuid.UUID(int=seed << 64 | _mix(seed, 1), version=4))


def generated_value(name: str, kind: ScalarType, seed_text: str, index: int) -> object:
    """A plausible value of field ``name`` for record ``index`` (``seed_text`` varies it)."""
    salt, make = _maker(name, kind)
    return make(_mix(_hash(seed_text), salt), index)


def key_value(entity: Entity, name: str, index: int) -> object:
    """Key field ``name`` of record ``index``: unique per record, autonumbered for new ones."""
    kind = entity.type.fields.get(name, "string")
    if kind in ("int", "long", "short"):
        return 100_000 + index
    if name in _KIND_VALUES or name.endswith("Type"):
        return _KIND_VALUES.get(name, entity.name)
    prefix = _initials(entity.name) if name == entity.keys[-1] else _initials(name[:-2])
    return f"{prefix}{index + 1:06d}"


def _generated_record(tenant: str, entity: Entity, index: int) -> Values:
    seed = _hash(f"{tenant.casefold()}/{entity.name}/{index}")
    values: Values = {
        "id": record_id(tenant, entity.name, index),
        "note": f"Generated record {index + 1}" if index % 7 == 0 else "",
    }
    keys = entity.keys
    for name, kind in entity.type.fields.items():
        if name in keys:
            values[name] = key_value(entity, name, index)
        else:
            salt, make = _maker(name, kind)
            values[name] = make(_mix(seed, salt), index)
    return values


@functools.lru_cache(maxsize=8)
def _ids(tenant: str, entity: str, count: int) -> Mapping[str, int]:
    """Record id -> index of an entity's generated records."""
    return {record_id(tenant, entity, index): index for index in range(count)}


_KEY_INDEXES = _LRU(8)


def _keys(entity: Entity, count: int) -> Mapping[tuple[str, ...], int]:
    """Case-folded key values -> index of a generated entity's records."""

    def build() -> dict[tuple[str, ...], int]:
        return {
            tuple(str(key_value(entity, name, index)).casefold() for name in entity.keys): index
            for index in range(count)
        }

    kinds = tuple(entity.type.fields.get(name) for name in entity.keys)
    found = _KEY_INDEXES.get((entity.name, entity.keys, kinds, count), build)
    assert isinstance(found, dict)
    return found


@dataclass
class Changes:
    """The writes of this run to one entity of one tenant."""

    updates: dict[int, Values] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    created: list[int] = field(default_factory=list)


class Table:
    """The records of one top-level entity of one tenant, as one contract shows them.

    ``shape`` names the hand-tuned reference shape for the built-in entities (None for
    generated ones); ``count`` is the configured number of records.
    """

    def __init__(
        self,
        tenant: str,
        entity: Entity,
        *,
        contract: Contract,
        count: int,
        shape: str | None,
        changes: Changes | None,
        custom_fields: Mapping[str, ScalarType],
    ) -> None:
        self.tenant = tenant
        self.custom_fields = custom_fields
        self.entity = entity
        self.contract = contract
        self.count = count
        self.shape = shape
        self.changes = changes

    @property
    def pristine(self) -> bool:
        """True when nothing was written to this entity in this run."""
        return self.changes is None or not (
            self.changes.updates or self.changes.deleted or self.changes.created
        )

    def base(self, index: int) -> Row:
        """Record ``index`` as generated (without this run's writes)."""
        if self.shape is not None and index < self.count:
            return records(self.tenant, self.entity.name, self.shape, self.count)[index]
        if index >= self.count:
            new: Values = {"id": record_id(self.tenant, self.entity.name, index), "note": ""}
            new.update(dict.fromkeys(self.entity.type.fields))
            for name in self.entity.keys:
                new[name] = key_value(self.entity, name, index)
            return new
        key = (self.tenant.casefold(), self.contract.key, self.entity.name, index)
        built = _GENERATED.get(key, lambda: _generated_record(self.tenant, self.entity, index))
        assert isinstance(built, dict)
        return built

    def indices(self) -> Sequence[int]:
        """The live records' indices, in the server's order."""
        if self.changes is None:
            return range(self.count)
        deleted = self.changes.deleted
        alive = [index for index in range(self.count) if index not in deleted]
        return alive + [index for index in self.changes.created if index not in deleted]

    def row(self, index: int) -> Row:
        """Record ``index``: its fields, ``id`` and ``note``, with this run's writes."""
        values = self.base(index)
        if self.changes is not None and index in self.changes.updates:
            return {**values, **self.changes.updates[index]}
        return values

    def rows_at(self, indices: Sequence[int]) -> list[tuple[int, Row]]:
        """Records ``indices`` (a page) with their indices."""
        if self.shape is not None and self.pristine:
            cached = records(self.tenant, self.entity.name, self.shape, self.count)
            return [(index, cached[index]) for index in indices]
        return [(index, self.row(index)) for index in indices]

    def rows(self) -> Iterator[tuple[int, Row]]:
        """Every live record with its index."""
        if self.shape is not None and self.pristine:
            yield from enumerate(records(self.tenant, self.entity.name, self.shape, self.count))
            return
        for index in self.indices():
            yield index, self.row(index)

    def view(self, index: int, row: Row) -> RecordView:
        """``row`` readable by linked paths and custom fields too (for ``$filter``)."""
        return RecordView(self, index, row)

    # ------------------------------------------------------------------ lookups
    def _alive(self, index: int | None) -> int | None:
        if index is None or (self.changes is not None and index in self.changes.deleted):
            return None
        return index

    def find_id(self, value: str) -> int | None:
        """The live record whose id is ``value``."""
        try:
            wanted = str(uuid.UUID(value))
        except ValueError:
            return None
        found = _ids(self.tenant, self.entity.name, self.count).get(wanted)
        if found is None and self.changes is not None:
            created = self.changes.created
            found = next(
                (i for i in created if record_id(self.tenant, self.entity.name, i) == wanted),
                None,
            )
        return self._alive(found)

    def find_keys(self, values: Sequence[str]) -> int | None:
        """The live record whose key fields equal ``values`` (ignoring case)."""
        keys = self.entity.keys
        if len(values) != len(keys):
            return None
        wanted = tuple(str(value).casefold() for value in values)
        if self.shape is not None:  # hand-tuned: their cached records hold the keys
            found = next(
                (
                    index
                    for index, row in enumerate(
                        records(self.tenant, self.entity.name, self.shape, self.count)
                    )
                    if tuple(str(row[name]).casefold() for name in keys) == wanted
                ),
                None,
            )
        else:  # generated: key values are a function of the index alone
            found = _keys(self.entity, self.count).get(wanted)
        if self.changes is not None:
            for index in self.changes.created:
                written = self.changes.updates.get(index, {})
                row_keys = (written.get(name, key_value(self.entity, name, index)) for name in keys)
                if tuple(str(value).casefold() for value in row_keys) == wanted:
                    found = index
        return self._alive(found)

    # ------------------------------------------------------- linked and details
    def _seed_text(self, index: int, path: str) -> str:
        return f"{self.tenant.casefold()}/{self.entity.name}/{index}/{path}"

    def linked(self, index: int, row: Row, path: str, target: EntityType) -> Values:
        """The linked entity at ``path`` (``MainContact``) of record ``index``."""
        written = self.changes.updates.get(index, {}) if self.changes else {}
        values: Values = {
            "id": str(uuid.uuid5(NAMESPACE, self._seed_text(index, path))),
            "note": "",
        }
        seed_text = self._seed_text(index, path)
        for name, kind in target.fields.items():
            if name in row and "/" not in path:
                values[name] = row[name]  # the same fact as the parent's field
            else:
                values[name] = generated_value(name, kind, seed_text, index)
        override = written.get(path)
        if isinstance(override, Mapping):
            values.update(override)
        return values

    def detail_rows(self, index: int, path: str, target: EntityType) -> list[Values]:
        """The detail collection at ``path`` (``Details``) of record ``index``."""
        written = self.changes.updates.get(index, {}) if self.changes else {}
        override = written.get(path)
        if isinstance(override, list):
            return [dict(item) for item in override if isinstance(item, Mapping)]
        rows: list[Values] = []
        for number in range(1 + index % 3):
            seed_text = self._seed_text(index, f"{path}/{number}")
            values: Values = {"id": str(uuid.uuid5(NAMESPACE, seed_text)), "note": ""}
            for name, kind in target.fields.items():
                values[name] = generated_value(name, kind, seed_text, number)
            rows.append(values)
        return rows

    def custom_value(self, index: int, name: str, kind: ScalarType) -> object:
        """Custom field ``View.Field`` of record ``index``."""
        written = self.changes.updates.get(index, {}) if self.changes else {}
        path = custom_path(name)
        if path in written:
            return written[path]
        return generated_value(name, kind, self._seed_text(index, "custom"), index)


class RecordView(Mapping[str, object]):
    """A record readable by field, linked path (``MainContact/Email``) and custom field."""

    def __init__(self, table: Table, index: int, row: Row) -> None:
        self.table = table
        self.index = index
        self.row = row

    def __getitem__(self, key: str) -> object:
        if key in self.row:
            return self.row[key]
        if key.startswith("cf:"):
            name = key[3:]
            return self.table.custom_value(self.index, name, self.table.custom_fields[name])
        *links, last = key.split("/")
        current = self.table.entity.type
        values: Mapping[str, object] = self.row
        walked: list[str] = []
        for link in links:
            target = self.table.contract.types.get(current.links.get(link, ""))
            if target is None:
                raise KeyError(key)
            walked.append(link)
            values = self.table.linked(self.index, self.row, "/".join(walked), target)
            current = target
        if last not in values:
            raise KeyError(key)
        return values[last]

    def __iter__(self) -> Iterator[str]:
        return iter(self.row)

    def __len__(self) -> int:
        return len(self.row)
