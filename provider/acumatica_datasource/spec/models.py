"""Models of an Acumatica data source and of an environment file, with every rule."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from acumatica_datasource import redaction
from acumatica_datasource.spec import connection_string, urls
from acumatica_datasource.spec.base import (
    TEXT_MESSAGE,
    TEXT_PATTERN,
    Loc,
    SpecModel,
    rule_errors,
)
from acumatica_datasource.spec.references import (
    EnvSecretRef,
    SecretRef,
    SecretReference,
    VaultSecretRef,
)
from acumatica_datasource.spec.secret_fields import SecretPath, secret_paths, value_at
from acumatica_datasource.spec.vault import VaultSettings

Scope = Literal[
    "api", "offline_access", "api:concurrent_access", "openid", "email", "profile", "phone"
]
SCOPES: tuple[Scope, ...] = get_args(Scope)
DEFAULT_SCOPE: tuple[Scope, ...] = ("api", "offline_access")
CLIENT_ID_PATTERN = (
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}@[^@\s]+$"
)
ENTITY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
ENDPOINT_VERSION_PATTERN = re.compile(r"^\d+\.\d+\.\d+$")


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _text(value: str) -> str:
    """Trim; refuse empty text and control or format characters (also beyond the BMP, which
    the pattern does not cover)."""
    value = value.strip()
    if not value:
        raise _error("empty", "must not be empty")
    unsafe = redaction.first_unsafe(value)
    if unsafe is not None:
        raise _error("control_characters", f"{TEXT_MESSAGE}; found {unsafe}")
    return value


Text = Annotated[
    str,
    Field(pattern=TEXT_PATTERN),
    AfterValidator(_text),
]
"""Non-empty trimmed text without control characters."""


def _site_url(value: str) -> str:
    try:
        return urls.normalize_site_url(value)
    except urls.UrlProblem as exc:
        raise _error("url", str(exc)) from None


def _callback_base(value: str) -> str:
    try:
        return urls.normalize_callback_base(value)
    except urls.UrlProblem as exc:
        raise _error("url", str(exc)) from None


SiteUrl = Annotated[
    str,
    Field(pattern=urls.HTTPS_OR_LOOPBACK_PATTERN),
    AfterValidator(_site_url),
]
CallbackBaseUrl = Annotated[
    str, Field(pattern=r"^[Hh][Tt][Tt][Pp][Ss]://\S+$"), AfterValidator(_callback_base)
]


def _scope(value: Any) -> Any:
    if isinstance(value, str):
        return value.split()
    return value


def _scope_rules(value: list[str]) -> list[str]:
    unique = list(dict.fromkeys(value))
    if "api" not in unique:
        raise _error("scope_api", "must include 'api': without it the REST API refuses the token")
    return unique


_SCOPE_WORD = "(" + "|".join(SCOPES) + ")"
_SCOPE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "array",
            "items": {"enum": list(SCOPES)},
            "minItems": 1,
            "contains": {"const": "api"},
        },
        {
            "type": "string",
            "pattern": rf"^(?=(.*\s)?api(\s.*)?$)\s*{_SCOPE_WORD}(\s+{_SCOPE_WORD})*\s*$",
        },
    ],
    "default": list(DEFAULT_SCOPE),
}


class BasicAuthentication(SpecModel):
    """Session login with an Acumatica user name and password."""

    strategy: Literal["basic"]
    username: Text
    password: SecretRef


class OAuth2Authentication(SpecModel):
    """An OAuth 2.0 connected application (Authorization Code flow)."""

    strategy: Literal["oauth2"]
    client_id: Annotated[str, Field(pattern=CLIENT_ID_PATTERN)]
    """``<GUID>@<tenant>`` as shown in Acumatica's Connected Applications form."""
    client_secret: SecretRef
    scope: Annotated[
        list[Scope],
        BeforeValidator(_scope),
        Field(min_length=1),
        AfterValidator(_scope_rules),
        WithJsonSchema(_SCOPE_SCHEMA),
    ] = Field(default_factory=lambda: list(DEFAULT_SCOPE))
    """Scopes as a list or a space-separated string; must include ``api``."""

    @property
    def tenant(self) -> str:
        """The tenant named after the ``@`` of the client id."""
        return self.client_id.split("@", 1)[1]


Authentication = Annotated[
    BasicAuthentication | OAuth2Authentication, Field(discriminator="strategy")
]


