"""Query options of entity reads: ``$top``, ``$skip``, ``$select``, ``$expand``, ``$custom``,
``$filter``, as Acumatica's Integration Development Guide documents them.

``$filter`` ("$filter Parameter"): comparisons ``eq ne gt ge lt le``, ``and or not``,
parentheses; literals: strings (``'EA'``, quotes doubled inside), integers, decimals
(``100m``, also ``1.5d``/``f``), ``datetimeoffset'...'`` (its text may itself be
URL-encoded, as the guide's example is), ``datetime'...'`` (OData v3, which some clients
send), ``guid'...'``, ``true``/``false``/``null``; the functions ``substringof``,
``startswith`` and ``endswith``; linked-entity paths (``MainContact/Email eq '...'``); and
custom fields ``cf.String(f='View.Field')``. String comparisons ignore case (SQL Server's
default collation); ``Field eq null`` also matches an empty string; a ``datetime`` without an
offset is taken as UTC.

Anything else is refused the way the OData parser behind the contract-based API refuses it:
a 500 answer with an ASP.NET error body of type ``Microsoft.OData.ODataException`` (syntax
errors by position, unknown properties and functions, incompatible operand types by their
``Edm`` type names). Malformed ``$top``/``$skip`` answer 400. An unknown custom field
answers 500 ``PX.Data.PXException`` naming the field (the sources are silent on the exact
text).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, NoReturn
from urllib.parse import unquote

from acumatica_datasource.sandbox.model import (
    NUMERIC_TYPES,
    SYSTEM_FIELDS,
    Contract,
    EntityType,
    ScalarType,
)

ODATA_EXCEPTION: Final = "Microsoft.OData.ODataException"
PX_EXCEPTION: Final = "PX.Data.PXException"

Values = Mapping[str, object]
Predicate = Callable[[Values], bool]
#: Custom fields of an entity: ``View.Field`` -> type.
CustomFields = Mapping[str, ScalarType]

EDM_TYPES: Final[Mapping[str, str]] = {
    "string": "Edm.String",
    "decimal": "Edm.Decimal",
    "double": "Edm.Double",
    "int": "Edm.Int32",
    "short": "Edm.Int16",
    "long": "Edm.Int64",
    "byte": "Edm.Byte",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "guid": "Edm.Guid",
    "null": "null",
}
#: ``cf.<Type>`` names -> the custom field type they read.
CUSTOM_FUNCTION_TYPES: Final[Mapping[str, ScalarType]] = {
    "string": "string",
    "decimal": "decimal",
    "double": "double",
    "int": "int",
    "integer": "int",
    "short": "short",
    "long": "long",
    "byte": "byte",
    "bool": "bool",
    "boolean": "bool",
    "datetime": "datetime",
    "guid": "guid",
}
_OPERATORS: Final[Mapping[str, str]] = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}
_ARITHMETIC: Final = frozenset({"add", "sub", "mul", "div", "divby", "mod", "has", "in"})
_FUNCTIONS: Final = frozenset({"substringof", "startswith", "endswith"})


class QueryError(Exception):
    """A query option the emulated server refuses; carries the HTTP status and error text."""

    def __init__(self, status: int, message: str, exception_type: str = ODATA_EXCEPTION) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.exception_type = exception_type


def custom_path(view_field: str) -> str:
    """The key under which a record view exposes custom field ``View.Field``."""
    return f"cf:{view_field}"


Expand = Mapping[str, "Expand"]


@dataclass(frozen=True)
class Shape:
    """What to output: selected fields, expanded links and details, custom fields."""

    fields: tuple[str, ...]
    expand: Expand = field(default_factory=dict)
    select: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    custom: tuple[str, ...] = ()
    files: bool = False


@dataclass(frozen=True)
class ListQuery:
    """Parsed query options of one read."""

    top: int | None
    skip: int
    shape: Shape
    predicate: Predicate | None
    paths: frozenset[str]
    """Values the predicate reads besides top-level fields (linked paths, custom fields)."""


def parse_query(
    params: Mapping[str, str],
    entity: EntityType,
    contract: Contract,
    custom_fields: CustomFields,
) -> ListQuery:
    """Parse the query options against ``entity``; raise :class:`QueryError`."""
    top = _count(params, "$top")
    skip = _count(params, "$skip") or 0
    shape = parse_shape(params, entity, contract, custom_fields)
    raw_filter = params.get("$filter")
    predicate = None
    paths: frozenset[str] = frozenset()
    if raw_filter is not None and raw_filter.strip():
        parser = _FilterParser(raw_filter, entity, contract, custom_fields)
        predicate = parser.parse()
        paths = frozenset(parser.paths)
    return ListQuery(top=top, skip=skip, shape=shape, predicate=predicate, paths=paths)


def parse_shape(
    params: Mapping[str, str],
    entity: EntityType,
    contract: Contract,
    custom_fields: CustomFields,
) -> Shape:
    """``$select``, ``$expand`` and ``$custom`` of a read or a write."""
    expand, files = _expand(params.get("$expand"), entity, contract)
    fields, select = _select(params.get("$select"), entity, contract)
    custom = _custom(params.get("$custom"), entity, custom_fields)
    return Shape(fields=fields, expand=expand, select=select, custom=custom, files=files)


def _count(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"\d{1,9}", raw.strip()):
        raise QueryError(
            400,
            f"The query specified in the URI is not valid. "
            f"Invalid value '{raw}' for {name} query option found.",
        )
    return int(raw.strip())


def _unknown_property(name: str, type_name: str) -> QueryError:
    return QueryError(500, f"Could not find a property named '{name}' on type '{type_name}'.")


def _member(entity: EntityType, name: str) -> str:
    found = entity.member(name)
    if found is None:
        raise _unknown_property(name, entity.name)
    return found


def _sub_type(entity: EntityType, member: str, contract: Contract) -> EntityType | None:
    target = entity.links.get(member) or entity.details.get(member)
    return contract.types.get(target) if target is not None else None


def _expand(raw: str | None, entity: EntityType, contract: Contract) -> tuple[Expand, bool]:
    tree: dict[str, object] = {}
    files = False
    for part in (raw or "").split(","):
        path = [segment.strip() for segment in part.split("/")]
        if not any(path):
            continue
        if path == ["files"]:
            files = True
            continue
        node: dict[str, object] = tree
        current: EntityType | None = entity
        for segment in path:
            if current is None or not segment:
                raise QueryError(500, f"Syntax error: invalid path in $expand '{raw}'.")
            member = _member(current, segment)
            if member in current.fields:
                raise QueryError(
                    500,
                    f"Property '{member}' on type '{current.name}' is not a navigation "
                    "property or complex property. Only navigation properties can be expanded.",
                )
            current = _sub_type(current, member, contract)
            child = node.setdefault(member, {})
            assert isinstance(child, dict)
            node = child
    return _frozen(tree), files


def _frozen(tree: Mapping[str, object]) -> Expand:
    return {key: _frozen(value) for key, value in tree.items() if isinstance(value, Mapping)}


def _select(
    raw: str | None, entity: EntityType, contract: Contract
) -> tuple[tuple[str, ...], Mapping[str, tuple[str, ...]]]:
    """The top-level fields to output, and the fields chosen in expanded members
    (``MainContact/Email``); a linked or detail name alone selects nothing (``$expand`` does).
    """
    if raw is None or not raw.strip():
        return tuple(sorted(entity.fields, key=str.casefold)), {}
    fields: list[str] = []
    nested: dict[str, list[str]] = {}
    for part in raw.split(","):
        name = part.strip()
        if not name:
            raise QueryError(500, f"Syntax error: empty field name in $select '{raw}'.")
        head, _, rest = name.partition("/")
        if head in SYSTEM_FIELDS or head == "*":
            continue
        member = _member(entity, head)
        if rest:
            sub = _sub_type(entity, member, contract)
            if sub is None:
                raise _unknown_property(rest, member)
            nested.setdefault(member, []).append(_member(sub, rest.split("/")[0]))
        elif member in entity.fields and member not in fields:
            fields.append(member)
    ordered = tuple(sorted(fields, key=str.casefold))
    return ordered, {key: tuple(sorted(set(value))) for key, value in nested.items()}


def _custom(raw: str | None, entity: EntityType, custom_fields: CustomFields) -> tuple[str, ...]:
    names: list[str] = []
    known = {name.casefold(): name for name in custom_fields}
    for part in (raw or "").split(","):
        name = part.strip()
        if not name:
            continue
        canonical = known.get(name.casefold())
        if canonical is None:
            raise unknown_custom_field(name, entity.name)
        if canonical not in names:
            names.append(canonical)
    return tuple(names)


def unknown_custom_field(name: str, entity: str) -> QueryError:
    """The answer to a custom field the entity does not have."""
    return QueryError(
        500,
        f"The custom field '{name}' is not found in the {entity} entity: the data view or "
        "the field does not exist.",
        PX_EXCEPTION,
    )


# ---------------------------------------------------------------------------- $filter

_TOKEN_RE: Final = re.compile(
    r"""\s*(?:
        (?P<typed>(?:datetimeoffset|datetime|guid)'(?:[^']|'')*')
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<punct>[(),=])
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class _Operand:
    """A compiled operand: how to read it from a record and its type."""

    read: Callable[[Values], object]
    kind: str
    text: str


