"""OData-style query options of entity list reads: ``$top``, ``$skip``, ``$select``, ``$filter``.

``$filter`` understands ``Field eq|ne literal`` comparisons joined with ``and``/``or`` and
grouped with parentheses; literals are quoted strings (``'EA'``, quotes doubled inside),
numbers, ``true``/``false`` and ``null``. String comparisons ignore case, as SQL Server's
default collation does. Anything else (``gt``, ``startswith(...)``, unbalanced parentheses, an
unknown field) is rejected the way the OData parser behind Acumatica rejects it: a 500 answer
with an ASP.NET error body of type ``Microsoft.OData.ODataException``. Malformed ``$top`` or
``$skip`` values answer 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

from acumatica_datasource.sandbox.records import FieldType

ODATA_EXCEPTION: Final = "Microsoft.OData.ODataException"

Record = Mapping[str, object]
Predicate = Callable[[Record], bool]


class QueryError(Exception):
    """A query option the emulated server refuses; carries the HTTP status and error text."""

    def __init__(self, status: int, message: str, exception_type: str = ODATA_EXCEPTION) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.exception_type = exception_type


@dataclass(frozen=True)
class ListQuery:
    """Parsed query options of one list read."""

    top: int | None
    skip: int
    select: tuple[str, ...] | None
    predicate: Predicate | None


def parse_list_query(
    params: Mapping[str, str], entity: str, shape: Mapping[str, FieldType]
) -> ListQuery:
    """Parse the query options against the fields of ``entity``; raise :class:`QueryError`."""
    top = _count(params, "$top")
    skip = _count(params, "$skip") or 0
    select = _select(params.get("$select"), entity, shape)
    raw_filter = params.get("$filter")
    predicate = None
    if raw_filter is not None and raw_filter.strip():
        predicate = _FilterParser(raw_filter, entity, shape).parse()
    return ListQuery(top=top, skip=skip, select=select, predicate=predicate)


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


def _field(name: str, entity: str, shape: Mapping[str, FieldType]) -> str:
    for field in shape:
        if field.casefold() == name.casefold():
            return field
    raise QueryError(500, f"Could not find a property named '{name}' on type '{entity}'.")


def _select(raw: str | None, entity: str, shape: Mapping[str, FieldType]) -> tuple[str, ...] | None:
    if raw is None or not raw.strip():
        return None
    fields: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            raise QueryError(500, f"Syntax error: empty field name in $select '{raw}'.")
        if name in ("id", "rowNumber", "note", "custom", "_links", "*"):
            continue
        field = _field(name, entity, shape)
        if field not in fields:
            fields.append(field)
    return tuple(fields)


# ---------------------------------------------------------------------------- $filter

_TOKEN_RE: Final = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?[mMdDfFlL]?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_./]*)
      | (?P<punct>[(),])
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_UNSUPPORTED_OPERATORS: Final = ("gt", "ge", "lt", "le", "has", "add", "sub", "mul", "div", "mod")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


class _FilterParser:
    """Recursive descent over ``or`` / ``and`` / ``(..)`` / ``Field eq|ne literal``."""

    def __init__(self, text: str, entity: str, shape: Mapping[str, FieldType]) -> None:
        self.text = text
        self.entity = entity
        self.shape = shape
        self.tokens = self._tokenize(text)
        self.index = 0

    def _tokenize(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while position < len(text):
            match = _TOKEN_RE.match(text, position)
            if match is None or match.end() == position:
                break
            kind = match.lastgroup or "other"
            value = match.group(kind)
            if kind == "other":
                self._fail_at(match.start(kind), text)
            tokens.append(_Token(kind, value, match.start(kind)))
            position = match.end()
        return tokens

    def _fail_at(self, position: int, text: str | None = None) -> NoReturn:
        raise QueryError(500, f"Syntax error at position {position} in '{text or self.text}'.")

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            self._fail_at(len(self.text))
        self.index += 1
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
        return lambda record: any(part(record) for part in parts)

    def _and(self) -> Predicate:
        parts = [self._primary()]
        while self._keyword("and"):
            parts.append(self._primary())
        if len(parts) == 1:
            return parts[0]
        return lambda record: all(part(record) for part in parts)

    def _primary(self) -> Predicate:
        token = self._next()
        if token.kind == "punct" and token.text == "(":
            inner = self._or()
            closing = self._next()
            if closing.text != ")":
                self._fail_at(closing.position)
            return inner
        if token.kind != "name":
            self._fail_at(token.position)
        following = self._peek()
        if following is not None and following.text == "(":
            raise QueryError(
                500,
                f"The sandbox does not emulate the function '{token.text}' "
                f"(at position {token.position} in '{self.text}').",
            )
        if token.text == "not":
            raise QueryError(
                500, f"The sandbox does not emulate 'not' (at position {token.position})."
            )
        field = _field(token.text, self.entity, self.shape)
        operator = self._next()
        if operator.kind != "name":
            self._fail_at(operator.position)
        if operator.text in _UNSUPPORTED_OPERATORS:
            raise QueryError(
                500,
                f"The sandbox does not emulate the operator '{operator.text}' "
                f"(at position {operator.position} in '{self.text}'); use eq or ne.",
            )
        if operator.text not in ("eq", "ne"):
            self._fail_at(operator.position)
        expected = self._literal(self._next(), field)
        negate = operator.text == "ne"
        return _comparison(field, expected, negate)

    def _literal(self, token: _Token, field: str) -> object:
        field_type = self.shape[field]
        value: object
        if token.kind == "string":
            value = token.text[1:-1].replace("''", "'")
            if field_type not in ("string", "guid"):
                self._mismatch(field, field_type, token)
        elif token.kind == "number":
            number = token.text.rstrip("mMdDfFlL")
            value = float(number) if "." in number else int(number)
            if field_type not in ("decimal", "int", "short"):
                self._mismatch(field, field_type, token)
        elif token.kind == "name" and token.text in ("true", "false"):
            value = token.text == "true"
            if field_type != "bool":
                self._mismatch(field, field_type, token)
        elif token.kind == "name" and token.text == "null":
            value = None
        else:
            self._fail_at(token.position)
        return value

    def _mismatch(self, field: str, field_type: FieldType, token: _Token) -> NoReturn:
        raise QueryError(
            500,
            f"A binary operator with incompatible types was detected. Found operand types "
            f"'{field_type}' ({field}) and the literal {token.text} at position {token.position}.",
        )


def _comparison(field: str, expected: object, negate: bool) -> Predicate:
    def matches(record: Record) -> bool:
        actual = record.get(field)
        if isinstance(actual, str) and isinstance(expected, str):
            equal = actual.casefold() == expected.casefold()
        elif actual == "" and expected is None:
            equal = True
        else:
            equal = actual == expected
        return equal != negate

    return matches


def select_fields(shape: Sequence[str], select: tuple[str, ...] | None) -> list[str]:
    """The fields to output, in the server's (alphabetical) order."""
    names = list(shape) if select is None else list(select)
    return sorted(names, key=str.casefold)