class VerificationLogin(SpecModel):
    """A user for the OAuth data probe (Resource Owner Password grant)."""

    username: Text
    password: SecretRef
    client_id: Annotated[str, Field(pattern=CLIENT_ID_PATTERN)] | None = None
    """A password-flow application; the data source's own application when absent."""
    client_secret: SecretRef | None = None

    @model_validator(mode="after")
    def _pair(self) -> VerificationLogin:
        if (self.client_id is None) != (self.client_secret is None):
            missing = "client_secret" if self.client_secret is None else "client_id"
            raise _at(
                (missing,),
                "client_id and client_secret of the password-flow application go together",
                None,
            )
        return self


class Verification(SpecModel):
    """How a data source is verified before it is recorded."""

    mode: Literal["strict", "warn", "off"] = "strict"
    """strict: a failed check fails the deployment; warn: it is recorded with a warning."""
    entity: Annotated[str, Field(pattern=ENTITY_PATTERN)] = "UnitsOfMeasure"
    """The entity read by the paged test request."""
    login: VerificationLogin | None = None
    refresh_token: SecretRef | None = None

    @model_validator(mode="after")
    def _alternatives(self) -> Verification:
        if self.login is not None and self.refresh_token is not None:
            raise _at(("refresh_token",), "give either login or refresh_token, not both", None)
        if self.refresh_token is not None and not isinstance(self.refresh_token, VaultSecretRef):
            raise _at(
                ("refresh_token",),
                "must be a Vault reference: each refresh rotates the token and the new one "
                "is written back to Vault",
                None,
            )
        return self


def _properties(value: Any, info: ValidationInfo) -> Any:
    """Accept ``"k=v;..."`` or a mapping; return an ordered dict of text values and, for
    credential keys, secret references. Both forms go through the same rules, and every
    problem is reported (under the key, in the mapping form)."""
    pairs: list[tuple[str, Any, Loc]]
    if isinstance(value, str):
        try:
            pairs = [(key, item, ()) for key, item in connection_string.parse(value)]
        except connection_string.PropertySyntaxError as exc:
            raise _error("properties_syntax", str(exc)) from None
    elif isinstance(value, dict):
        pairs = [(str(key).strip(), item, (str(key),)) for key, item in value.items()]
    else:
        return value
    allow_insecure = bool((info.data or {}).get("allow_insecure_tls"))
    result: dict[str, Any] = {}
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, str] = {}
    for key, item, loc in pairs:
        problem = _property_problem(key, item, seen, allow_insecure=allow_insecure)
        if problem is not None:
            problems.append((loc, problem))
            continue
        seen[key.lower()] = key
        result[key] = item if isinstance(item, dict) else _scalar_text(item)
    if problems:
        raise rule_errors(problems)
    return result


def _property_problem(
    key: str, item: Any, seen: dict[str, str], *, allow_insecure: bool
) -> str | None:
    """What is wrong with one property, if anything (never quoting a value that may be a
    credential)."""
    lowered = key.lower()
    if not connection_string.valid_key(key):
        return f"the key {key!r} must be non-empty, without '=', ';', quotes or control characters"
    if lowered in connection_string.MANAGED_KEYS:
        return (
            f"{key} is managed by the data source: set "
            f"{connection_string.MANAGED_KEYS[lowered]} instead"
        )
    if lowered in seen:
        return f"{key} is given twice (also as {seen[lowered]})"
    if connection_string.is_credential_key(key):
        if not isinstance(item, dict):
            return (
                f"{key} holds a credential: give a secret reference, never the value, in the "
                f"mapping form: {key}: {{vault: {{path: <path>, key: <key>}}}} or "
                f"{{env: <VARIABLE>}}"
            )
        return None
    if isinstance(item, bool) or not isinstance(item, str | int | float):
        return f"the value of {key} must be text or a number"
    text = _scalar_text(item)
    if lowered == "endpointversion" and not ENDPOINT_VERSION_PATTERN.match(text):
        return "EndpointVersion must look like 24.200.001"
    if connection_string.disables_certificate_checks(key, text) and not allow_insecure:
        return (
            f"{key} switches off the checks of the site's TLS certificate ({key}={text.strip()}):"
            " remove it, or accept the risk with allow_insecure_tls: true on the data source "
            "(a warning is then given on every run)"
        )
    return None


def _scalar_text(value: str | int | float) -> str:
    return value if isinstance(value, str) else repr(value)


