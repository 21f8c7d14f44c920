"""Records as the contract-based API writes them in JSON.

``{"id", "rowNumber", "note": {"value"}, "<Field>": {"value"}, ..., "custom": {...},
"_links": {"self", "files:put"}}``: fields in alphabetical order, a null value as ``{}``,
expanded linked entities as objects and detail collections as arrays of such objects (with
their own ``id`` and ``rowNumber``), custom fields as ``{"<View>": {"<Field>": {"type":
"CustomStringField", "value"}}}``. A list of the hand-tuned entities with no writes, no
``$expand`` and no ``$custom`` is served from a cache of pre-rendered records.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

from acumatica_datasource.sandbox.builtin import records
from acumatica_datasource.sandbox.model import EntityType, ScalarType, custom_type
from acumatica_datasource.sandbox.query import Expand, Shape
from acumatica_datasource.sandbox.records import Row, Table, Values


def wrapped(value: object) -> dict[str, object]:
    """A field value as the API wraps it."""
    return {} if value is None else {"value": value}


def links(prefix: str, entity: str, graph: str, record_id: object) -> dict[str, str]:
    """The ``_links`` of a top-level record."""
    return {
        "self": f"{prefix}/{entity}/{record_id}",
        "files:put": f"{prefix}/files/{graph}/{record_id}/{{filename}}",
    }


def record(
    table: Table,
    index: int,
    row: Row,
    *,
    shape: Shape,
    row_number: int,
    prefix: str,
    custom_fields: Mapping[str, ScalarType],
) -> dict[str, object]:
    """One top-level record (``row`` is record ``index`` of ``table``)."""
    entity = table.entity
    result: dict[str, object] = {
        "id": row["id"],
        "rowNumber": row_number,
        "note": wrapped(row.get("note")),
    }
    members = sorted([*shape.fields, *shape.expand], key=str.casefold)
    for name in members:
        if name in shape.expand:
            tree, chosen = shape.expand[name], shape.select.get(name)
            result[name] = _expanded(
                table,
                index,
                row,
                parent=entity.type,
                member=name,
                path=name,
                tree=tree,
                chosen=chosen,
            )
        else:
            result[name] = wrapped(row.get(name))
    custom: dict[str, dict[str, object]] = {}
    for name in shape.custom:
        view, _, field = name.partition(".")
        kind = custom_fields[name]
        value = table.custom_value(index, name, kind)
        custom.setdefault(view, {})[field] = {"type": custom_type(kind), **wrapped(value)}
    result["custom"] = custom
    if shape.files:
        result["files"] = []
    result["_links"] = links(prefix, entity.name, entity.graph, row["id"])
    return result


def _expanded(
    table: Table,
    index: int,
    row: Row,
    *,
    parent: EntityType,
    member: str,
    path: str,
    tree: Expand,
    chosen: tuple[str, ...] | None,
) -> object:
    types = table.contract.types
    if member in parent.links:
        target = types[parent.links[member]]
        values = table.linked(index, row, path, target)
        return _sub_record(
            table,
            index,
            row,
            target=target,
            values=values,
            row_number=1,
            path=path,
            tree=tree,
            chosen=chosen,
        )
    target = types[parent.details[member]]
    return [
        _sub_record(
            table,
            index,
            row,
            target=target,
            values=values,
            row_number=number,
            path=f"{path}[{number}]",
            tree=tree,
            chosen=chosen,
        )
        for number, values in enumerate(table.detail_rows(index, path, target), start=1)
    ]


def _sub_record(
    table: Table,
    index: int,
    row: Row,
    *,
    target: EntityType,
    values: Values,
    row_number: int,
    path: str,
    tree: Expand,
    chosen: tuple[str, ...] | None,
) -> dict[str, object]:
    result: dict[str, object] = {
        "id": values.get("id"),
        "rowNumber": row_number,
        "note": wrapped(values.get("note") or None),
    }
    fields = chosen or tuple(target.fields)
    for name in sorted([*fields, *tree], key=str.casefold):
        if name in tree:
            result[name] = _expanded(
                table,
                index,
                row,
                parent=target,
                member=name,
                path=f"{path}/{name}",
                tree=tree[name],
                chosen=None,
            )
        elif name in target.fields:
            result[name] = wrapped(values.get(name))
    result["custom"] = {}
    return result


@functools.lru_cache(maxsize=16)
def cached_list(
    tenant: str,
    entity: str,
    graph: str,
    shape: str,
    count: int,
    *,
    fields: tuple[str, ...],
    prefix: str,
) -> tuple[str, ...]:
    """Each record of a hand-tuned entity serialised after ``rowNumber``, cached."""
    result = []
    for row in records(tenant, entity, shape, count):
        rest: dict[str, object] = {"note": {"value": row["note"]}}
        for field in fields:
            rest[field] = {"value": row[field]}
        rest["custom"] = {}
        rest["_links"] = links(prefix, entity, graph, row["id"])
        result.append(json.dumps(rest)[1:-1])
    return tuple(result)
