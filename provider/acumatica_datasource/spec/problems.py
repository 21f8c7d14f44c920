"""Problems with environment files, and pydantic's validation errors turned into messages a
person can act on.

An error's location is walked through the model types, so union tags disappear from the
path (``authentication.password.vault.key``, not ``authentication.basic.password.vault.vault.key``)
and an unknown key can be matched against the fields that were allowed there. Messages never
repeat the offending value: it may be a secret typed into the wrong place.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Discriminator, Tag
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from acumatica_datasource.spec.base import TEXT_MESSAGE, TEXT_PATTERN

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Rule:
    """A kind of problem: what it is and how problems of its kind are fixed (SARIF reports
    one rule per kind; every problem names its kind)."""

    id: str
    title: str
    help: str


RULES = {
    rule.id: rule
    for rule in (
        Rule(
            "unreadable-file",
            "The environment file cannot be read",
            "Check the file's path and permissions.",
        ),
        Rule(
            "yaml",
            "The file is not an environment mapping in valid YAML",
            "Fix the YAML at the line given: one document, a mapping with environment and "
            "data_sources, plain keys, no unsupported tags.",
        ),
        Rule(
            "extends",
            "A base file named by extends cannot be combined with this file",
            "extends is a path relative to the file, without cycles; every stage file names its "
            "own environment, and one entry overrides a base's data source at most once.",
        ),
        Rule(
            "missing-field",
            "A required field is missing",
            "Add the field (environment.schema.json lists every field and its rule).",
        ),
        Rule(
            "unknown-key",
            "A key that environment files do not have",
            "Correct the key's spelling or remove it; the message names the allowed keys.",
        ),
        Rule(
            "wrong-type",
            "A value of the wrong type",
            "Write the value as the type the message asks for (quote numbers meant as text).",
        ),
        Rule(
            "invalid-value",
            "A value that breaks its field's rule",
            "Change the value as the message says (environment.schema.json has each rule).",
        ),
        Rule(
            "cross-source",
            "A rule across data sources or settings",
            "Descriptions and ids are unique, previous_ids name no other data source, OAuth "
            "data sources need callback_base_url, and a reference may not read the variables "
            "that log in to Vault.",
        ),
    )
}
"""Every kind of problem, by id."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one file, at a line (1-based) and a field path; ``rule`` is its kind
    (a key of :data:`RULES`)."""

    file: str
    line: int
    path: str
    message: str
    rule: str = "invalid-value"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used by ``acumatica-ds validate --format json``."""
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field: ``loc`` is the cleaned location, ``path`` its text,
    ``rule`` its kind (a key of :data:`RULES`)."""

    loc: Loc
    message: str
    rule: str = "invalid-value"

    @property
    def path(self) -> str:
        """``data_sources[0].authentication.password``, or ``(document)`` at the root."""
        return format_path(self.loc)


def format_path(loc: Loc) -> str:
    """Format a location as ``a.b[0].c``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


_PATTERN_MESSAGES = {
    TEXT_PATTERN: TEXT_MESSAGE,
    r"^\S+$": "must be non-empty text without spaces",
}

_FIELD_MESSAGES = {
    "client_id": "must look like 88358B02-A48D-A50E-F710-39C1636C30F6@TENANT: the client id "
    "from Acumatica's Connected Applications form",
    "environment": "must be lower-case letters, digits and dashes, starting with a letter or "
    "digit (it names the Pulumi stack)",
    "id": "must be 1-63 lower-case letters, digits and dashes, starting with a letter or digit",
    "project": "must be 1-100 letters, digits, dashes, underscores or periods (a Pulumi "
    "project name)",
    "previous_ids": "must be 1-63 lower-case letters, digits and dashes, starting with a letter "
    "or digit",
    "entity": "must be an entity name such as UnitsOfMeasure",
    "env": "must be an environment variable name: letters, digits and underscores",
    "url": "must be an absolute URL starting with https:// (http:// only for loopback hosts)",
    "callback_base_url": "must be an absolute URL starting with https://",
    "address": "must be an absolute URL such as https://vault.example.com:8200",
}

_TYPE_NAMES = {
    "string_type": "text",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}


def problems_from_errors(root: type[BaseModel], errors: list[ErrorDetails]) -> list[FieldProblem]:
    """Convert ``ValidationError.errors()`` raised while validating ``root``."""
    result: list[FieldProblem] = []
    for error in errors:
        loc, parent, final = _clean(root, tuple(error["loc"]))
        result.append(_problem(error, loc, parent, final))
    return list(dict.fromkeys(result))


