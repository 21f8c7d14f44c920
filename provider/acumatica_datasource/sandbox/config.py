"""The sandbox configuration: an immutable model and its validation.

:meth:`SandboxConfig.from_mapping` takes the mapping read from a YAML or JSON file and either
returns a :class:`SandboxConfig` or raises :class:`SandboxConfigError` naming every problem by
its path (``tenants[0].users[1].password: must be a string ...``). Unknown keys are errors.

Keys beyond those of issue 3 (all optional):

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
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, cast
from urllib.parse import urlsplit

from acumatica_datasource.sandbox.records import ENTITY_NAMES

Flow = Literal["authorization_code", "password", "implicit"]
LoginLimitResponse = Literal["500-json", "429-json", "429-text"]
BearerSlot = Literal["first_request", "token"]
ErrorMessageStyle = Literal["detailed", "generic"]

FLOWS: Final = ("authorization_code", "password", "implicit")
LOGIN_LIMIT_RESPONSES: Final = ("500-json", "429-json", "429-text")
BEARER_SLOTS: Final = ("first_request", "token")
ERROR_MESSAGE_STYLES: Final = ("detailed", "generic")
MAX_RECORDS: Final = 100_000

DEFAULT_RECORDS: Final[Mapping[str, int]] = {
    "UnitsOfMeasure": 25,
    "FinancialYear": 5,
    "StockItem": 2500,
    "Customer": 1200,
}

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_CLIENT_ID_RE: Final = re.compile(rf"^(?P<guid>{_GUID})@(?P<tenant>.+)$")
_VERSION_RE: Final = re.compile(r"^\d+\.\d+(\.\d+)*$")
_ENDPOINT_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INSTANCE_PATH_RE: Final = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")


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


@dataclass(frozen=True)
class UserConfig:
    """A user of a tenant."""

    name: str
    password: str
    must_change_password: bool = False
    locked: bool = False
    denied_entities: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppConfig:
    """A connected application (OAuth client) of a tenant."""

    client_id: str
    name: str
    flow: Flow
    secrets: tuple[str, ...] = ()
    redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class TenantConfig:
    """A tenant (company) with its users, connected applications and record counts."""

    name: str
    setup_complete: bool = True
    branches: tuple[str, ...] = ("HQ",)
    users: tuple[UserConfig, ...] = ()
    connected_apps: tuple[AppConfig, ...] = ()
    records: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RECORDS))


@dataclass(frozen=True)
class LicenseConfig:
    """License limits: concurrent API users, requests per minute, login-limit answer."""

    api_users: int = 2
    requests_per_minute: int = 0
    login_limit_response: LoginLimitResponse = "500-json"
    retry_after_s: float | None = None
    bearer_slot: BearerSlot = "first_request"


@dataclass(frozen=True)
class SandboxConfig:
    """The whole emulated site. Build it with :meth:`from_mapping` to get validation."""

    tenants: tuple[TenantConfig, ...]
    build_version: str = "24.210.0013"
    database_version: str | None = None
    endpoints: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "Default": ("20.200.001", "22.200.001", "23.200.001", "24.200.001", "25.200.001")
        }
    )
    license: LicenseConfig = field(default_factory=LicenseConfig)
    session_idle_timeout_s: float = 600.0
    access_token_lifetime_s: float = 3600.0
    refresh_token_lifetime_s: float = 30 * 24 * 3600.0
    authorization_code_lifetime_s: float = 300.0
    instance_path: str = ""
    error_message_style: ErrorMessageStyle = "detailed"
    logout_rejects_body: bool = True

    @property
    def effective_database_version(self) -> str:
        """``databaseVersion`` as reported by ``GET /entity``."""
        return self.database_version or self.build_version

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> SandboxConfig:
        """Validate ``data`` (as read from YAML/JSON) and build the config.

        Raises :class:`SandboxConfigError` listing every problem at once.
        """
        reader = _Reader()
        config = reader.config(data)
        if reader.problems or config is None:
            raise SandboxConfigError(reader.problems)
        return config


# --------------------------------------------------------------------------- validation

_MISSING: Final = object()


def _key(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


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


class _Reader:
    """Reads a raw mapping into the model, collecting problems instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    # ---- primitives

    def mapping(
        self, value: object, path: str, allowed: Sequence[str]
    ) -> Mapping[str, object] | None:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a mapping of keys to values, not {_type_name(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.problem(path, f"key {key!r} must be a string")
                continue
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                self.problem(_key(path, key), f"unknown key ({hint})")
        return cast(Mapping[str, object], value)

    def get(self, data: Mapping[str, object], key: str, path: str, required: bool) -> object:
        if key in data:
            return data[key]
        if required:
            self.problem(_key(path, key), "is required")
        return _MISSING

    def string(
        self, data: Mapping[str, object], key: str, path: str, default: str | None = None
    ) -> str | None:
        value = self.get(data, key, path, required=default is None)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.problem(
                _key(path, key), f"must be a string, not {_type_name(value)} (quote the value)"
            )
            return default
        if not value.strip():
            self.problem(_key(path, key), "must not be empty")
            return default
        return value

    def boolean(self, data: Mapping[str, object], key: str, path: str, default: bool) -> bool:
        value = self.get(data, key, path, required=False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.problem(_key(path, key), f"must be true or false, not {_type_name(value)}")
            return default
        return value

    def integer(
        self, data: Mapping[str, object], key: str, path: str, default: int, maximum: int
    ) -> int:
        value = self.get(data, key, path, required=False)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(_key(path, key), f"must be a whole number, not {_type_name(value)}")
            return default
        if not 0 <= value <= maximum:
            self.problem(_key(path, key), f"must be between 0 and {maximum}, not {value}")
            return default
        return value

    def seconds(
        self,
        data: Mapping[str, object],
        key: str,
        path: str,
        default: float | None,
        allow_zero: bool = False,
    ) -> float | None:
        value = self.get(data, key, path, required=False)
        if value is _MISSING or (value is None and default is None):
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(_key(path, key), f"must be a number of seconds, not {_type_name(value)}")
            return default
        number = float(value)
        if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
            bound = "zero or more" if allow_zero else "greater than zero"
            self.problem(_key(path, key), f"must be {bound}, not {value}")
            return default
        return number

    def choice(
        self, data: Mapping[str, object], key: str, path: str, choices: Sequence[str], default: str
    ) -> str:
        value = self.get(data, key, path, required=False)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or value not in choices:
            self.problem(_key(path, key), f"must be one of {', '.join(choices)}, not {value!r}")
            return default
        return value

    def strings(
        self, data: Mapping[str, object], key: str, path: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = self.get(data, key, path, required=False)
        if value is _MISSING:
            return default
        if not isinstance(value, list | tuple):
            self.problem(_key(path, key), f"must be a list of strings, not {_type_name(value)}")
            return default
        result: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.problem(
                    f"{_key(path, key)}[{index}]",
                    f"must be a non-empty string, not {_type_name(item)}",
                )
                continue
            result.append(item)
        return tuple(result)

    def items(self, data: Mapping[str, object], key: str, path: str) -> list[tuple[str, object]]:
        value = self.get(data, key, path, required=False)
        if value is _MISSING:
            return []
        if not isinstance(value, list | tuple):
            self.problem(_key(path, key), f"must be a list, not {_type_name(value)}")
            return []
        return [(f"{_key(path, key)}[{i}]", item) for i, item in enumerate(value)]

    # ---- sections

    def config(self, data: object) -> SandboxConfig | None:
        allowed = (
            "build_version",
            "database_version",
            "endpoints",
            "license",
            "session_idle_timeout_s",
            "access_token_lifetime_s",
            "refresh_token_lifetime_s",
            "authorization_code_lifetime_s",
            "instance_path",
            "error_message_style",
            "logout_rejects_body",
            "tenants",
        )
        top = self.mapping(data, "", allowed)
        if top is None:
            return None
        defaults = SandboxConfig(tenants=())
        build_version = self.string(top, "build_version", "", defaults.build_version)
        database_version = None
        if top.get("database_version") is not None:
            database_version = self.string(top, "database_version", "", "")
        endpoints = self.endpoints(top, defaults.endpoints)
        license_config = self.license(top)
        idle = self.seconds(top, "session_idle_timeout_s", "", defaults.session_idle_timeout_s)
        access = self.seconds(top, "access_token_lifetime_s", "", defaults.access_token_lifetime_s)
        refresh = self.seconds(
            top, "refresh_token_lifetime_s", "", defaults.refresh_token_lifetime_s
        )
        code = self.seconds(
            top, "authorization_code_lifetime_s", "", defaults.authorization_code_lifetime_s
        )
        instance_path = self.instance_path(top)
        style = self.choice(top, "error_message_style", "", ERROR_MESSAGE_STYLES, "detailed")
        rejects_body = self.boolean(top, "logout_rejects_body", "", defaults.logout_rejects_body)
        tenants = self.tenants(top)
        return SandboxConfig(
            tenants=tenants,
            build_version=build_version or defaults.build_version,
            database_version=database_version or None,
            endpoints=endpoints,
            license=license_config,
            session_idle_timeout_s=idle or defaults.session_idle_timeout_s,
            access_token_lifetime_s=access or defaults.access_token_lifetime_s,
            refresh_token_lifetime_s=refresh or defaults.refresh_token_lifetime_s,
            authorization_code_lifetime_s=code or defaults.authorization_code_lifetime_s,
            instance_path=instance_path,
            error_message_style=cast(ErrorMessageStyle, style),
            logout_rejects_body=rejects_body,
        )

    def endpoints(
        self, top: Mapping[str, object], default: Mapping[str, tuple[str, ...]]
    ) -> Mapping[str, tuple[str, ...]]:
        value = self.get(top, "endpoints", "", required=False)
        if value is _MISSING:
            return default
        if not isinstance(value, Mapping) or not value:
            self.problem(
                "endpoints",
                "must map endpoint names to lists of versions, "
                'e.g. {Default: ["23.200.001", "24.200.001"]}',
            )
            return default
        result: dict[str, tuple[str, ...]] = {}
        for name, versions in value.items():
            path = f"endpoints.{name}"
            if not isinstance(name, str) or not _ENDPOINT_NAME_RE.match(name):
                self.problem(path, "endpoint names are letters, digits and underscores")
                continue
            if not isinstance(versions, list | tuple) or not versions:
                self.problem(path, 'must be a non-empty list of versions such as "24.200.001"')
                continue
            good: list[str] = []
            for index, version in enumerate(versions):
                if not isinstance(version, str) or not _VERSION_RE.match(version):
                    self.problem(
                        f"{path}[{index}]",
                        f'must be a version string such as "24.200.001" (quoted), not {version!r}',
                    )
                elif version in good:
                    self.problem(f"{path}[{index}]", f"version {version} is listed twice")
                else:
                    good.append(version)
            result[name] = tuple(good)
        if "Default" not in result and "Default" not in value:
            self.problem("endpoints", 'must list the "Default" endpoint\'s versions')
        return result

    def license(self, top: Mapping[str, object]) -> LicenseConfig:
        value = self.get(top, "license", "", required=False)
        default = LicenseConfig()
        if value is _MISSING:
            return default
        allowed = (
            "api_users",
            "requests_per_minute",
            "login_limit_response",
            "retry_after_s",
            "bearer_slot",
        )
        data = self.mapping(value, "license", allowed)
        if data is None:
            return default
        return LicenseConfig(
            api_users=self.integer(data, "api_users", "license", default.api_users, 100_000),
            requests_per_minute=self.integer(
                data, "requests_per_minute", "license", default.requests_per_minute, 10_000_000
            ),
            login_limit_response=cast(
                LoginLimitResponse,
                self.choice(
                    data, "login_limit_response", "license", LOGIN_LIMIT_RESPONSES, "500-json"
                ),
            ),
            retry_after_s=self.seconds(data, "retry_after_s", "license", None, allow_zero=True),
            bearer_slot=cast(
                BearerSlot,
                self.choice(data, "bearer_slot", "license", BEARER_SLOTS, "first_request"),
            ),
        )

    def instance_path(self, top: Mapping[str, object]) -> str:
        value = self.get(top, "instance_path", "", required=False)
        if value is _MISSING or value in ("", "/"):
            return ""
        if not isinstance(value, str) or not _INSTANCE_PATH_RE.match(value.rstrip("/")):
            self.problem(
                "instance_path",
                f'must be "" or a path such as "/AcumaticaERP", not {value!r}',
            )
            return ""
        return value.rstrip("/")

    def tenants(self, top: Mapping[str, object]) -> tuple[TenantConfig, ...]:
        entries = self.items(top, "tenants", "")
        if "tenants" not in top:
            self.problem("tenants", "is required: list at least one tenant")
        elif not entries and isinstance(top.get("tenants"), list | tuple):
            self.problem("tenants", "must list at least one tenant")
        tenants: list[TenantConfig] = []
        seen: dict[str, str] = {}
        client_ids: dict[str, str] = {}
        for path, item in entries:
            tenant = self.tenant(item, path, client_ids)
            if tenant is None:
                continue
            folded = tenant.name.casefold()
            if folded in seen:
                self.problem(f"{path}.name", f"tenant {tenant.name!r} is already {seen[folded]}")
            seen[folded] = f"{path}.name"
            tenants.append(tenant)
        return tuple(tenants)

    def tenant(self, item: object, path: str, client_ids: dict[str, str]) -> TenantConfig | None:
        allowed = ("name", "setup_complete", "branches", "users", "connected_apps", "records")
        data = self.mapping(item, path, allowed)
        if data is None:
            return None
        name = self.string(data, "name", path)
        branches = self.strings(data, "branches", path, ("HQ",))
        if "branches" in data and not branches and isinstance(data["branches"], list | tuple):
            self.problem(f"{path}.branches", "must list at least one branch")
        users: list[UserConfig] = []
        user_names: dict[str, str] = {}
        for user_path, user_item in self.items(data, "users", path):
            user = self.user(user_item, user_path)
            if user is None:
                continue
            folded = user.name.casefold()
            if folded in user_names:
                self.problem(
                    f"{user_path}.name", f"user {user.name!r} is already {user_names[folded]}"
                )
            user_names[folded] = f"{user_path}.name"
            users.append(user)
        apps: list[AppConfig] = []
        for app_path, app_item in self.items(data, "connected_apps", path):
            app = self.app(app_item, app_path, name)
            if app is None:
                continue
            folded = app.client_id.casefold()
            if folded in client_ids:
                self.problem(
                    f"{app_path}.client_id",
                    f"client id {app.client_id!r} is already {client_ids[folded]}",
                )
            client_ids[folded] = f"{app_path}.client_id"
            apps.append(app)
        records = self.records(data, path)
        if name is None:
            return None
        return TenantConfig(
            name=name,
            setup_complete=self.boolean(data, "setup_complete", path, True),
            branches=branches or ("HQ",),
            users=tuple(users),
            connected_apps=tuple(apps),
            records=records,
        )

    def user(self, item: object, path: str) -> UserConfig | None:
        allowed = ("name", "password", "must_change_password", "locked", "denied_entities")
        data = self.mapping(item, path, allowed)
        if data is None:
            return None
        name = self.string(data, "name", path)
        password = self.string(data, "password", path)
        must_change = self.boolean(data, "must_change_password", path, False)
        locked = self.boolean(data, "locked", path, False)
        denied = self.strings(data, "denied_entities", path, ())
        if name is None or password is None:
            return None
        return UserConfig(name, password, must_change, locked, denied)

    def app(self, item: object, path: str, tenant: str | None) -> AppConfig | None:
        allowed = ("client_id", "name", "flow", "secrets", "redirect_uris")
        data = self.mapping(item, path, allowed)
        if data is None:
            return None
        client_id = self.string(data, "client_id", path)
        if client_id is not None:
            match = _CLIENT_ID_RE.match(client_id)
            if match is None:
                self.problem(
                    f"{path}.client_id",
                    f"must look like <GUID>@<tenant>, e.g. "
                    f'"88358B02-A48D-A50E-F710-39C1636C30F6@{tenant or "MyTenant"}"',
                )
                client_id = None
            elif tenant is not None and match["tenant"].casefold() != tenant.casefold():
                self.problem(
                    f"{path}.client_id",
                    f"the part after '@' must be this tenant's name {tenant!r}, "
                    f"not {match['tenant']!r}",
                )
        name = self.string(data, "name", path, "")
        flow = cast(Flow, self.choice(data, "flow", path, FLOWS, "authorization_code"))
        if "flow" not in data:
            self.problem(f"{path}.flow", f"is required: one of {', '.join(FLOWS)}")
        secrets = self.strings(data, "secrets", path, ())
        if flow != "implicit" and not secrets:
            self.problem(f"{path}.secrets", f"a {flow} application needs at least one secret")
        redirect_uris = self.strings(data, "redirect_uris", path, ())
        if flow == "password" and redirect_uris:
            self.problem(
                f"{path}.redirect_uris",
                "a password-flow application has no redirect URIs: remove the key",
            )
        if flow != "password" and not redirect_uris:
            self.problem(
                f"{path}.redirect_uris", f"a {flow} application needs at least one redirect URI"
            )
        for index, uri in enumerate(redirect_uris):
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                self.problem(
                    f"{path}.redirect_uris[{index}]",
                    f"must be an absolute http(s) URI without a fragment, not {uri!r}",
                )
        if client_id is None:
            return None
        return AppConfig(client_id, name or "", flow, secrets, redirect_uris)

    def records(self, data: Mapping[str, object], path: str) -> Mapping[str, int]:
        value = self.get(data, "records", path, required=False)
        result = dict(DEFAULT_RECORDS)
        if value is _MISSING:
            return result
        if not isinstance(value, Mapping):
            self.problem(
                f"{path}.records",
                f"must map entity names to record counts, e.g. {{StockItem: 100}}, "
                f"not {_type_name(value)}",
            )
            return result
        for entity, count in value.items():
            entity_path = f"{path}.records.{entity}"
            if entity not in ENTITY_NAMES:
                self.problem(entity_path, f"unknown entity (known: {', '.join(ENTITY_NAMES)})")
                continue
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                self.problem(entity_path, f"must be a whole number >= 0, not {count!r}")
                continue
            if count > MAX_RECORDS:
                self.problem(entity_path, f"must be at most {MAX_RECORDS}, not {count}")
                continue
            result[entity] = count
        return result
