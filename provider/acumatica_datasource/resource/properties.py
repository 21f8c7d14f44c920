"""Resource properties <-> the spec: the same fields, rules and messages as environment files.

Property names follow the spec, except ``data_source_id`` (the spec's ``id``, which Pulumi
reserves) and ``verification_settings`` (the spec's ``verification``; the ``verification``
output is the report). Unknown values (a preview sends a sentinel for them) are set aside
and never reported as problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.output import Unknown
from pydantic import ValidationError

from acumatica_datasource.spec import (
    DataSource,
    FieldProblem,
    InlineSecretRef,
    SecretReference,
    VaultSettings,
    callback_url,
    secret_subpaths,
)
from acumatica_datasource.spec.connection_string import is_credential_key
from acumatica_datasource.spec.models import SECRET_PATHS
from acumatica_datasource.spec.problems import Loc, format_path, problems_from_errors
from acumatica_datasource.spec.references import INLINE_CONTEXT
from acumatica_datasource.spec.urls import UrlProblem, normalize_callback_base, slugify

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The value the engine sends for inputs not known until apply (``pulumi.runtime.UNKNOWN``).

The dynamic-provider server deserializes it into ``pulumi.output.Unknown`` objects before
``check`` and ``diff`` see the properties; either form counts as unknown (see
:func:`is_unknown`), and this string is what the provider returns for unknown values."""


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is an unknown: an ``Unknown`` object or the sentinel string."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


RENAMED = {"data_source_id": "id", "verification_settings": "verification"}
"""Property name -> spec field name, where they differ."""
SPEC_TO_PROPERTY = {spec: prop for prop, spec in RENAMED.items()}

SPEC_PROPERTIES = (
    "description",
    "data_source_id",
    "type",
    "url",
    "company",
    "page_size",
    "operation_timeout",
    "allow_insecure_tls",
    "extra_connection_properties",
    "authentication",
    "verification_settings",
    "expose_connection_string",
)
RESOURCE_PROPERTIES = ("callback_base_url", "vault")
INPUT_PROPERTIES = SPEC_PROPERTIES + RESOURCE_PROPERTIES
"""Every input property of the resource."""

PLAIN_PROPERTIES = frozenset(
    {
        "description",
        "data_source_id",
        "type",
        "company",
        "page_size",
        "operation_timeout",
        "allow_insecure_tls",
        "expose_connection_string",
    }
)
"""Top-level inputs whose value can never hold a credential.

The engine prints a check failure as "property X value {V} has a problem", where V is the
top-level input named X (only Pulumi secrets are redacted). A URL with ``user:password@``,
a ``Password=`` in ``extra_connection_properties`` or a literal secret in a mapping must not
be printed that way, so :func:`failure_property` names a property only for these."""


@dataclass
class Checked:
    """The outcome of checking properties."""

    source: DataSource | None
    problems: list[FieldProblem]
    unknown: list[Loc] = field(default_factory=list)
    callback_base_url: str | None = None
    vault: VaultSettings | None = None

    @property
    def complete(self) -> bool:
        """Valid, with every value known."""
        return self.source is not None and not self.problems and not self.unknown


def check_properties(props: Mapping[str, Any], *, default_mode: str | None = None) -> Checked:
    """Validate resource properties with the spec's rules; unknown values are skipped."""
    unknown: list[Loc] = []
    document: dict[str, Any] = {}
    for name in SPEC_PROPERTIES:
        value = _clean(props.get(name), (name,), unknown)
        if value is not None:
            document[RENAMED.get(name, name)] = value
    if default_mode is not None:
        settings = document.setdefault("verification", {})
        if (
            isinstance(settings, dict)
            and "mode" not in settings
            and (("verification_settings", "mode") not in unknown)
        ):
            settings["mode"] = default_mode
    problems: list[FieldProblem] = []
    source: DataSource | None = None
    try:
        source = DataSource.model_validate(document, context=INLINE_CONTEXT)
    except ValidationError as exc:
        problems = [_rename(p) for p in problems_from_errors(DataSource, exc.errors())]
    result = Checked(None, [], unknown)
    base = _clean(props.get("callback_base_url"), ("callback_base_url",), unknown)
    if base is not None:
        if not isinstance(base, str):
            problems.append(FieldProblem(("callback_base_url",), "must be text"))
        else:
            try:
                result.callback_base_url = normalize_callback_base(base)
            except UrlProblem as exc:
                problems.append(FieldProblem(("callback_base_url",), str(exc)))
    strategy = _strategy(props)
    if strategy == "oauth2" and base is None and ("callback_base_url",) not in unknown:
        problems.append(
            FieldProblem(
                ("callback_base_url",),
                "required because authentication.strategy is oauth2: set the BI server's "
                "public https URL",
            )
        )
    vault = _clean(props.get("vault"), ("vault",), unknown)
    if vault is not None:
        try:
            result.vault = VaultSettings.model_validate(vault)
        except ValidationError as exc:
            problems += [
                FieldProblem(("vault", *p.loc), p.message)
                for p in problems_from_errors(VaultSettings, exc.errors())
            ]
    result.problems = [p for p in problems if not _under_unknown(p.loc, unknown)]
    result.source = None if result.problems else source
    return result


