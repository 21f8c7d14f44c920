"""The sandbox configuration: immutable pydantic models and their validation.

:meth:`SandboxConfig.from_mapping` takes the mapping read from a YAML or JSON file and either
returns a :class:`SandboxConfig` or raises :class:`SandboxConfigError` naming every problem by
its path (``tenants[0].users[1].password: must be a string ...``); the command line adds the
file and line. Unknown keys are errors, with the closest allowed key as a hint.

Each section validates its own keys: scalar types check themselves (one message per kind of
value), and the rules that relate keys to each other (duplicates, a flow's secrets and
redirect URIs, the client id's tenant) live in the section's ``_rules``, which see the raw
mapping, so one pass reports every problem at once.

Keys with a non-obvious meaning (all optional):

* ``database_version`` - ``databaseVersion`` in ``GET /entity`` (default: ``build_version``).
* ``instance_path`` - serve the site under a path such as ``/AcumaticaERP`` (default ``""``).
* ``refresh_token_lifetime_s`` (default 30 days), ``authorization_code_lifetime_s`` (300).
* ``error_message_style`` - ``detailed`` (default: ``message`` of an ASP.NET error body repeats
  the exception text, e.g. ``Invalid credentials. Please try again.``) or ``generic``
  (``message`` is ``An error has occurred.`` and only ``exceptionMessage`` has the text).
* ``logout_rejects_body`` - ``true`` (default): a logout with a body, or without
  ``Content-Length``, is answered 411; ``false``: only a missing length is.
* ``license.retry_after_s`` - ``Retry-After`` header on 429 answers (default: none).
* ``license.bearer_slot`` - when an OAuth grant takes its API-user slot: ``first_request``
  (default: at its first entity request) or ``token`` (when the token is issued).
* ``definitions`` - a directory of endpoint definition files (see :mod:`.definitions`):
  every top-level entity they define is served too (default: none, the four built-in ones).
  A relative path is taken from the working directory (the command line: from the config
  file's directory).
* ``default_records`` - records of each entity a tenant's ``records`` does not list
  (default 25).
* ``custom_fields`` - custom fields per entity, as ``$custom`` and ``cf.String(...)`` name
  them: ``{StockItem: {ItemSettings.UsrRepairItemType: string}}`` (types: the scalar types of
  :mod:`.model`). None by default.
* ``tenants[].generic_inquiries`` - Generic Inquiries served through OData:
  ``[{name: ItemList, fields: {InventoryID: string, Qty: decimal}, rows: [{...}, ...]}]``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Literal, cast, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from acumatica_datasource.sandbox.builtin import ENTITY_NAMES
from acumatica_datasource.sandbox.definitions import DefinitionsError, entity_names
from acumatica_datasource.sandbox.model import SCALAR_TYPES, WRAPPERS, ScalarType, value_problem

Flow = Literal["authorization_code", "password", "implicit"]
LoginLimitResponse = Literal["500-json", "429-json", "429-text"]
BearerSlot = Literal["first_request", "token"]
ErrorMessageStyle = Literal["detailed", "generic"]

FLOWS: Final[tuple[str, ...]] = get_args(Flow)
LOGIN_LIMIT_RESPONSES: Final[tuple[str, ...]] = get_args(LoginLimitResponse)
BEARER_SLOTS: Final[tuple[str, ...]] = get_args(BearerSlot)
ERROR_MESSAGE_STYLES: Final[tuple[str, ...]] = get_args(ErrorMessageStyle)
MAX_RECORDS: Final = 100_000

DEFAULT_RECORDS: Final[Mapping[str, int]] = {
    "UnitsOfMeasure": 25,
    "FinancialYear": 5,
    "StockItem": 2500,
    "Customer": 1200,
}
DEFAULT_ENDPOINTS: Final[Mapping[str, tuple[str, ...]]] = {
    "Default": ("20.200.001", "22.200.001", "23.200.001", "24.200.001", "25.200.001")
}

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_CLIENT_ID_RE: Final = re.compile(rf"^(?P<guid>{_GUID})@(?P<tenant>.+)$")
_VERSION_RE: Final = re.compile(r"^\d+\.\d+(\.\d+)*$")
_ENDPOINT_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INSTANCE_PATH_RE: Final = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config: the key's path (``tenants[0].name``) and what to fix."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"


class SandboxConfigError(ValueError):
    """An invalid sandbox configuration; ``problems`` lists each bad key by path."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid sandbox config:\n{lines}")


# ------------------------------------------------------------------------ scalar types