def _literal_value(token: _Token) -> _Operand:
    text = token.text
    if token.kind == "string":
        value = text[1:-1].replace("''", "'")
        return _Operand(lambda _values: value, "string", text)
    if token.kind == "number":
        suffix = text[-1].lower() if text[-1].isalpha() else ""
        digits = text.rstrip("mMdDfFlL")
        number: float | int
        if suffix in ("m", "d", "f") or "." in digits or "e" in digits.lower():
            number = float(digits)
            kind = "double" if suffix in ("d", "f") else "decimal"
        else:
            number = int(digits)
            kind = "long" if suffix == "l" else "int"
        return _Operand(lambda _values: number, kind, text)
    prefix, _, quoted = text.partition("'")
    body = unquote(quoted[:-1].replace("''", "'"))
    if prefix == "guid":
        try:
            parsed_guid = str(uuid.UUID(body)).casefold()
        except ValueError:
            raise QueryError(500, f"Unrecognized 'Edm.Guid' literal '{text}'.") from None
        return _Operand(lambda _values: parsed_guid, "guid", text)
    try:
        moment = datetime.fromisoformat(body)
    except ValueError:
        edm = "Edm.DateTimeOffset" if prefix == "datetimeoffset" else "Edm.DateTime"
        raise QueryError(500, f"Unrecognized '{edm}' literal '{text}'.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _Operand(lambda _values: moment, "datetime", text)


def _compatible(left: str, right: str) -> bool:
    if "null" in (left, right):
        return True
    if left in NUMERIC_TYPES and right in NUMERIC_TYPES:
        return True
    if {left, right} == {"guid", "string"}:
        return True
    return left == right


def _comparable(value: object, kind: str) -> object:
    """A record value in the form comparisons use (case-folded text, aware datetimes)."""
    if value is None or value == "":
        return None
    if kind == "datetime" and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if isinstance(value, str):
        return value.casefold()
    return value


def _compare(operator: str, left: object, right: object) -> bool:
    if operator == "eq":
        return left == right
    if operator == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        if operator == "gt":
            return bool(left > right)  # type: ignore[operator]
        if operator == "ge":
            return bool(left >= right)  # type: ignore[operator]
        if operator == "lt":
            return bool(left < right)  # type: ignore[operator]
        return bool(left <= right)  # type: ignore[operator]
    except TypeError:
        return False


class _FilterParser:
    """Recursive descent: or / and / not / comparison / operand."""

    def __init__(
        self, text: str, entity: EntityType, contract: Contract, custom_fields: CustomFields
    ) -> None:
        self.text = text
        self.entity = entity
        self.contract = contract
        self.custom_fields = {name.casefold(): (name, kind) for name, kind in custom_fields.items()}
        self.tokens = self._tokenize(text)
        self.index = 0
        self.paths: set[str] = set()

    def _tokenize(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while position < len(text):
            match = _TOKEN_RE.match(text, position)
            if match is None or match.end() == position:
                break
            kind = match.lastgroup or "other"
            if kind == "other":
                self._fail_at(match.start(kind), text)
            tokens.append(_Token(kind, match.group(kind), match.start(kind)))
            position = match.end()
        return tokens

    def _fail_at(self, position: int, text: str | None = None) -> NoReturn:
        raise QueryError(500, f"Syntax error at position {position} in '{text or self.text}'.")

    def _peek(self, offset: int = 0) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            self._fail_at(len(self.text))
        self.index += 1
        return token

    def _expect(self, text: str) -> _Token:
        token = self._next()
        if token.text != text:
            self._fail_at(token.position)
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "name" and token.text == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self._or()
        token = self._peek()
        if token is not None:
            self._fail_at(token.position)
        return predicate

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("or"):
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda values: any(part(values) for part in parts)

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._keyword("and"):
            parts.append(self._not())
        if len(parts) == 1:
            return parts[0]
        return lambda values: all(part(values) for part in parts)

    def _not(self) -> Predicate:
        if self._keyword("not"):
            inner = self._not()
            return lambda values: not inner(values)
        return self._comparison()

    def _comparison(self) -> Predicate:
        token = self._peek()
        if token is not None and token.text == "(":
            self.index += 1
            inner = self._or()
            self._expect(")")
            return inner
        left = self._operand()
        following = self._peek()
        if following is None or following.kind != "name" or following.text not in _OPERATORS:
            if following is not None and following.kind == "name" and following.text in _ARITHMETIC:
                raise QueryError(
                    500,
                    f"The operator '{following.text}' at position {following.position} is "
                    f"not supported in '{self.text}'.",
                )
            if left.kind == "bool":
                return lambda values: left.read(values) is True
            if following is None:
                self._fail_at(len(self.text))
            self._fail_at(following.position)
        self.index += 1
        operator = following.text
        right = self._operand()
        if not _compatible(left.kind, right.kind):
            raise QueryError(
                500,
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{EDM_TYPES[left.kind]}' and '{EDM_TYPES[right.kind]}' for operator kind "
                f"'{_OPERATORS[operator]}'.",
            )
        kind = left.kind if left.kind != "null" else right.kind
        read_left, read_right = left.read, right.read
        return lambda values: _compare(
            operator,
            _comparable(read_left(values), kind),
            _comparable(read_right(values), kind),
        )

    def _operand(self) -> _Operand:
        token = self._next()
        if token.kind in ("string", "number", "typed"):
            return _literal_value(token)
        if token.kind != "name":
            self._fail_at(token.position)
        if token.text in ("true", "false"):
            flag = token.text == "true"
            return _Operand(lambda _values: flag, "bool", token.text)
        if token.text == "null":
            return _Operand(lambda _values: None, "null", token.text)
        following = self._peek()
        if following is not None and following.text == "(":
            return self._function(token)
        return self._path(token)

    def _path(self, token: _Token) -> _Operand:
        segments = token.text.split("/")
        current = self.entity
        canonical: list[str] = []
        for position, segment in enumerate(segments):
            member = _member(current, segment)
            canonical.append(member)
            if position == len(segments) - 1:
                if member not in current.fields:
                    raise QueryError(
                        500,
                        f"The property '{member}' of type '{current.name}' cannot be compared: "
                        "it is not a primitive property.",
                    )
                kind: ScalarType = current.fields[member]
            else:
                if member not in current.links:
                    raise _unknown_property(segments[position + 1], member)
                sub = self.contract.types.get(current.links[member])
                if sub is None:
                    raise _unknown_property(segments[position + 1], member)
                current = sub
        path = "/".join(canonical)
        if len(canonical) > 1:
            self.paths.add(path)
        return _Operand(lambda values: values.get(path), kind, token.text)

    def _arguments(self) -> list[_Operand]:
        self._expect("(")
        arguments = [self._operand()]
        while self._peek() is not None and self._peek().text == ",":  # type: ignore[union-attr]
            self.index += 1
            arguments.append(self._operand())
        self._expect(")")
        return arguments

    def _function(self, token: _Token) -> _Operand:
        name = token.text
        if name.startswith("cf."):
            return self._custom_field(token)
        if name not in _FUNCTIONS:
            raise QueryError(
                500,
                f"An unknown function with name '{name}' was found. This may also be a function "
                "import or a key lookup on a navigation property, which is not allowed.",
            )
        arguments = self._arguments()
        if len(arguments) != 2:
            raise QueryError(500, f"The function '{name}' takes 2 arguments, not {len(arguments)}.")
        for argument in arguments:
            if argument.kind not in ("string", "null"):
                raise QueryError(
                    500,
                    f"No function signature for the function with name '{name}' matches the "
                    f"specified arguments. The function signatures considered are: {name}("
                    "Edm.String Nullable=true, Edm.String Nullable=true).",
                )
        first, second = arguments[0].read, arguments[1].read

        def text(read: Callable[[Values], object], values: Values) -> str | None:
            value = read(values)
            return value.casefold() if isinstance(value, str) else None

        def call(values: Values) -> bool:
            a, b = text(first, values), text(second, values)
            if a is None or b is None:
                return False
            if name == "substringof":
                return a in b
            if name == "startswith":
                return a.startswith(b)
            return a.endswith(b)

        return _Operand(call, "bool", name)

    def _custom_field(self, token: _Token) -> _Operand:
        type_name = token.text[3:]
        if type_name.casefold() not in CUSTOM_FUNCTION_TYPES:
            raise QueryError(500, f"An unknown function with name '{token.text}' was found.")
        self._expect("(")
        argument = self._next()
        if argument.text != "f":
            self._fail_at(argument.position)
        self._expect("=")
        quoted = self._next()
        if quoted.kind != "string":
            self._fail_at(quoted.position)
        self._expect(")")
        spec = quoted.text[1:-1].replace("''", "'")
        known = self.custom_fields.get(spec.casefold())
        if known is None:
            raise unknown_custom_field(spec, self.entity.name)
        name, kind = known
        path = custom_path(name)
        self.paths.add(path)
        return _Operand(lambda values: values.get(path), kind, token.text)
