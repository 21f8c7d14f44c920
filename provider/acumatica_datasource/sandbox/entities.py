"""The entity routes under ``/entity/{Endpoint}/{Version}/``.

* ``swagger.json`` - the endpoint's OpenAPI document (no sign-in needed, like ``/entity``).
* ``{Entity}`` - ``GET`` lists records (``$top $skip $select $expand $custom $filter``);
  ``PUT`` creates or updates one (found by ``id``, else by its key fields; missing keys
  are numbered like new documents; ``If-None-Match: *`` only inserts, ``If-Match: *`` only
  updates, else 412). Values of the wrong type answer 422 with the record and each field's
  ``error``; unknown properties are ignored.
* ``{Entity}/{id}`` and ``{Entity}/{key1}/{key2}...`` - ``GET`` (``$select $expand
  $custom``) and ``DELETE`` one record; the key values follow the entity's key order
  (:mod:`.definitions`). A missing record answers 500
  ``NoEntitySatisfiesTheConditionException``, as Acumatica does (see the package docstring).
* ``{Entity}/$adHocSchema`` - the entity's custom fields (``custom_fields`` config).

Actions (``POST {Entity}/{Action}``) and file attachments are described in swagger.json but
not emulated: they answer 405.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final

from aiohttp import web

from acumatica_datasource.sandbox.model import (
    Contract,
    Entity,
    EntityType,
    ScalarType,
    custom_type,
    value_problem,
)
from acumatica_datasource.sandbox.openapi import document_bytes
from acumatica_datasource.sandbox.query import (
    QueryError,
    Shape,
    parse_query,
    parse_shape,
    unknown_custom_field,
)
from acumatica_datasource.sandbox.records import Changes, Row, Table, Values
from acumatica_datasource.sandbox.render import cached_list, record
from acumatica_datasource.sandbox.responses import aspnet_error, aspnet_message, json_response
from acumatica_datasource.sandbox.state import Session, World

NO_ENTITY_TYPE: Final = "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException"
NO_ENTITY_MESSAGE: Final = "No entity satisfies the condition."
SETUP_NOT_ENTERED_TYPE: Final = "PX.Data.PXSetupNotEnteredException"
_GUID_LENGTH: Final = 36


def not_found(request: web.Request) -> web.Response:
    """ASP.NET Web API's routing 404."""
    return aspnet_message(
        404, f"No HTTP resource was found that matches the request URI '{request.url}'."
    )


def method_not_allowed(request: web.Request) -> web.Response:
    """ASP.NET Web API's 405."""
    return aspnet_message(
        405, f"The requested resource does not support http method '{request.method}'."
    )


def swagger(request: web.Request, world: World, parts: list[str]) -> web.Response | None:
    """``GET .../swagger.json``; None when ``parts`` is not that route."""
    if len(parts) != 4 or parts[3].casefold() != "swagger.json":
        return None
    endpoint = world.catalog.endpoint(parts[1], parts[2])
    if endpoint is None:
        return not_found(request)
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request)
    name, version = endpoint
    contract = world.catalog.contract(name, version)
    base = f"{request.scheme}://{request.host}{world.config.instance_path}"
    body = document_bytes(contract, name, version, base)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


