"""The one implementation of a data source's lifecycle: check, diff, create, read, update,
delete, over the spec, secrets and verify layers.

Two thin adapters put it in front of the engine: the dynamic provider
(:mod:`.provider`, for Python programs) and the provider plugin (:mod:`.plugin`, for every
other language). Both speak to it in *resource properties*: plain Python values under the
snake_case names of :mod:`.properties`, secret values unwrapped, unknown values as
:data:`~.properties.UNKNOWN`. Failures raise :class:`DataSourceError`, whose message is what
the user sees; warnings go to the ``warn`` callback of the call.

A :class:`DataSourceLifecycle` lives as long as the provider process: one per provider. It
holds the provider-wide settings and one secret resolver per Vault setting, so a command logs
in to Vault once and reads each secret once. A diff asks Vault afresh for the versions it
compares (forgetting what the resolver remembered of that secret), so a rotation is never
hidden. :meth:`DataSourceLifecycle.close` forgets every secret and token.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.resource import outputs as out
from acumatica_datasource.resource.properties import (
    INPUT_PROPERTIES,
    SECRET_PROPERTY_PATHS,
    UNKNOWN,
    Checked,
    check_properties,
    data_source_callback_url,
    is_unknown,
    lookup,
    normalized_properties,
    preview_properties,
    property_path,
    put,
    secret_paths_in,
    secret_references,
)
from acumatica_datasource.resource.settings import ProviderSettings
from acumatica_datasource.spec import (
    InlineSecretRef,
    VaultSecretRef,
    render_connection_string,
    rendered_secrets,
)

if TYPE_CHECKING:  # the secrets and verify layers are imported by the steps that use them
    from acumatica_datasource.secrets import SecretResolver
    from acumatica_datasource.spec import DataSource, FieldProblem, SecretPath, VaultSettings
    from acumatica_datasource.verify import Report

Warn = Callable[[str], None]
DiffKind = Literal["add", "delete", "update"]
PropertyPath = tuple[str, ...]

DIFFED_PROPERTIES = (*INPUT_PROPERTIES, "callback_url")
"""What a diff compares: every input, and the callback URL derived from them."""
REPLACING_PROPERTIES = frozenset({"data_source_id"})
"""A change of these replaces the resource (the id is the data source's identity)."""
UNORDERED_PATHS = frozenset({("authentication", "scope")})
"""Lists whose order carries no meaning."""


class DataSourceError(AcumaticaDataSourceError):
    """A data source cannot be created, updated or read; the message says why and what to do."""


# Shown by the dynamic-provider server as "DataSourceError: ..." rather than with the module.
DataSourceError.__module__ = "builtins"


def fail(message: str) -> NoReturn:
    """Raise :class:`DataSourceError` without the exception being handled ("from None": an
    exception being handled would otherwise be printed before this one)."""
    raise DataSourceError(message) from None


def warn_on_stderr(message: str) -> None:
    """A warning in the engine's output: it shows what a provider prints on stderr."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


class SecretResolvers:
    """One :class:`SecretResolver` per Vault setting, shared by the operations the engine
    runs in parallel; :meth:`close` closes them all (they forget secrets and tokens)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._resolvers: dict[str, SecretResolver] = {}
        self._lock = threading.Lock()

    def get(self, vault: VaultSettings | None) -> SecretResolver:
        """The resolver for ``vault`` (the environment's settings when None)."""
        from acumatica_datasource.secrets import SecretResolver

        key = json.dumps(vault.model_dump(mode="json") if vault else None, sort_keys=True)
        with self._lock:
            resolver = self._resolvers.get(key)
            if resolver is None:
                resolver = self._resolvers[key] = SecretResolver(vault, environ=self._environ)
            return resolver

    def close(self) -> None:
        """Close every resolver; a later :meth:`get` starts afresh."""
        with self._lock:
            resolvers, self._resolvers = list(self._resolvers.values()), {}
        for resolver in resolvers:
            resolver.close()


@dataclass(frozen=True)
class CheckOutcome:
    """What ``check`` found: the inputs to record (normalised), or the problems."""

    inputs: dict[str, Any]
    problems: list[FieldProblem] = field(default_factory=list)


@dataclass(frozen=True)
class PropertyChange:
    """One changed property, at the deepest path where old and new differ."""

    path: PropertyPath
    kind: DiffKind
    replace: bool
    input: bool
    """Whether the change is of an input (compare old inputs) or a derived output."""


@dataclass(frozen=True)
class DiffOutcome:
    """What ``diff`` found: every changed property; an empty tuple means no change."""

    changes: tuple[PropertyChange, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether anything changed."""
        return bool(self.changes)

    @property
    def replaces(self) -> list[str]:
        """The top-level properties whose change replaces the resource."""
        return list(dict.fromkeys(c.path[0] for c in self.changes if c.replace))

    @property
    def properties(self) -> list[str]:
        """The top-level properties that changed."""
        return list(dict.fromkeys(c.path[0] for c in self.changes))


class DataSourceLifecycle:
    """Reconciles data sources; every step is safe to repeat.

    ``settings`` are the provider-wide settings (from ``configure``); the secret resolvers
    read the environment and the Vault credentials of the settings.
    """

    def __init__(self, settings: ProviderSettings | None = None) -> None:
        self.settings = settings or ProviderSettings()
        credentials = self.settings.credentials
        self._resolvers = SecretResolvers({**os.environ, **credentials} if credentials else None)

    def close(self) -> None:
        """Forget every secret and Vault token this lifecycle holds."""
        self._resolvers.close()

    # --- check and diff: offline ------------------------------------------------------------

    def check(self, news: Mapping[str, Any]) -> CheckOutcome:
        """Validate offline with the spec's rules. Valid, the inputs come back normalised
        with the callback URL; with unknown values (a preview), as given with the id and
        callback URL when they can be computed; invalid, as given with the problems."""
        checked = check_properties(news, default_mode=self.settings.default_mode)
        if checked.problems:
            return CheckOutcome(dict(news), checked.problems)
        if not checked.complete:
            return CheckOutcome(preview_properties(checked, news))
        return CheckOutcome(normalized_properties(checked, news))

    def diff(
        self,
        id_: str,
        recorded: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        warn: Warn = warn_on_stderr,
    ) -> DiffOutcome:
        """Which properties changed between the recorded outputs and the checked new inputs;
        when none did, whether a Vault secret was rotated since it was read (asks Vault)."""
        olds = self._upgraded(recorded, id_)
        changes: list[PropertyChange] = []
        for name in DIFFED_PROPERTIES:
            changes += _changes((name,), olds.get(name), news.get(name))
        if not changes:
            changes += self._rotations(olds, news, warn)
        return DiffOutcome(tuple(changes))

    def _rotations(
        self, recorded: Mapping[str, Any], news: Mapping[str, Any], warn: Warn
    ) -> list[PropertyChange]:
        checked = check_properties(news)
        versions = recorded.get("secret_versions") or {}
        if checked.source is None or not isinstance(versions, Mapping):
            return []
        candidates = [
            (path, reference)
            for path, reference in secret_references(checked.source).items()
            if isinstance(reference, VaultSecretRef)
            and reference.vault.version is None
            and isinstance(versions.get(reference.describe()), int | float)
        ]
        rotated: list[PropertyChange] = []
        resolver = self._resolver(checked)
        for path, reference in candidates:
            resolver.forget(reference)
            try:
                now = resolver.metadata(reference).version
            except AcumaticaDataSourceError as exc:
                warn(
                    f"{checked.source.description}: could not check whether a secret was "
                    f"rotated: {exc}"
                )
                continue
            if now is not None and now != versions[reference.describe()]:
                rotated.append(PropertyChange(path, "update", replace=False, input=True))
        return rotated

    # --- create, update, read, delete ----------------------------------------------------

    def create(self, props: Mapping[str, Any], *, warn: Warn = warn_on_stderr) -> dict[str, Any]:
        """Resolve secrets, verify according to the mode, and return the outputs to record;
        the resource id is their ``data_source_id``."""
        source, checked = self._source(props)
        return self._apply(source, checked, props, previous=None, warn=warn)

    def update(
        self,
        _id: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        warn: Warn = warn_on_stderr,
    ) -> dict[str, Any]:
        """As create, for new inputs."""
        source, checked = self._source(news)
        return self._apply(source, checked, news, previous=olds, warn=warn)

    def preview(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The outputs a create or update would record, as far as they are known offline:
        inputs, id and callback URL; the verification and secret versions are unknown."""
        checked = check_properties(props, default_mode=self.settings.default_mode)
        outputs = copy.deepcopy({key: props[key] for key in INPUT_PROPERTIES if key in props})
        for path in SECRET_PROPERTY_PATHS:  # a Pulumi secret is recorded as a fingerprint
            if isinstance(lookup(outputs, path), str):
                put(outputs, path, UNKNOWN)
        outputs["callback_url"] = props.get("callback_url", UNKNOWN)
        outputs["data_source_id"] = props.get("data_source_id", UNKNOWN)
        source = checked.source if checked.complete else None
        outputs["connection_string_template"] = (
            render_connection_string(source, callback_url=props.get("callback_url"))
            if source is not None
            else UNKNOWN
        )
        outputs["verification"] = UNKNOWN
        outputs["secret_versions"] = UNKNOWN
        outputs["provider_version"] = out.PROVIDER_VERSION
        exposed = props.get("expose_connection_string")
        outputs["connection_string"] = UNKNOWN if exposed is not False else None
        return outputs

    def read(
        self,
        id_: str,
        recorded: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        *,
        warn: Warn = warn_on_stderr,
    ) -> dict[str, Any]:
        """Refresh: verify again (unless mode is off) and return the outputs with what changed
        in the world; a failed verification is recorded (and warned about), not raised.
        ``inputs`` (the plugin has them) carry the Pulumi secret values that the outputs hold
        only as fingerprints; without them such a data source is not verified."""
        olds = self._upgraded(recorded, id_)
        given = inputs is not None and not any(is_unknown(v) for v in inputs.values())
        checked = check_properties(
            dict(inputs) if given and inputs is not None else _without_fingerprints(olds)
        )
        source = checked.source
        if source is None or source.verification.mode == "off":
            return olds
        if not given and any(
            isinstance(r, InlineSecretRef) for r in secret_references(source).values()
        ):
            olds["verification"] = {
                **(olds.get("verification") or {}),
                "summary": "not refreshed: a Pulumi secret value cannot be read back from the "
                "state; run up to verify again",
            }
            return olds
        report = self._verify(source, checked, self._resolver(checked))
        if not report.passed:
            warn(_failure_message(source, report) + " (recorded as failed)")
        refreshed = dict(olds)
        refreshed["verification"] = out.verification_output(report, source.verification.mode)
        refreshed["secret_versions"] = {
            **(olds.get("secret_versions") or {}),
            **report.secret_versions,
        }
        return refreshed

    def delete(self, _id: str, _props: Mapping[str, Any]) -> None:
        """Nothing to remove remotely: the data source lives in the BI server's config."""

    # --- helpers ----------------------------------------------------------------------------

    def _resolver(self, checked: Checked) -> SecretResolver:
        return self._resolvers.get(checked.vault or self.settings.vault)

    def _upgraded(self, recorded: Mapping[str, Any], id_: str) -> dict[str, Any]:
        """Recorded outputs in the current shape; a clean failure for a newer provider's."""
        try:
            result = out.upgrade(recorded)
        except ValueError as exc:
            fail(str(exc))
        if id_ and not result.get("data_source_id"):
            result["data_source_id"] = id_  # the resource id is the data source id
        return result

    def _source(self, props: Mapping[str, Any]) -> tuple[DataSource, Checked]:
        checked = check_properties(props, default_mode=self.settings.default_mode)
        if checked.problems:
            fail(
                "invalid data source: "
                + "; ".join(f"{property_path(p.loc)}: {p.message}" for p in checked.problems)
            )
        if checked.source is None:
            fail("a data source input is still unknown at apply time")
        return checked.source, checked

    def _verify(self, source: DataSource, checked: Checked, resolver: SecretResolver) -> Report:
        from acumatica_datasource.verify import verify_data_source

        return verify_data_source(
            source,
            callback_url=data_source_callback_url(source, checked.callback_base_url),
            secrets=resolver,
            options=self.settings.verify_options,
        )

    def _apply(
        self,
        source: DataSource,
        checked: Checked,
        props: Mapping[str, Any],
        *,
        previous: Mapping[str, Any] | None,
        warn: Warn,
    ) -> dict[str, Any]:
        mode = source.verification.mode
        report: Report | None = None
        inputs = normalized_properties(checked, props)
        connection_string = None
        versions: dict[str, int | None] = {}
        resolver = self._resolver(checked)
        if mode != "off":
            report = self._verify(source, checked, resolver)
            if not report.passed:
                message = _failure_message(source, report)
                if mode == "strict":
                    fail(message + " (verification.mode is strict: nothing was recorded)")
                warn(message + " (verification.mode is warn: recorded as failed)")
        if source.expose_connection_string:
            connection_string = _connection_string(source, inputs, resolver, versions)
        outputs = out.build_outputs(
            inputs, source, report=report, connection_string=connection_string, previous=previous
        )
        for reference, version in versions.items():
            if outputs["secret_versions"].get(reference) is None:
                outputs["secret_versions"][reference] = version
        return outputs


def _connection_string(
    source: DataSource,
    inputs: Mapping[str, Any],
    resolver: SecretResolver,
    versions: dict[str, int | None],
) -> str:
    """The connection string with the secrets; ``versions`` learns the versions read."""
    values: dict[SecretPath, str] = {}
    for path, reference in rendered_secrets(source).items():
        try:
            resolved = resolver.resolve(reference)
        except AcumaticaDataSourceError as exc:
            fail(
                f"the connection string of data source '{source.description}' cannot "
                f"be rendered (expose_connection_string is set): {exc}"
            )
        values[path] = resolved.value.reveal()
        versions[resolved.metadata.reference] = resolved.metadata.version
    return render_connection_string(source, callback_url=inputs.get("callback_url"), secrets=values)


def _failure_message(source: DataSource, report: Report) -> str:
    failed = "; ".join(report.text(f"{c.name}: {c.detail}") for c in report.failures)
    return f"verification of data source '{source.description}' failed: {failed}"


def _changes(path: PropertyPath, old: Any, new: Any) -> list[PropertyChange]:
    """The changes between an old (recorded) and a new (checked) value at ``path``: nested
    mappings down to the keys that differ; a Pulumi secret equal to its recorded fingerprint
    is unchanged; an unknown new value is a change."""
    replace = path[0] in REPLACING_PROPERTIES
    is_input = path[0] in INPUT_PROPERTIES

    def change(kind: DiffKind) -> list[PropertyChange]:
        return [PropertyChange(path, kind, replace=replace, input=is_input)]

    if _unknown(new):
        return change("update")
    if isinstance(old, Mapping) and isinstance(new, Mapping) and not _fingerprint(old):
        found: list[PropertyChange] = []
        for key in dict.fromkeys([*old, *new]):
            found += _changes((*path, str(key)), old.get(key), new.get(key))
        return found
    if _is_secret_path(path) and isinstance(new, str) and out.same_secret(new, old):
        return []
    if path in UNORDERED_PATHS and isinstance(old, list) and isinstance(new, list):
        old, new = sorted(map(str, old)), sorted(map(str, new))
    if old == new:
        return []
    if old is None:
        return change("add")
    if new is None:
        return change("delete")
    return change("update")


def _is_secret_path(path: PropertyPath) -> bool:
    return len(path) > 1 and path[1:] in secret_paths_in(path[0])


def _fingerprint(value: Mapping[str, Any]) -> bool:
    return out.FINGERPRINT in value


def _unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


def _without_fingerprints(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """Recorded outputs as inputs; fingerprinted Pulumi secrets become a placeholder value
    (enough to validate, never to verify)."""

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            if out.FINGERPRINT in value:
                return "pulumi-secret-not-recorded"
            return {k: clean(v) for k, v in value.items()}
        return value

    return {key: clean(recorded[key]) for key in INPUT_PROPERTIES if key in recorded}
