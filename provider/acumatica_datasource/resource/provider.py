"""The dynamic provider: Pulumi's lifecycle mapped onto the spec, secrets and verify layers.

The provider object is pickled into every resource's state. It holds nothing: clients,
resolvers and settings are made inside the methods, so the pickle is a reference to this
class and nothing else.

The engine starts one provider process per command (preview, up, refresh...). Within it,
one secret resolver per Vault setting logs in once and reads each secret once, and site
discovery happens once per site. A diff asks Vault afresh for the versions it compares
(forgetting what the resolver remembered of that secret), so a rotation is never hidden.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

from pulumi import dynamic

from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.resource import outputs as out
from acumatica_datasource.resource.properties import (
    INPUT_PROPERTIES,
    Checked,
    check_properties,
    data_source_callback_url,
    failure_property,
    is_unknown,
    lookup,
    normalized_properties,
    preview_properties,
    property_path,
    secret_references,
)
from acumatica_datasource.resource.settings import ProviderSettings
from acumatica_datasource.secrets import SecretResolver
from acumatica_datasource.spec import (
    DataSource,
    InlineSecretRef,
    VaultSecretRef,
    VaultSettings,
    render_connection_string,
    rendered_secrets,
)
from acumatica_datasource.verify import Report, verify_data_source

DEBUG_VARIABLE = "ACUMATICA_DS_DEBUG"

_settings: dict[str, ProviderSettings] = {}


class DataSourceError(AcumaticaDataSourceError):
    """A data source cannot be created or updated; the message says why and what to do."""


# Shown by the engine as "DataSourceError: ..." rather than with the module path.
DataSourceError.__module__ = "builtins"


def _fail(message: str) -> NoReturn:
    """Raise a clean error: the dynamic-provider server formats exceptions with their
    traceback, which users should not see (set ACUMATICA_DS_DEBUG=1 to keep it)."""
    if not os.environ.get(DEBUG_VARIABLE):
        sys.tracebacklimit = 0
    # "from None": an exception being handled would otherwise be printed before this one.
    raise DataSourceError(message) from None


def _warn(message: str) -> None:
    """A warning in the engine's output (provider processes cannot send diagnostics)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _settings_now() -> ProviderSettings:
    if "current" not in _settings:  # configure() normally ran first
        _settings["current"] = ProviderSettings.load(_stack_config(), os.environ)
    return _settings["current"]


def _stack_config() -> dict[str, Any]:
    raw = os.environ.get("PULUMI_CONFIG")
    if not raw:
        return {}
    try:
        config = json.loads(raw)
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


_resolvers: dict[str, SecretResolver] = {}
_resolvers_lock = threading.Lock()


@contextmanager
def operation_secrets(vault: VaultSettings | None) -> Iterator[SecretResolver]:
    """The process's resolver for a Vault setting: one login and one read per secret for
    the whole command, shared by the operations the engine runs in parallel."""
    key = json.dumps(vault.model_dump(mode="json") if vault else None, sort_keys=True)
    with _resolvers_lock:
        resolver = _resolvers.get(key)
        if resolver is None:
            resolver = _resolvers[key] = SecretResolver(vault)
    yield resolver