class _Route:
    """One request on an entity: where it is, who asks, and the table it reads."""

    def __init__(
        self,
        request: web.Request,
        world: World,
        *,
        session: Session,
        endpoint: tuple[str, str],
        entity: Entity,
        contract: Contract,
    ) -> None:
        self.request = request
        self.world = world
        self.entity = entity
        self.contract = contract
        tenant = world.tenant(session.tenant)
        assert tenant is not None
        self.tenant = tenant
        catalog = world.catalog
        self.custom_fields = catalog.custom_fields(entity.name)
        self.table = Table(
            tenant.name,
            entity,
            contract=contract,
            count=catalog.record_count(tenant, entity.name),
            shape=catalog.shape(contract, entity.name),
            changes=world.changes.get((tenant.name.casefold(), entity.name)),
            custom_fields=self.custom_fields,
        )
        name, version = endpoint
        self.prefix = f"{world.config.instance_path}/entity/{name}/{version}"
        self.style = world.config.error_message_style
        self.params = {key: request.query.getone(key) for key in request.query}

    def error(self, exc: QueryError) -> web.Response:
        if exc.status == 400:
            return aspnet_message(400, exc.message)
        return aspnet_error(self.style, exc.status, exc.message, exc.exception_type)

    def no_entity(self) -> web.Response:
        return aspnet_error(self.style, 500, NO_ENTITY_MESSAGE, NO_ENTITY_TYPE)

    def render(self, index: int, row: Row, shape: Shape, number: int = 1) -> dict[str, object]:
        return record(
            self.table,
            index,
            row,
            shape=shape,
            row_number=number,
            prefix=self.prefix,
            custom_fields=self.custom_fields,
        )

    def changes(self) -> Changes:
        key = (self.tenant.name.casefold(), self.entity.name)
        changes = self.world.changes.setdefault(key, Changes())
        self.table.changes = changes
        return changes

    # ------------------------------------------------------------------- reads
    def list(self) -> web.Response:
        try:
            query = parse_query(self.params, self.entity.type, self.contract, self.custom_fields)
        except QueryError as exc:
            return self.error(exc)
        table = self.table
        shape = query.shape
        end = None if query.top is None else query.skip + query.top
        predicate = query.predicate
        page: list[tuple[int, Row]]
        if predicate is None:  # generate the page's records only
            page = table.rows_at(table.indices()[query.skip : end])
        else:
            selected = []
            for index, row in table.rows():
                values: Row = table.view(index, row) if query.paths else row
                if predicate(values):
                    selected.append((index, row))
            page = selected[query.skip : end]
        if (
            table.shape is not None
            and table.pristine
            and not (shape.expand or shape.custom or shape.files)
        ):
            return self._cached_list(page, shape.fields)
        items = [
            self.render(index, row, shape, number)
            for number, (index, row) in enumerate(page, start=1)
        ]
        return json_response(items)

    def _cached_list(
        self, page: Sequence[tuple[int, Row]], fields: tuple[str, ...]
    ) -> web.Response:
        """A page of a pristine hand-tuned entity, from its pre-rendered records."""
        table = self.table
        assert table.shape is not None
        rendered = cached_list(
            table.tenant,
            self.entity.name,
            self.entity.graph,
            table.shape,
            table.count,
            fields=fields,
            prefix=self.prefix,
        )
        items = [
            f'{{"id": "{row["id"]}", "rowNumber": {number}, {rendered[index]}}}'
            for number, (index, row) in enumerate(page, start=1)
        ]
        return web.Response(
            body=f"[{', '.join(items)}]".encode(),
            content_type="application/json",
            charset="utf-8",
        )

    def locate(self, segments: Sequence[str]) -> int | None:
        if len(segments) == 1 and len(segments[0]) == _GUID_LENGTH:
            found = self.table.find_id(segments[0])
            if found is not None or not self.entity.keys:
                return found
        return self.table.find_keys(segments)

    def routable(self, segments: Sequence[str]) -> bool:
        single_id = len(segments) == 1 and len(segments[0]) == _GUID_LENGTH
        return single_id or (bool(self.entity.keys) and len(segments) == len(self.entity.keys))

    def single(self, segments: Sequence[str]) -> web.Response:
        try:
            shape = parse_shape(self.params, self.entity.type, self.contract, self.custom_fields)
        except QueryError as exc:
            return self.error(exc)
        index = self.locate(segments)
        if index is None:
            return self.no_entity()
        return json_response(self.render(index, self.table.row(index), shape))

    def delete(self, segments: Sequence[str]) -> web.Response:
        index = self.locate(segments)
        if index is None:
            return self.no_entity()
        changes = self.changes()
        changes.deleted.add(index)
        changes.updates.pop(index, None)
        return web.Response(status=204)

    def ad_hoc_schema(self) -> web.Response:
        custom: dict[str, dict[str, object]] = {}
        for name, kind in self.custom_fields.items():
            view, _, field = name.partition(".")
            custom.setdefault(view, {})[field] = {"type": custom_type(kind)}
        return json_response({"custom": custom})

    # ------------------------------------------------------------------ writes
    async def put(self) -> web.Response:
        try:
            shape = parse_shape(self.params, self.entity.type, self.contract, self.custom_fields)
        except QueryError as exc:
            return self.error(exc)
        try:
            body = json.loads(await self.request.read() or b"{}")
        except ValueError:
            return aspnet_message(400, "The request is invalid: the body is not JSON.")
        if not isinstance(body, dict):
            return aspnet_message(400, "The request is invalid: the body must be a JSON object.")
        try:
            values, problems = _written(body, self.entity.type, self.contract, self.custom_fields)
        except QueryError as exc:
            return self.error(exc)
        if problems:
            echo = {key: value for key, value in body.items() if key not in problems}
            for name, problem in problems.items():
                field = body.get(name)
                echo[name] = {**(field if isinstance(field, dict) else {}), "error": problem}
            return json_response(echo, status=422)
        index = self._target(body, values)
        if isinstance(index, web.Response):
            return index
        changes = self.changes()
        if index is None:
            index = max([self.table.count - 1, *changes.created]) + 1
            changes.created.append(index)
            for key in self.entity.keys:
                if values.get(key) is None:
                    values.pop(key, None)
        else:
            for key in self.entity.keys:
                values.pop(key, None)  # key fields never change
        changes.updates[index] = {**changes.updates.get(index, {}), **values}
        return json_response(self.render(index, self.table.row(index), shape))

    def _target(self, body: Mapping[str, object], values: Values) -> int | web.Response | None:
        """The record a PUT updates (None: a new one), or the 412/500 answer."""
        record_id = body.get("id")
        if isinstance(record_id, str) and record_id:
            found = self.table.find_id(record_id)
            if found is None:
                return self.no_entity()
        elif self.entity.keys and all(values.get(key) is not None for key in self.entity.keys):
            found = self.table.find_keys([str(values[key]) for key in self.entity.keys])
        else:
            found = None
        headers = self.request.headers
        if found is not None and headers.get("If-None-Match", "").strip() == "*":
            return aspnet_message(412, "The record already exists and cannot be inserted.")
        if found is None and headers.get("If-Match", "").strip() == "*":
            return aspnet_message(412, "The record does not exist and cannot be updated.")
        return found