def _property_kind(value: Any) -> str:
    if isinstance(value, dict | VaultSecretRef | EnvSecretRef):
        return "env" if (isinstance(value, EnvSecretRef) or "env" in value) else "vault"
    return "text"


PropertyValue = Annotated[
    Annotated[str, Tag("text")]
    | Annotated[VaultSecretRef, Tag("vault")]
    | Annotated[EnvSecretRef, Tag("env")],
    Discriminator(_property_kind),
]
"""A property's value: text, or a secret reference (credential keys only)."""


PageSize = Annotated[int, Field(ge=1, le=1_000_000)]
OperationTimeout = Annotated[float, Field(gt=0, le=3600)]

SECRET_REFERENCE_SCHEMA = {"x-secret-reference": True}
"""Stands for the schema of a secret reference; :func:`.schema.json_schema` puts it in."""
_MANAGED_KEYS_PATTERN = (
    r"^\s*("
    + "|".join("".join(f"[{c.upper()}{c}]" for c in key) for key in connection_string.MANAGED_KEYS)
    + r")\s*$"
)
ConnectionProperties = Annotated[
    dict[str, PropertyValue],
    BeforeValidator(_properties),
    WithJsonSchema(
        {
            "description": "Extra connection-string properties: 'Key=value;...' or a mapping. "
            "Keys owned by data-source fields (URL, Company, User, ...) are refused; keys that "
            "carry credentials (Password, Secret, Token, ApiKey, PrivateKey in the name) take "
            "only secret references, in the mapping form.",
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "propertyNames": {
                        "pattern": connection_string.KEY_PATTERN,
                        "not": {"pattern": _MANAGED_KEYS_PATTERN},
                    },
                    "patternProperties": {
                        connection_string.CREDENTIAL_KEY_PATTERN: SECRET_REFERENCE_SCHEMA
                    },
                    "additionalProperties": {"type": ["string", "number"]},
                },
            ],
        }
    ),
]


class DataSource(SpecModel):
    """One Acumatica data source of a BI server."""

    description: Text
    """Unique name of the data source within an environment (case-insensitive)."""
    id: Annotated[str, Field(pattern=urls.ID_PATTERN)] | None = None
    """Stable identifier; a slug of the description when absent."""
    type: Literal["Acumatica"] = "Acumatica"
    url: SiteUrl
    """Base URL of the Acumatica site, e.g. https://acme.acumatica.com or .../AcumaticaERP."""
    company: Text
    """The Acumatica company (tenant login name)."""
    page_size: PageSize = 10000
    """Records per request."""
    operation_timeout: OperationTimeout = 60
    """Seconds allowed per request."""
    allow_insecure_tls: bool = False
    """Accept extra connection properties that switch off the BI server's checks of the site's
    TLS certificate (``SSLServerCert=*``); a warning is given on every run. (Verification
    itself always checks the certificate.)"""
    extra_connection_properties: ConnectionProperties = Field(default_factory=dict)
    authentication: Authentication
    verification: Verification = Field(default_factory=Verification)
    expose_connection_string: bool = False
    """Also output the connection string with resolved secrets (as a Pulumi secret)."""
    previous_ids: list[Annotated[str, Field(pattern=urls.ID_PATTERN)]] = Field(default_factory=list)
    """Ids the data source had before, e.g. the slug of its old description: the deployment
    keeps the recorded data source under its new id (Pulumi aliases) and shows the change of
    id and callback URL as a replacement. To keep the callback URL, set ``id`` to the old id."""

    @model_validator(mode="after")
    def _cross_field(self) -> DataSource:
        if self.id is None:
            self.id = urls.slugify(self.description)
        auth = self.authentication
        problems: list[tuple[tuple[str | int, ...], str]] = []
        listed: set[str] = set()
        for index, previous in enumerate(self.previous_ids):
            if previous == self.id:
                problems.append((("previous_ids", index), "is the data source's current id"))
            elif previous in listed:
                problems.append((("previous_ids", index), f"'{previous}' is listed twice"))
            listed.add(previous)
        if isinstance(auth, OAuth2Authentication) and auth.tenant.lower() != self.company.lower():
            problems.append(
                (
                    ("authentication", "client_id"),
                    f"the tenant after '@' ({auth.tenant}) must be the company ({self.company})",
                )
            )
        login = self.verification.login
        if isinstance(auth, BasicAuthentication):
            for name in ("login", "refresh_token"):
                if getattr(self.verification, name) is not None:
                    problems.append(
                        (("verification", name), "applies only to the oauth2 strategy: remove it")
                    )
        elif login is not None and login.client_id is not None:
            tenant = login.client_id.split("@", 1)[1]
            if tenant.lower() != self.company.lower():
                problems.append(
                    (
                        ("verification", "login", "client_id"),
                        f"the tenant after '@' ({tenant}) must be the company ({self.company})",
                    )
                )
        if problems:
            raise rule_errors(problems)
        return self

    @property
    def data_source_id(self) -> str:
        """The stable id (explicit, or derived from the description)."""
        return self.id or urls.slugify(self.description)

    @property
    def endpoint_version(self) -> str | None:
        """``EndpointVersion`` from the extra properties, when set."""
        return self.text_property("EndpointVersion")

    def text_property(self, name: str) -> str | None:
        """An extra property's text value by name (any case), when set."""
        for key, value in self.extra_connection_properties.items():
            if key.lower() == name.lower() and isinstance(value, str):
                return value
        return None

    def insecure_properties(self) -> list[str]:
        """``key=value`` of every extra property that switches off certificate checks."""
        return [
            f"{key}={value.strip()}"
            for key, value in self.extra_connection_properties.items()
            if isinstance(value, str) and connection_string.disables_certificate_checks(key, value)
        ]

    def secret_references(self) -> dict[SecretPath, SecretReference]:
        """Every secret that is set, in field order: path -> reference. The fields of
        :data:`SECRET_PATHS`, then the credentials among the extra connection properties
        (``("extra_connection_properties", "ProxyPassword")``), whose keys the file names."""
        found = {path: value_at(self, path) for path in secret_paths(type(self))}
        for key, value in self.extra_connection_properties.items():
            if not isinstance(value, str):
                found[("extra_connection_properties", key)] = value
        return {path: reference for path, reference in found.items() if reference is not None}