class DataSourceProvider(dynamic.ResourceProvider):
    """Reconciles ``AcumaticaDataSource`` resources; safe to repeat every step."""

    serialize_as_secret_always = False  # the pickle is a bare class reference

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        """Provider-wide settings from stack config (``acumatica:*``) and the environment."""
        raw = dict(getattr(req.config, "_props", {}) or {})
        try:
            _settings["current"] = ProviderSettings.load({**_stack_config(), **raw}, os.environ)
        except AcumaticaDataSourceError as exc:
            _fail(str(exc))

    # --- check and diff: offline ------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate offline with the spec's rules; normalise and add the callback URL."""
        settings = _settings_now()
        checked = check_properties(news, default_mode=settings.default_mode)
        failures = [
            dynamic.CheckFailure(failure_property(p.loc), f"{property_path(p.loc)}: {p.message}")
            for p in checked.problems
        ]
        if failures:
            return dynamic.CheckResult(news, failures)
        if not checked.complete:
            return dynamic.CheckResult(preview_properties(checked, news), [])
        return dynamic.CheckResult(normalized_properties(checked, news), [])

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Which inputs changed, and whether a Vault secret was rotated since it was read."""
        recorded = _upgraded(olds, id_)
        changed = [
            key for key in (*INPUT_PROPERTIES, "callback_url") if _differs(key, recorded, news)
        ]
        if _unknown(news.get("data_source_id")) or "data_source_id" in changed:
            replaces = ["data_source_id"]
        else:
            replaces = []
        if not changed:
            changed += self._rotations(recorded, news)
        return dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=False
        )

    def _rotations(self, recorded: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        checked = check_properties(news)
        versions = recorded.get("secret_versions") or {}
        if checked.source is None or not isinstance(versions, Mapping):
            return []
        references = [
            reference
            for reference in secret_references(checked.source).values()
            if isinstance(reference, VaultSecretRef)
            and reference.vault.version is None
            and isinstance(versions.get(reference.describe()), int | float)
        ]
        if not references:
            return []
        rotated: list[str] = []
        with operation_secrets(checked.vault or _settings_now().vault) as resolver:
            for reference in references:
                resolver.forget(reference)
                try:
                    now = resolver.metadata(reference).version
                except AcumaticaDataSourceError as exc:
                    _warn(
                        f"{checked.source.description}: could not check whether a secret was "
                        f"rotated: {exc}"
                    )
                    continue
                if now is not None and now != versions[reference.describe()]:
                    rotated.append("secret_versions")
        return rotated

    # --- create, update, read, delete ----------------------------------------------------

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Resolve secrets, verify according to the mode, record the outputs."""
        source, checked = self._source(props)
        outputs = self._apply(source, checked, props, previous=None)
        return dynamic.CreateResult(source.data_source_id, outputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """As create, for new inputs."""
        source, checked = self._source(news)
        return dynamic.UpdateResult(self._apply(source, checked, news, previous=olds))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """Refresh: verify again (unless mode is off) and record what changed in the world."""
        recorded = _upgraded(props, id_)
        checked = check_properties(_without_fingerprints(recorded))
        source = checked.source
        if source is None or source.verification.mode == "off":
            return dynamic.ReadResult(id_, recorded)
        if any(isinstance(r, InlineSecretRef) for r in secret_references(source).values()):
            recorded["verification"] = {
                **(recorded.get("verification") or {}),
                "summary": "not refreshed: a Pulumi secret value cannot be read back from the "
                "state; run up to verify again",
            }
            return dynamic.ReadResult(id_, recorded)
        with operation_secrets(checked.vault or _settings_now().vault) as resolver:
            report = self._verify(source, checked, resolver)
        refreshed = dict(recorded)
        refreshed["verification"] = out.verification_output(report, source.verification.mode)
        refreshed["secret_versions"] = {
            **(recorded.get("secret_versions") or {}),
            **report.secret_versions,
        }
        return dynamic.ReadResult(id_, refreshed)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to remove remotely: the data source lives in the BI server's config."""

    # --- helpers ----------------------------------------------------------------------------

    def _source(self, props: Mapping[str, Any]) -> tuple[DataSource, Checked]:
        checked = check_properties(props, default_mode=_settings_now().default_mode)
        if checked.problems:
            _fail(
                "invalid data source: "
                + "; ".join(f"{property_path(p.loc)}: {p.message}" for p in checked.problems)
            )
        if checked.source is None:
            _fail("a data source input is still unknown at apply time")
        return checked.source, checked

    def _verify(self, source: DataSource, checked: Checked, resolver: SecretResolver) -> Report:
        return verify_data_source(
            source,
            callback_url=data_source_callback_url(source, checked.callback_base_url),
            secrets=resolver,
            options=_settings_now().verify_options,
        )

    def _apply(
        self,
        source: DataSource,
        checked: Checked,
        props: Mapping[str, Any],
        *,
        previous: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        mode = source.verification.mode
        report: Report | None = None
        inputs = normalized_properties(checked, props)
        connection_string = None
        versions: dict[str, int | None] = {}
        with operation_secrets(checked.vault or _settings_now().vault) as resolver:
            if mode != "off":
                report = self._verify(source, checked, resolver)
                if not report.passed:
                    message = _failure_message(source, report)
                    if mode == "strict":
                        _fail(message + " (verification.mode is strict: nothing was recorded)")
                    _warn(message + " (verification.mode is warn: recorded as failed)")
            if source.expose_connection_string:
                connection_string = self._connection_string(source, inputs, resolver, versions)
        outputs = out.build_outputs(
            inputs, source, report=report, connection_string=connection_string, previous=previous
        )
        for reference, version in versions.items():
            if outputs["secret_versions"].get(reference) is None:
                outputs["secret_versions"][reference] = version
        return outputs

    def _connection_string(
        self,
        source: DataSource,
        inputs: Mapping[str, Any],
        resolver: SecretResolver,
        versions: dict[str, int | None],
    ) -> str:
        """The connection string with the secrets; ``versions`` learns the versions read."""
        values: dict[str, str] = {}
        for name, reference in rendered_secrets(source).items():
            try:
                resolved = resolver.resolve(reference)
            except AcumaticaDataSourceError as exc:
                _fail(
                    f"the connection string of data source '{source.description}' cannot "
                    f"be rendered (expose_connection_string is set): {exc}"
                )
            values[name] = resolved.value.reveal()
            versions[resolved.metadata.reference] = resolved.metadata.version
        return render_connection_string(
            source, callback_url=inputs.get("callback_url"), secrets=values
        )


def _upgraded(recorded: Mapping[str, Any], id_: str) -> dict[str, Any]:
    """Recorded outputs in the current shape; a clean failure for a newer provider's."""
    try:
        result = out.upgrade(recorded)
    except ValueError as exc:
        _fail(str(exc))
    if id_ and not result.get("data_source_id"):
        result["data_source_id"] = id_  # the resource id is the data source id
    return result


def _failure_message(source: DataSource, report: Report) -> str:
    failed = "; ".join(report.text(f"{c.name}: {c.detail}") for c in report.failures)
    return f"verification of data source '{source.description}' failed: {failed}"


def _differs(key: str, recorded: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    old, new = recorded.get(key), news.get(key)
    if _unknown(new):
        return True
    if key in ("authentication", "verification_settings"):
        return _differs_with_secrets(key, old, new)
    return bool(old != new)


def _differs_with_secrets(key: str, old: Any, new: Any) -> bool:
    """Compare mappings whose secret fields may hold Pulumi secret values (recorded as
    fingerprints)."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return bool(old != new)
    old_copy, new_copy = json.loads(json.dumps(old)), json.loads(json.dumps(new, default=str))
    for path in (
        ("password",),
        ("client_secret",),
        ("login", "password"),
        ("login", "client_secret"),
    ):
        before, after = lookup(old_copy, path), lookup(new_copy, path)
        if isinstance(after, str) and out.same_secret(after, before):
            _drop(old_copy, path)
            _drop(new_copy, path)
    return bool(old_copy != new_copy)


def _drop(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    for part in path[:-1]:
        child = tree.get(part)
        if not isinstance(child, dict):
            return
        tree = child
    tree.pop(path[-1], None)


def _unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


def _without_fingerprints(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """Recorded outputs as inputs; fingerprinted Pulumi secrets become unknown values."""

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            if out.FINGERPRINT in value:
                return "pulumi-secret-not-recorded"
            return {k: clean(v) for k, v in value.items()}
        return value

    return {key: clean(recorded[key]) for key in INPUT_PROPERTIES if key in recorded}
