"""Endpoint definition files read from a directory the user names (``definitions`` key).

A definition file is an endpoint's OpenAPI document as Acumatica publishes it: the files
of its public C# REST client repository (``EndpointDefinitions/Default_24.200.001.json``,
Swagger 2.0 or OpenAPI 3.0) or a site's own ``/entity/{Endpoint}/{Version}/swagger.json``.
The endpoint and version come from ``info.title`` (``Default/24.200.001``), else from the
file name (``{Endpoint}_{Version}.json``). The sandbox ships no such file; it reads them at
start-up and keeps only its compact :class:`~.model.Contract` of each.

Every top-level entity (an operation ``{Entity}_GetList``) is served, with its scalar
fields (the value wrappers), linked entities and detail collections, and its actions.
The files do not say which fields are an entity's keys, so :func:`guess_keys` picks them:
a few well-known documents by their forms' keys, else ``{Entity}ID``/``CD``/``Nbr``, a
``Type`` + ``ReferenceNbr``-style pair, or the first ID-like field; an entity without one
is reachable by record id only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from acumatica_datasource.sandbox.model import (
    SCALAR_TYPES,
    Action,
    Contract,
    Entity,
    EntityType,
    ScalarType,
)

_FILE_NAME_RE: Final = re.compile(
    r"^(?P<endpoint>[A-Za-z_][A-Za-z0-9_]*)_(?P<version>\d+(\.\d+)+)$"
)
_TITLE_RE: Final = re.compile(r"^(?P<endpoint>[A-Za-z_][A-Za-z0-9_]*)/(?P<version>\d+(\.\d+)+)$")
_SCREEN_RE: Final = re.compile(r"\((?P<screen>[A-Z]{2}\d{4}\d*)\)")
MAX_FILE_BYTES: Final = 64 * 1024 * 1024

#: Keys of well-known documents whose fields do not name them (the forms' key order).
_KNOWN_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "SalesOrder": ("OrderType", "OrderNbr"),
    "PurchaseOrder": ("Type", "OrderNbr"),
    "PurchaseReceipt": ("Type", "ReceiptNbr"),
    "Shipment": ("ShipmentNbr",),
    "JournalTransaction": ("Module", "BatchNbr"),
    "ServiceOrder": ("ServiceOrderType", "ServiceOrderNbr"),
    "Appointment": ("ServiceOrderType", "AppointmentNbr"),
    "NonStockItem": ("InventoryID",),
    "TemplateItems": ("InventoryID",),
    "ItemWarehouse": ("InventoryID", "WarehouseID"),
    "ProjectTask": ("ProjectID", "ProjectTaskID"),
    "ProjectTemplateTask": ("ProjectTemplateID", "ProjectTemplateTaskID"),
    "KitSpecification": ("KitInventoryID", "RevisionID"),
}
_DOCUMENT_TYPES: Final = ("Type", "OrderType", "DocType")
_DOCUMENT_NUMBERS: Final = ("ReferenceNbr", "RefNbr", "OrderNbr", "BatchNbr")
#: ID fields that usually point at another record rather than name this one.
_REFERENCES: Final = frozenset(
    {
        "BaseCurrencyID",
        "BranchID",
        "CreatedByID",
        "CurrencyID",
        "CurrencyRateTypeID",
        "CustomerID",
        "LocationID",
        "OwnerID",
        "ProjectID",
        "TaxZoneID",
        "VendorID",
        "WarehouseID",
        "WorkgroupID",
    }
)


class DefinitionsError(ValueError):
    """A definitions directory or file that cannot be used; the message names it."""


def guess_keys(entity: str, fields: Mapping[str, ScalarType]) -> tuple[str, ...]:
    """The key fields of top-level ``entity`` in URL order (empty: by record id only)."""
    known = _KNOWN_KEYS.get(entity)
    if known is not None and all(name in fields for name in known):
        return known
    for suffix in ("ID", "CD", "Nbr", "Code"):
        if fields.get(entity + suffix) in ("string", "int"):
            return (entity + suffix,)
    if entity.endswith("Class") and fields.get("ClassID") == "string":
        return ("ClassID",)
    for number in _DOCUMENT_NUMBERS:
        if fields.get(number) == "string":
            kinds = [name for name in _DOCUMENT_TYPES if fields.get(name) == "string"]
            return (*kinds[:1], number)
    for name, kind in fields.items():
        if kind == "string" and name.endswith(("ID", "CD")) and name not in _REFERENCES:
            return (name,)
    return ()


class _Document:
    """One parsed definition file: its schemas and the operations on its paths."""

    def __init__(self, path: Path, data: Mapping[str, Any]) -> None:
        self.path = path
        components = data.get("components")
        schemas = data.get("definitions")
        if schemas is None and isinstance(components, Mapping):
            schemas = components.get("schemas")
        if not isinstance(schemas, Mapping) or not isinstance(data.get("paths"), Mapping):
            raise DefinitionsError(
                f"{path}: not an endpoint definition (an OpenAPI or Swagger document with "
                "paths and schemas)"
            )
        self.schemas: Mapping[str, Any] = schemas
        self.paths: Mapping[str, Any] = data["paths"]
        raw_tags = data.get("tags")
        tags = raw_tags if isinstance(raw_tags, list) else []
        self.tags = {
            tag["name"]: str(tag.get("description") or "")
            for tag in tags
            if isinstance(tag, Mapping) and isinstance(tag.get("name"), str)
        }
        self.types: dict[str, EntityType] = {}

    @staticmethod
    def ref_name(ref: object) -> str | None:
        return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None

    def properties(self, name: str) -> dict[str, Any]:
        schema = self.schemas.get(name)
        if not isinstance(schema, Mapping):
            return {}
        properties: dict[str, Any] = dict(schema.get("properties") or {})
        for part in schema.get("allOf") or ():
            if isinstance(part, Mapping):
                properties.update(part.get("properties") or {})
        return properties

    def entity_type(self, name: str) -> EntityType:
        known = self.types.get(name)
        if known is not None:
            return known
        fields: dict[str, ScalarType] = {}
        links: dict[str, str] = {}
        details: dict[str, str] = {}
        placeholder = EntityType(name, fields, links, details)
        self.types[name] = placeholder  # cycles end here
        for prop, spec in self.properties(name).items():
            if not isinstance(spec, Mapping) or prop in ("custom", "files", "_links"):
                continue
            target = self.ref_name(spec.get("$ref"))
            scalar = SCALAR_TYPES.get(target or "")
            if scalar is not None:
                fields[prop] = scalar
            elif target is not None and target in self.schemas:
                links[prop] = target
                self.entity_type(target)
            elif spec.get("type") == "array":
                item = self.ref_name((spec.get("items") or {}).get("$ref"))
                if item is not None and item in self.schemas:
                    details[prop] = item
                    self.entity_type(item)
        built = EntityType(name, fields, links, details)
        self.types[name] = built
        return built

    def action_parameters(self, schema_name: str | None) -> dict[str, ScalarType]:
        if schema_name is None:
            return {}
        spec = self.properties(schema_name).get("parameters")
        result: dict[str, ScalarType] = {}
        if isinstance(spec, Mapping):
            for prop, value in (spec.get("properties") or {}).items():
                target = self.ref_name(value.get("$ref")) if isinstance(value, Mapping) else None
                scalar = SCALAR_TYPES.get(target or "")
                if scalar is not None:
                    result[prop] = scalar
        return result

    def body_schema(self, operation: Mapping[str, Any]) -> str | None:
        body = operation.get("requestBody")
        if isinstance(body, Mapping):
            for content in (body.get("content") or {}).values():
                if isinstance(content, Mapping):
                    return self.ref_name((content.get("schema") or {}).get("$ref"))
        for parameter in operation.get("parameters") or ():
            if isinstance(parameter, Mapping) and parameter.get("in") == "body":
                return self.ref_name((parameter.get("schema") or {}).get("$ref"))
        return None

    def contract(self, key: str) -> Contract:
        names: list[str] = []
        actions: dict[str, list[Action]] = {}
        for path, operations in self.paths.items():
            if not isinstance(operations, Mapping):
                continue
            for operation in operations.values():
                if not isinstance(operation, Mapping):
                    continue
                operation_id = str(operation.get("operationId") or "")
                entity, _, rest = operation_id.partition("_")
                if rest == "GetList" and entity in self.schemas:
                    names.append(entity)
                elif rest.startswith("InvokeAction_") and "{" not in path:
                    name = path.rstrip("/").rsplit("/", 1)[-1]
                    parameters = self.action_parameters(self.body_schema(operation))
                    actions.setdefault(entity, []).append(Action(name, parameters))
        entities: dict[str, Entity] = {}
        for name in sorted(set(names)):
            schema = self.entity_type(name)
            screen = self.tags.get(name, "")
            match = _SCREEN_RE.search(screen)
            module = match["screen"][:2] if match else "CS"
            entities[name] = Entity(
                type=schema,
                keys=guess_keys(name, schema.fields),
                screen=screen,
                graph=f"PX.Objects.{module}.{name}Maint/{name}",
                actions=tuple(sorted(actions.get(name, ()), key=lambda action: action.name)),
            )
        if not entities:
            raise DefinitionsError(f"{self.path}: defines no top-level entity ({{Entity}}_GetList)")
        return Contract(key, entities, dict(self.types))


def _identify(path: Path, data: Mapping[str, Any]) -> tuple[str, str]:
    info = data.get("info")
    title = info.get("title") if isinstance(info, Mapping) else None
    match = _TITLE_RE.match(title) if isinstance(title, str) else None
    match = match or _FILE_NAME_RE.match(path.stem)
    if match is None:
        raise DefinitionsError(
            f"{path}: cannot tell the endpoint and version: info.title should be like "
            '"Default/24.200.001", or name the file Default_24.200.001.json'
        )
    return match["endpoint"], match["version"]


def _read(path: Path) -> Mapping[str, Any]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise DefinitionsError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise DefinitionsError(f"{path}: cannot read it: {exc.strerror}") from exc
    except ValueError as exc:
        raise DefinitionsError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, Mapping):
        raise DefinitionsError(f"{path}: not an endpoint definition (a JSON object)")
    return data


def entity_names(directory: str) -> frozenset[str]:
    """Every top-level entity any definition file in ``directory`` defines."""
    return frozenset(
        name for contract in load_definitions(directory).values() for name in contract.entities
    )


def load_definitions(directory: str) -> Mapping[tuple[str, str], Contract]:
    """Every ``*.json`` endpoint definition in ``directory`` by (endpoint, version).

    Raises :class:`DefinitionsError` naming the directory or file and what is wrong with it.
    Results are cached per directory and file modification times.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DefinitionsError(f"{directory}: not a directory of endpoint definition files")
    files = tuple((str(path), path.stat().st_mtime_ns) for path in sorted(folder.glob("*.json")))
    if not files:
        raise DefinitionsError(
            f"{directory}: holds no *.json endpoint definition files (e.g. Default_24.200.001.json)"
        )
    return _load(files)


@functools.lru_cache(maxsize=4)
def _load(files: tuple[tuple[str, int], ...]) -> Mapping[tuple[str, str], Contract]:
    contracts: dict[tuple[str, str], Contract] = {}
    origins: dict[tuple[str, str], Path] = {}
    for name, _ in files:
        path = Path(name)
        data = _read(path)
        identity = _identify(path, data)
        if identity in origins:
            raise DefinitionsError(
                f"{path}: defines {identity[0]}/{identity[1]} like {origins[identity]}"
            )
        origins[identity] = path
        contracts[identity] = _Document(path, data).contract(f"{identity[0]}/{identity[1]}")
    return contracts