def _problem(message: str) -> PydanticCustomError:
    # the text goes through the context: literal braces in it are not placeholders
    return PydanticCustomError("sandbox_config", "{text}", {"text": message})


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _problem(f"must be a string, not {_type_name(value)} (quote the value)")
    if not value.strip():
        raise _problem("must not be empty")
    return value


def _list_item(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _problem(f"must be a non-empty string, not {_type_name(value)}")
    return value


def _strings(value: object) -> object:
    if not isinstance(value, list | tuple):
        raise _problem(f"must be a list of strings, not {_type_name(value)}")
    return value


def _sections(value: object) -> object:
    if not isinstance(value, list | tuple):
        raise _problem(f"must be a list, not {_type_name(value)}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _problem(f"must be true or false, not {_type_name(value)}")
    return value


def _whole(maximum: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _problem(f"must be a whole number, not {_type_name(value)}")
        if not 0 <= value <= maximum:
            raise _problem(f"must be between 0 and {maximum}, not {value}")
        return value

    return check


def _seconds(allow_zero: bool) -> Callable[[object], float | None]:
    def check(value: object) -> float | None:
        if value is None and allow_zero:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _problem(f"must be a number of seconds, not {_type_name(value)}")
        number = float(value)
        if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
            bound = "zero or more" if allow_zero else "greater than zero"
            raise _problem(f"must be {bound}, not {value}")
        return number

    return check


def _choice(choices: Sequence[str]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or value not in choices:
            raise _problem(f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    return check


def _redirect_uri(value: object) -> str:
    uri = _list_item(value)
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise _problem(f"must be an absolute http(s) URI without a fragment, not {uri!r}")
    return uri


def _instance_path(value: object) -> str:
    if value in ("", "/"):
        return ""
    if not isinstance(value, str) or not _INSTANCE_PATH_RE.match(value.rstrip("/")):
        raise _problem(f'must be "" or a path such as "/AcumaticaERP", not {value!r}')
    return value.rstrip("/")


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _endpoints(value: object) -> object:
    if not isinstance(value, Mapping) or not value:
        raise _problem(
            "must map endpoint names to lists of versions, "
            'e.g. {Default: ["23.200.001", "24.200.001"]}'
        )
    # badly named endpoints are reported by SandboxConfig._rules
    return {
        name: versions
        for name, versions in value.items()
        if isinstance(name, str) and _ENDPOINT_NAME_RE.match(name)
    }


def _versions(value: object) -> object:
    if not isinstance(value, list | tuple) or not value:
        raise _problem('must be a non-empty list of versions such as "24.200.001"')
    return value


def _version(value: object) -> str:
    if not isinstance(value, str) or not _VERSION_RE.match(value):
        raise _problem(f'must be a version string such as "24.200.001" (quoted), not {value!r}')
    return value


def _records(value: object) -> object:
    if not isinstance(value, Mapping):
        raise _problem(
            "must map entity names to record counts, e.g. {StockItem: 100}, "
            f"not {_type_name(value)}"
        )
    return {**DEFAULT_RECORDS, **value}


def _record_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _problem(f"must be a whole number >= 0, not {value!r}")
    if value > MAX_RECORDS:
        raise _problem(f"must be at most {MAX_RECORDS}, not {value}")
    return value


_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CUSTOM_FIELD_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_INQUIRY_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_ -]*$")
_TYPE_NAMES: Final = ", ".join(WRAPPERS)


def _scalar_type(value: object) -> ScalarType:
    if not isinstance(value, str) or value not in WRAPPERS:
        raise _problem(f"must be a field type ({_TYPE_NAMES}), not {value!r}")
    return SCALAR_TYPES[WRAPPERS[value]]  # type: ignore[index]


def _mapping_of(example: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, Mapping):
            raise _problem(f"must be a mapping such as {example}, not {_type_name(value)}")
        return value

    return check


def _inquiry_name(value: object) -> str:
    if not isinstance(value, str) or not _INQUIRY_NAME_RE.match(value):
        raise _problem(f"must be a name of letters, digits, spaces, _ and -, not {value!r}")
    return value


Text = Annotated[str, BeforeValidator(_text)]
FieldType = Annotated[ScalarType, BeforeValidator(_scalar_type)]
FieldTypes = Annotated[
    Mapping[str, FieldType], BeforeValidator(_mapping_of("{InventoryID: string, Qty: decimal}"))
]
Flag = Annotated[bool, BeforeValidator(_flag)]
ListItem = Annotated[str, BeforeValidator(_list_item)]
Strings = Annotated[tuple[ListItem, ...], BeforeValidator(_strings)]
Seconds = Annotated[float, BeforeValidator(_seconds(allow_zero=False))]
Version = Annotated[str, BeforeValidator(_version)]


# --------------------------------------------------------------------------- sections


def _value(section: object, key: str) -> object:
    """``key`` of a raw mapping or of an already-built model (None when absent)."""
    if isinstance(section, Mapping):
        return section.get(key)
    return getattr(section, key, None)


def _entries(section: object, key: str) -> Iterator[tuple[int, object]]:
    """The items of a list-valued key, whatever the shape of the input."""
    items = _value(section, key)
    if isinstance(items, list | tuple):
        yield from enumerate(items)


def _path(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _duplicates(
    section: object,
    key: str,
    field: str,
    what: str,
    *,
    prefix: Loc = (),
    seen: dict[str, str] | None = None,
) -> Iterator[tuple[Loc, str]]:
    """A problem for each item of ``section[key]`` whose ``field`` repeats (ignoring case)."""
    seen = {} if seen is None else seen
    for index, item in _entries(section, key):
        name = _value(item, field)
        if not isinstance(name, str):
            continue
        loc: Loc = (*prefix, key, index, field)
        if name.casefold() in seen:
            yield loc, f"{what} {name!r} is already {seen[name.casefold()]}"
        else:
            seen[name.casefold()] = _path(loc)


def _error_details(error: ErrorDetails, prefix: Loc = ()) -> InitErrorDetails:
    details = InitErrorDetails(type=error["type"], loc=(*prefix, *error["loc"]), input=None)
    if error["type"] == "sandbox_config":
        details["type"] = _problem(str(error.get("ctx", {}).get("text", error["msg"])))
    elif "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


class _Section(BaseModel):
    """A mapping of known keys: refuses other keys and checks the rules between its keys."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: The message when a required key is missing (default: ``is required``).
    required_hints: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def _rules(cls, data: Mapping[str, Any]) -> Iterable[tuple[Loc, str]]:
        """Problems between keys, found on the raw mapping (types may still be wrong)."""
        return ()

    @model_validator(mode="wrap")
    @classmethod
    def _validate_section(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise _problem(f"must be a mapping of keys to values, not {_type_name(data)}")
        allowed = tuple(cls.model_fields)
        found: list[tuple[Loc, str]] = []
        for key in data:
            if not isinstance(key, str):
                found.append(((), f"key {key!r} must be a string"))
            elif key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                found.append(((key,), f"unknown key ({hint})"))
        for key, hint in cls.required_hints.items():
            if key not in data:
                found.append(((key,), f"is required: {hint}"))
        found.extend(cls._rules(data))
        errors: list[InitErrorDetails] = [
            InitErrorDetails(type=_problem(message), loc=loc, input=None) for loc, message in found
        ]
        try:
            model = handler({key: value for key, value in data.items() if key in allowed})
        except ValidationError as exc:
            raised = [
                _error_details(error)
                for error in exc.errors()
                if not (error["type"] == "missing" and error["loc"][0] in cls.required_hints)
            ]
            errors = raised + errors
            model = None
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return model


class UserConfig(_Section):
    """A user of a tenant."""

    name: Text
    password: Text
    must_change_password: Flag = False
    locked: Flag = False
    denied_entities: Strings = ()


class AppConfig(_Section):
    """A connected application (OAuth client) of a tenant."""

    required_hints: ClassVar[Mapping[str, str]] = {"flow": f"one of {', '.join(FLOWS)}"}

    client_id: Text
    name: Annotated[str, BeforeValidator(lambda value: "" if value is None else _text(value))] = ""
    flow: Annotated[Flow, BeforeValidator(_choice(FLOWS))] = "authorization_code"
    secrets: Strings = ()
    redirect_uris: Annotated[
        tuple[Annotated[str, BeforeValidator(_redirect_uri)], ...], BeforeValidator(_strings)
    ] = ()

    @classmethod
    def _rules(cls, data: Mapping[str, Any]) -> Iterable[tuple[Loc, str]]:
        flow = data.get("flow", "authorization_code")
        if flow not in FLOWS:
            return
        secrets = data.get("secrets") or ()
        if flow != "implicit" and not secrets:
            yield ("secrets",), f"a {flow} application needs at least one secret"
        redirect_uris = data.get("redirect_uris") or ()
        if flow == "password" and redirect_uris:
            yield (
                ("redirect_uris",),
                "a password-flow application has no redirect URIs: remove the key",
            )
        if flow != "password" and not redirect_uris:
            yield ("redirect_uris",), f"a {flow} application needs at least one redirect URI"


class InquiryConfig(_Section):
    """A Generic Inquiry served through OData: its fields and its rows."""

    name: Annotated[str, BeforeValidator(_inquiry_name)]
    fields: FieldTypes
    rows: Annotated[
        tuple[Annotated[Mapping[str, object], BeforeValidator(_mapping_of("{Qty: 5}"))], ...],
        BeforeValidator(_sections),
    ] = ()

    @classmethod
    def _rules(cls, data: Mapping[str, Any]) -> Iterable[tuple[Loc, str]]:
        fields = data.get("fields")
        if not isinstance(fields, Mapping):
            return
        if not fields:
            yield ("fields",), "must name at least one field"
        for name in fields:
            if not isinstance(name, str) or not _NAME_RE.match(name):
                yield ("fields", str(name)), "field names are letters, digits and underscores"
        for index, row in _entries(data, "rows"):
            if not isinstance(row, Mapping):
                continue
            for key, value in row.items():
                kind = fields.get(key)
                if not isinstance(kind, str) or kind not in WRAPPERS:
                    known = ", ".join(str(name) for name in fields)
                    yield ("rows", index, str(key)), f"unknown field (fields: {known})"
                    continue
                problem = value_problem(cast(ScalarType, kind), value)
                if problem is not None:
                    yield ("rows", index, str(key)), problem


class TenantConfig(_Section):
    """A tenant (company) with its users, connected applications and record counts."""

    name: Text
    setup_complete: Flag = True
    branches: Strings = ("HQ",)
    users: Annotated[tuple[UserConfig, ...], BeforeValidator(_sections)] = ()
    connected_apps: Annotated[tuple[AppConfig, ...], BeforeValidator(_sections)] = ()
    records: Annotated[
        Mapping[str, Annotated[int, BeforeValidator(_record_count)]], BeforeValidator(_records)
    ] = Field(default_factory=lambda: dict(DEFAULT_RECORDS))
    generic_inquiries: Annotated[tuple[InquiryConfig, ...], BeforeValidator(_sections)] = ()

    @classmethod
    def _rules(cls, data: Mapping[str, Any]) -> Iterable[tuple[Loc, str]]:
        yield from _duplicates(data, "generic_inquiries", "name", "inquiry")
        if isinstance(data.get("branches"), list | tuple) and not data["branches"]:
            yield ("branches",), "must list at least one branch"
        tenant = data.get("name") if isinstance(data.get("name"), str) else None
        for index, app in _entries(data, "connected_apps"):
            client_id = _value(app, "client_id")
            if not isinstance(client_id, str) or not client_id.strip():
                continue
            loc: Loc = ("connected_apps", index, "client_id")
            match = _CLIENT_ID_RE.match(client_id)
            if match is None:
                example = f"88358B02-A48D-A50E-F710-39C1636C30F6@{tenant or 'MyTenant'}"
                yield loc, f'must look like <GUID>@<tenant>, e.g. "{example}"'
            elif tenant is not None and match["tenant"].casefold() != tenant.casefold():
                yield (
                    loc,
                    f"the part after '@' must be this tenant's name {tenant!r}, "
                    f"not {match['tenant']!r}",
                )


class LicenseConfig(_Section):
    """License limits: concurrent API users, requests per minute, login-limit answer."""

    api_users: Annotated[int, BeforeValidator(_whole(100_000))] = 2
    requests_per_minute: Annotated[int, BeforeValidator(_whole(10_000_000))] = 0
    login_limit_response: Annotated[
        LoginLimitResponse, BeforeValidator(_choice(LOGIN_LIMIT_RESPONSES))
    ] = "500-json"
    retry_after_s: Annotated[float | None, BeforeValidator(_seconds(allow_zero=True))] = None
    bearer_slot: Annotated[BearerSlot, BeforeValidator(_choice(BEARER_SLOTS))] = "first_request"


class SandboxConfig(_Section):
    """The whole emulated site. Build it with :meth:`from_mapping` to get readable problems."""

    required_hints: ClassVar[Mapping[str, str]] = {"tenants": "list at least one tenant"}

    tenants: Annotated[tuple[TenantConfig, ...], BeforeValidator(_sections)] = ()
    build_version: Text = "24.210.0013"
    database_version: Annotated[str | None, BeforeValidator(_optional_text)] = None
    endpoints: Annotated[
        Mapping[str, Annotated[tuple[Version, ...], BeforeValidator(_versions)]],
        BeforeValidator(_endpoints),
    ] = Field(default_factory=lambda: dict(DEFAULT_ENDPOINTS))
    license: LicenseConfig = Field(default_factory=LicenseConfig)
    session_idle_timeout_s: Seconds = 600.0
    access_token_lifetime_s: Seconds = 3600.0
    refresh_token_lifetime_s: Seconds = 30 * 24 * 3600.0
    authorization_code_lifetime_s: Seconds = 300.0
    instance_path: Annotated[str, BeforeValidator(_instance_path)] = ""
    error_message_style: Annotated[
        ErrorMessageStyle, BeforeValidator(_choice(ERROR_MESSAGE_STYLES))
    ] = "detailed"
    logout_rejects_body: Flag = True
    definitions: Annotated[str | None, BeforeValidator(_optional_text)] = None
    default_records: Annotated[int, BeforeValidator(_record_count)] = 25
    custom_fields: Annotated[
        Mapping[str, FieldTypes],
        BeforeValidator(_mapping_of("{StockItem: {ItemSettings.UsrRepairItemType: string}}")),
    ] = Field(default_factory=dict)

    @property
    def effective_database_version(self) -> str:
        """``databaseVersion`` as reported by ``GET /entity``."""
        return self.database_version or self.build_version

    @classmethod
    def _rules(cls, data: Mapping[str, Any]) -> Iterable[tuple[Loc, str]]:
        yield from cls._entity_rules(data)
        if isinstance(data.get("tenants"), list | tuple) and not data["tenants"]:
            yield ("tenants",), "must list at least one tenant"
        yield from _duplicates(data, "tenants", "name", "tenant")
        client_ids: dict[str, str] = {}
        for index, tenant in _entries(data, "tenants"):
            prefix: Loc = ("tenants", index)
            yield from _duplicates(tenant, "users", "name", "user", prefix=prefix)
            yield from _duplicates(
                tenant, "connected_apps", "client_id", "client id", prefix=prefix, seen=client_ids
            )
        endpoints = data.get("endpoints")
        if not isinstance(endpoints, Mapping) or not endpoints:
            return
        for name, versions in endpoints.items():
            if not isinstance(name, str) or not _ENDPOINT_NAME_RE.match(name):
                yield ("endpoints", str(name)), "endpoint names are letters, digits and underscores"
            if not isinstance(versions, list | tuple):
                continue
            seen: set[str] = set()
            for index, version in enumerate(versions):
                if isinstance(version, str) and _VERSION_RE.match(version):
                    if version in seen:
                        message = f"version {version} is listed twice"
                        yield ("endpoints", str(name), index), message
                    seen.add(version)
        if "Default" not in endpoints:
            yield ("endpoints",), 'must list the "Default" endpoint\'s versions'

    @classmethod
    def _entity_rules(cls, data: Mapping[str, Any]) -> Iterable[tuple[Loc, str]]:
        """Entity names in ``records`` and ``custom_fields`` must be served ones."""
        served = set(ENTITY_NAMES)
        directory = data.get("definitions")
        if isinstance(directory, str) and directory.strip():
            try:
                served |= entity_names(directory)
            except DefinitionsError as exc:
                yield ("definitions",), str(exc)
                return
        hint = "add a definitions directory that defines it" if not directory else "see definitions"

        def unknown(entity: str) -> str:
            close = difflib.get_close_matches(entity, sorted(served), n=1)
            return f"unknown entity ({f'did you mean {close[0]!r}?' if close else hint})"

        for index, tenant in _entries(data, "tenants"):
            records = _value(tenant, "records")
            if isinstance(records, Mapping):
                for entity in records:
                    if entity not in served:
                        yield ("tenants", index, "records", str(entity)), unknown(str(entity))
        custom = data.get("custom_fields")
        if isinstance(custom, Mapping):
            for entity, fields in custom.items():
                if entity not in served:
                    yield ("custom_fields", str(entity)), unknown(str(entity))
                if isinstance(fields, Mapping):
                    for name in fields:
                        if not isinstance(name, str) or not _CUSTOM_FIELD_RE.match(name):
                            yield (
                                ("custom_fields", str(entity), str(name)),
                                "custom fields are named View.Field, e.g. ItemSettings.UsrColor",
                            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> SandboxConfig:
        """Validate ``data`` (as read from YAML/JSON) and build the config.

        Raises :class:`SandboxConfigError` listing every problem at once.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SandboxConfigError(
                [ConfigProblem(_path(tuple(e["loc"])), _message(e)) for e in exc.errors()]
            ) from None


def _message(error: ErrorDetails) -> str:
    if error["type"] == "sandbox_config":
        return str(error.get("ctx", {}).get("text", error["msg"]))
    if error["type"] == "missing":
        return "is required"
    return error["msg"]