def normalized_properties(checked: Checked, props: Mapping[str, Any]) -> dict[str, Any]:
    """The checked inputs: the normalised spec fields (defaults filled in), the callback URL,
    and Pulumi secret values kept where they were (the engine keeps them secret there)."""
    source = checked.source
    assert source is not None
    dumped = source.model_dump(mode="json", exclude_none=True)
    result: dict[str, Any] = {
        SPEC_TO_PROPERTY.get(key, key): value for key, value in dumped.items()
    }
    for path, reference in secret_references(source).items():
        if isinstance(reference, InlineSecretRef):
            put(result, path, lookup(props, path))
    if checked.callback_base_url is not None:
        result["callback_base_url"] = checked.callback_base_url
    if checked.vault is not None:
        result["vault"] = checked.vault.model_dump(mode="json", exclude_none=True)
    result["callback_url"] = data_source_callback_url(source, checked.callback_base_url)
    return result


def data_source_callback_url(source: DataSource, base: str | None) -> str | None:
    """The OAuth callback URL, or None for Basic data sources."""
    if source.authentication.strategy != "oauth2" or base is None:
        return None
    return callback_url(base, source.data_source_id)


def secret_references(source: DataSource) -> dict[tuple[str, ...], SecretReference]:
    """Every secret field of a data source that is set: property path -> reference."""
    return {
        (SPEC_TO_PROPERTY.get(path[0], path[0]), *path[1:]): reference
        for path, reference in source.secret_references().items()
    }


SECRET_PROPERTY_PATHS: tuple[tuple[str, ...], ...] = tuple(
    (SPEC_TO_PROPERTY.get(path[0], path[0]), *path[1:]) for path in SECRET_PATHS
)
"""The secret fields (``SECRET_PATHS``) as property paths."""


def secret_paths_in(property_name: str) -> tuple[tuple[str, ...], ...]:
    """The secret fields inside one input property, relative to it (see ``SECRET_PATHS``)."""
    return secret_subpaths(RENAMED.get(property_name, property_name))


def is_secret_path(path: tuple[str, ...]) -> bool:
    """Whether ``path`` (property, then keys) is a secret field: one of ``SECRET_PATHS``, or a
    credential among the extra connection properties (``("extra_connection_properties",
    "ProxyPassword")``)."""
    if len(path) == 2 and path[0] == "extra_connection_properties":
        return is_credential_key(path[1])
    return len(path) > 1 and path[1:] in secret_paths_in(path[0])


def lookup(tree: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested mappings, or None."""
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return None
        tree = tree[part]
    return tree


def put(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set the value at ``path`` in nested dicts that exist."""
    for part in path[:-1]:
        child = tree.get(part)
        if not isinstance(child, dict):
            return
        tree = child
    tree[path[-1]] = value


def preview_properties(checked: Checked, props: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs that are valid but not all known yet (a preview): as given, with the id and
    the callback URL computed when what they derive from is known, unknown otherwise."""
    result = dict(props)
    explicit = props.get("data_source_id")
    description = props.get("description")
    if isinstance(explicit, str) and not is_unknown(explicit):
        identity = explicit
    elif explicit is None and isinstance(description, str) and not is_unknown(description):
        identity = slugify(description.strip())
    else:
        identity = UNKNOWN
    result["data_source_id"] = identity
    auth = props.get("authentication")
    strategy = auth.get("strategy") if isinstance(auth, Mapping) else UNKNOWN
    if strategy == "basic":
        result["callback_url"] = None
    elif strategy == "oauth2" and identity != UNKNOWN and checked.callback_base_url is not None:
        result["callback_url"] = callback_url(checked.callback_base_url, identity)
    else:
        result["callback_url"] = UNKNOWN
    if checked.callback_base_url is not None:
        result["callback_base_url"] = checked.callback_base_url
    return result


def failure_property(loc: Loc) -> str:
    """The ``property`` of a check failure at ``loc``: the top-level input when its value is
    safe to print (see :data:`PLAIN_PROPERTIES`), else empty (the reason names the path)."""
    if len(loc) == 1 and loc[0] in PLAIN_PROPERTIES:
        return str(loc[0])
    return ""


def property_path(loc: Loc) -> str:
    """A problem location as a property path (``authentication.password``)."""
    return format_path(loc)


def _strategy(props: Mapping[str, Any]) -> Any:
    auth = props.get("authentication")
    return auth.get("strategy") if isinstance(auth, Mapping) else None


def _rename(problem: FieldProblem) -> FieldProblem:
    if problem.loc and problem.loc[0] in SPEC_TO_PROPERTY:
        return FieldProblem(
            (SPEC_TO_PROPERTY[str(problem.loc[0])], *problem.loc[1:]), problem.message
        )
    return problem


def _under_unknown(loc: Loc, unknown: list[Loc]) -> bool:
    return any(loc[: len(u)] == u or u[: len(loc)] == loc for u in unknown)


def _clean(value: Any, loc: Loc, unknown: list[Loc]) -> Any:
    """Drop unknowns (recording where), Nones and the engine's float-for-int numbers."""
    if is_unknown(value):
        unknown.append(loc)
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            kept = _clean(item, (*loc, str(key)), unknown)
            if kept is not None:
                cleaned[str(key)] = kept
        return cleaned
    if isinstance(value, list | tuple):
        items = [_clean(item, (*loc, index), unknown) for index, item in enumerate(value)]
        return [item for item in items if item is not None]
    return value