def _written(
    body: Mapping[str, object],
    entity: EntityType,
    contract: Contract,
    custom_fields: Mapping[str, ScalarType],
) -> tuple[Values, dict[str, str]]:
    """The plain values a PUT body sets, and each badly typed property's problem."""
    values: Values = {}
    problems: dict[str, str] = {}
    for name, raw in body.items():
        if name == "note":
            values["note"] = raw.get("value") if isinstance(raw, Mapping) else raw
            continue
        if name == "custom" and isinstance(raw, Mapping):
            values.update(_custom_written(raw, entity, custom_fields))
            continue
        member = entity.member(name)
        if member is None:
            continue
        if member in entity.fields:
            value = raw.get("value") if isinstance(raw, Mapping) else raw
            problem = value_problem(entity.fields[member], value)
            if problem is not None:
                problems[name] = problem
            else:
                values[member] = value
        elif member in entity.links and isinstance(raw, Mapping):
            target = contract.types[entity.links[member]]
            values[member] = _plain(raw, target)
        elif member in entity.details and isinstance(raw, list):
            target = contract.types[entity.details[member]]
            values[member] = [_plain(item, target) for item in raw if isinstance(item, Mapping)]
    return values, problems


def _plain(raw: Mapping[str, object], target: EntityType) -> Values:
    result: Values = {}
    for name, field in raw.items():
        member = target.member(name)
        if member is not None and member in target.fields and isinstance(field, Mapping):
            value = field.get("value")
            if value_problem(target.fields[member], value) is None:
                result[member] = value
    return result


def _custom_written(
    raw: Mapping[str, object], entity: EntityType, custom_fields: Mapping[str, ScalarType]
) -> Values:
    known = {name.casefold(): name for name in custom_fields}
    values: Values = {}
    for view, fields in raw.items():
        if not isinstance(fields, Mapping):
            continue
        for field, spec in fields.items():
            name = known.get(f"{view}.{field}".casefold())
            if name is None:
                raise unknown_custom_field(f"{view}.{field}", entity.name)
            value = spec.get("value") if isinstance(spec, Mapping) else spec
            if value_problem(custom_fields[name], value) is None:
                values[f"cf:{name}"] = value
    return values


async def entity_route(
    request: web.Request,
    world: World,
    *,
    session: Session,
    endpoint: tuple[str, str],
    entity: Entity,
    rest: list[str],
) -> web.Response:
    """Serve ``{Entity}[/...]`` for a signed-in caller whose tenant is set up."""
    contract = world.catalog.contract(*endpoint)
    route = _Route(
        request, world, session=session, endpoint=endpoint, entity=entity, contract=contract
    )
    method = request.method
    if not rest:
        if method in ("GET", "HEAD"):
            return route.list()
        if method == "PUT":
            return await route.put()
        return method_not_allowed(request)
    if rest == ["$adHocSchema"]:
        return route.ad_hoc_schema() if method in ("GET", "HEAD") else method_not_allowed(request)
    if method in ("GET", "HEAD", "DELETE") and route.routable(rest):
        return route.delete(rest) if method == "DELETE" else route.single(rest)
    if method in ("GET", "HEAD", "DELETE"):
        return not_found(request)
    return method_not_allowed(request)