SECRET_PATHS: tuple[SecretPath, ...] = secret_paths(DataSource)
"""Every secret field of a data source (``("authentication", "password")``, ...): the one
list, derived from the ``SecretRef`` fields of the models."""


def secret_subpaths(field: str) -> tuple[SecretPath, ...]:
    """The secret paths inside one top-level field, relative to it
    (``secret_subpaths("verification")`` -> ``(("login", "password"), ...)``)."""
    return tuple(path[1:] for path in SECRET_PATHS if path[0] == field and len(path) > 1)


class DataSourceDefaults(SpecModel):
    """Fields merged under every data source of an environment (the data source wins)."""

    type: Literal["Acumatica"] | None = None
    url: SiteUrl | None = None
    company: Text | None = None
    page_size: PageSize | None = None
    operation_timeout: OperationTimeout | None = None
    allow_insecure_tls: bool | None = None
    extra_connection_properties: ConnectionProperties | None = None
    authentication: Authentication | None = None
    verification: Verification | None = None
    expose_connection_string: bool | None = None


DEFAULT_PROJECT = "acumatica-datasources"
"""The Pulumi project of an environment file that names none."""


def _project(value: str) -> str:
    if not value.strip("."):
        raise _error("project_dots", "must not be made of periods only (it names a directory)")
    return value


ProjectName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_.-]+$",
        max_length=100,
        json_schema_extra={"not": {"pattern": r"^\.+$"}},
    ),
    AfterValidator(_project),
]
"""A Pulumi project name (Pulumi's rule: letters, digits, ``-``, ``_``, ``.``; at most 100)."""


class Environment(SpecModel):
    """An environment file: the data sources of one stage (dev, test, prod...).

    Build it with :func:`acumatica_datasource.spec.validate_file` (or ``load_environment``),
    which also reads the bases it ``extends``, merges ``defaults`` and applies
    :func:`environment_rules`.
    """

    environment: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=63)]
    """Names the stage and the Pulumi stack. Never inherited from a base file."""
    project: ProjectName = DEFAULT_PROJECT
    """The Pulumi project of the stack: environment files of different BI servers that share
    one state backend need different projects (stacks are named after the environment)."""
    extends: Annotated[str, Field(min_length=1)] | None = None
    """A base environment file, as a path relative to this file: its data sources, defaults
    and settings are merged under this file's (see the README's merge rules)."""
    callback_base_url: CallbackBaseUrl | None = None
    """The BI server's public https URL; required when any data source uses oauth2."""
    vault: VaultSettings | None = None
    defaults: DataSourceDefaults | None = None
    data_sources: list[DataSource] = Field(default_factory=list)

    def callback_url(self, source: DataSource) -> str | None:
        """The OAuth callback URL of one of this environment's data sources."""
        if not isinstance(source.authentication, OAuth2Authentication):
            return None
        if self.callback_base_url is None:  # pragma: no cover - excluded by validation
            return None
        return urls.callback_url(self.callback_base_url, source.data_source_id)