def _problem(
    error: ErrorDetails, loc: Loc, parent: type[BaseModel] | None, final: Any
) -> FieldProblem:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    last = next((p for p in reversed(loc) if isinstance(p, str)), "")
    value = error.get("input")
    if kind == "extra_forbidden":
        return FieldProblem(loc, _unknown_key(str(loc[-1]), parent), "unknown-key")
    if kind == "missing":
        return FieldProblem(loc, "required field is missing", "missing-field")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        field = str(ctx.get("discriminator", "")).strip("'\"") or "type"
        expected = " or ".join(_unwrap(final)[1]) or "a known value"
        if kind == "union_tag_not_found" and not (isinstance(value, dict) and field in value):
            return FieldProblem(
                (*loc, field), f"required field is missing: {expected}", "missing-field"
            )
        return FieldProblem((*loc, field), f"must be {expected}")
    if kind in _TYPE_NAMES:
        message = f"must be {_TYPE_NAMES[kind]}"
        if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
            message += ": quote the value to make it text"
        if kind == "int_type" and isinstance(value, float):
            message = "must be a whole number"
        return FieldProblem(loc, message, "wrong-type")
    if kind == "string_pattern_mismatch":
        known = _PATTERN_MESSAGES.get(str(ctx.get("pattern", "")))
        return FieldProblem(loc, known or _FIELD_MESSAGES.get(last, "has an invalid format"))
    if kind in ("string_too_short", "too_short"):
        return FieldProblem(loc, "must not be empty")
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        return FieldProblem(loc, f"must be at most {limit} long")
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("greater than", "gt"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        limit = ctx.get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return FieldProblem(loc, f"must be {words} {limit}")
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return FieldProblem(loc, f"must be one of: {expected}")
    if kind in ("finite_number",):
        return FieldProblem(loc, "must be a finite number")
    return FieldProblem(loc, str(error["msg"]).removeprefix("Value error, "))


def _unknown_key(key: str, parent: type[BaseModel] | None) -> str:
    if parent is None:
        return "unknown key"
    import difflib  # only for an unknown key: not imported with the module

    allowed = list(parent.model_fields)
    lowered = {name.lower(): name for name in allowed}
    match = lowered.get(key.lower()) or next(
        iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None
    )
    if match is not None:
        return f"unknown key '{key}': did you mean '{match}'?"
    return f"unknown key '{key}': allowed keys are {', '.join(allowed)}"


def _clean(root: type[BaseModel], loc: Loc) -> tuple[Loc, type[BaseModel] | None, Any]:
    """Drop union tags from ``loc``; return it, the model owning its end, and its type."""
    clean: list[str | int] = []
    current: Any = root
    owner: type[BaseModel] | None = None
    parts = list(loc)
    while parts:
        current, tags = _unwrap(current)
        if tags:
            tag = parts[0]
            if isinstance(tag, str) and tag in tags:
                parts.pop(0)
                current = tags[tag]
                continue
        part = parts.pop(0)
        clean.append(part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            owner = current
            field = current.model_fields.get(str(part))
            if field is None:
                clean.extend(parts)
                break
            current = _field_type(field)
        elif get_origin(current) is list:
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            clean.extend(parts)
            break
    return tuple(clean), owner, current


def _field_type(field: FieldInfo) -> Any:
    annotation: Any = field.annotation
    if field.discriminator is not None and isinstance(field.discriminator, str):
        return Annotated[annotation, field.discriminator]
    if field.metadata:
        return Annotated[(annotation, *field.metadata)]
    return annotation


def _unwrap(tp: Any) -> tuple[Any, dict[str, Any]]:
    """Strip Annotated and Optional; for a tagged union return its tag -> member map."""
    discriminator: str | Discriminator | None = None
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            for meta in args[1:]:
                if isinstance(meta, Discriminator | str):
                    discriminator = meta
                elif isinstance(meta, FieldInfo) and meta.discriminator is not None:
                    discriminator = meta.discriminator
            tp = args[0]
            continue
        if origin in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            return tp, _tags(members, discriminator)
        return tp, {}


def _tags(members: list[Any], discriminator: str | Discriminator | None) -> dict[str, Any]:
    tags: dict[str, Any] = {}
    for member in members:
        inner = member
        if get_origin(member) is Annotated:
            args = get_args(member)
            inner = args[0]
            for meta in args[1:]:
                if isinstance(meta, Tag):
                    tags[meta.tag] = inner
        if isinstance(discriminator, str) and isinstance(inner, type):
            field = inner.model_fields.get(discriminator) if issubclass(inner, BaseModel) else None
            if field is not None and get_origin(field.annotation) is Literal:
                for value in get_args(field.annotation):
                    tags[str(value)] = inner
    return tags