def environment_rules(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Rules across data sources, on raw or validated data: uniqueness and callback base."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(data, dict):
        return problems
    sources = data.get("data_sources")
    if not isinstance(sources, list):
        return problems
    descriptions: dict[str, int] = {}
    ids: dict[str, int] = {}
    first_oauth: int | None = None
    for index, source in enumerate(sources):
        if not isinstance(source, dict):
            continue
        auth = source.get("authentication")
        if first_oauth is None and isinstance(auth, dict) and auth.get("strategy") == "oauth2":
            first_oauth = index
        description = source.get("description")
        if isinstance(description, str) and description.strip():
            folded = description.strip().casefold()
            if folded in descriptions:
                problems.append(
                    (
                        ("data_sources", index, "description"),
                        f"duplicates data_sources[{descriptions[folded]}].description "
                        "(descriptions are unique ignoring case)",
                    )
                )
                continue
            descriptions[folded] = index
            source_id = source.get("id")
            explicit = isinstance(source_id, str)
            if not explicit:
                source_id = urls.slugify(description.strip())
            if isinstance(source_id, str):
                if source_id in ids:
                    hint = "" if explicit else " (derived from the description): set a distinct id"
                    problems.append(
                        (
                            ("data_sources", index, "id" if explicit else "description"),
                            f"id '{source_id}' is already used by data_sources[{ids[source_id]}]"
                            + hint,
                        )
                    )
                else:
                    ids[source_id] = index
    login_variables = _vault_login_variables(data.get("vault"))
    for index, source in enumerate(sources):
        for loc, name in _env_references(source, ("data_sources", index)):
            if name in login_variables:
                problems.append(
                    (
                        (*loc, "env"),
                        f"{name} is read by vault.auth to log in to Vault: a secret reference "
                        "may not send it to a site",
                    )
                )
    problems += _previous_id_rules(sources, ids)
    if first_oauth is not None and not data.get("callback_base_url"):
        problems.append(
            (
                ("callback_base_url",),
                f"required because data_sources[{first_oauth}] uses oauth2: set the BI "
                "server's public https URL",
            )
        )
    return problems


def _vault_login_variables(vault: Any) -> set[str]:
    """The environment variables ``vault.auth`` reads credentials from (raw data)."""
    auth = vault.get("auth") if isinstance(vault, dict) else None
    if not isinstance(auth, dict):
        return set()
    sources = [auth.get(key) for key in ("token", "role_id", "secret_id")]
    return {s["env"] for s in sources if isinstance(s, dict) and isinstance(s.get("env"), str)}


def _env_references(node: Any, loc: Loc) -> list[tuple[Loc, str]]:
    """``(location, NAME)`` of every ``{env: NAME}`` under ``node`` (raw data)."""
    found: list[tuple[Loc, str]] = []
    if isinstance(node, dict):
        if isinstance(node.get("env"), str) and len(node) == 1:
            found.append((loc, node["env"]))
        for key, value in node.items():
            found += _env_references(value, (*loc, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _env_references(value, (*loc, index))
    return found


def _previous_id_rules(
    sources: list[Any], ids: dict[str, int]
) -> list[tuple[tuple[str | int, ...], str]]:
    """A previous id is nobody's current id and belongs to one data source only."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    owners: dict[str, int] = {}
    for index, source in enumerate(sources):
        previous = source.get("previous_ids") if isinstance(source, dict) else None
        if not isinstance(previous, list):
            continue
        for position, old in enumerate(previous):
            if not isinstance(old, str):
                continue
            loc: tuple[str | int, ...] = ("data_sources", index, "previous_ids", position)
            if ids.get(old, index) != index:
                problems.append((loc, f"'{old}' is the id of data_sources[{ids[old]}]"))
            elif owners.get(old, index) != index:
                problems.append(
                    (loc, f"'{old}' is also a previous id of data_sources[{owners[old]}]")
                )
            owners.setdefault(old, index)
    return problems


def _at(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    return rule_errors([(loc, message)], value)
