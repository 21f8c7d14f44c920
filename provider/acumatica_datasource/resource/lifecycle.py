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

A verdict is never stale: a data source whose recorded verification is not ``ok`` differs
from its inputs (``diff`` says so), so the next ``up`` verifies it again. The run's
:attr:`~DataSourceLifecycle.cancellation` stops the verifications (:meth:`cancel`), and with
a :class:`~.run_channel.RunChannel` every verification's verdict and every warning about a data
source also go to the command line that started the engine.
"""

from __future__ import annotations

import copy
import dataclasses
import hmac
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from acumatica_datasource.acumatica.cancellation import Cancellation
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.resource import outputs as out
from acumatica_datasource.resource.properties import (
    INPUT_PROPERTIES,
    SECRET_PROPERTY_PATHS,
    UNKNOWN,
    Checked,
    check_properties,
    data_source_callback_url,
    is_secret_path,
    is_unknown,
    lookup,
    normalized_properties,
    preview_properties,
    property_path,
    put,
    secret_references,
)
from acumatica_datasource.resource.run_channel import RunChannel
from acumatica_datasource.resource.settings import ProviderSettings
from acumatica_datasource.spec import (
    InlineSecretRef,
    VaultSecretRef,
    render_connection_string,
    rendered_secrets,
)
from acumatica_datasource.verify.progress import ProgressBoard

if TYPE_CHECKING:  # the secrets and verify layers are imported by the steps that use them
    from acumatica_datasource.secrets import SecretMetadata, SecretResolver
    from acumatica_datasource.spec import DataSource, FieldProblem, SecretPath, VaultSettings
    from acumatica_datasource.verify import Report, VerifyOptions

Warn = Callable[[str], None]
DiffKind = Literal["add", "delete", "update"]
PropertyPath = tuple[str, ...]

DIFFED_PROPERTIES = (*INPUT_PROPERTIES, "callback_url")
"""What a diff compares: every input, and the callback URL derived from them."""
REPLACING_PROPERTIES = frozenset({"data_source_id"})
"""A change of these replaces the resource (the id is the data source's identity)."""
UNORDERED_PATHS = frozenset({("authentication", "scope")})
"""Lists whose order carries no meaning."""
VERIFIED = frozenset({"ok", "off"})
"""Recorded verification statuses that need no new verification ("off": mode off)."""
MAX_SECRET_LOOKUPS = 8
ROTATION_UNCHECKED = "rotation_unchecked"
"""The topic of a warning that a diff could not check a secret's rotation (Vault failed)."""
"""Secret versions one diff asks Vault for at once."""


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
    read the environment and the Vault credentials of the settings; ``channel`` is the command
    line's run channel, if any.
    """

    def __init__(
        self, settings: ProviderSettings | None = None, *, channel: RunChannel | None = None
    ) -> None:
        self.settings = settings or ProviderSettings()
        credentials = self.settings.credentials
        self._resolvers = SecretResolvers({**os.environ, **credentials} if credentials else None)
        self.channel = channel
        self.cancellation = Cancellation()
        """Set by :meth:`cancel`: no verification starts, those under way stop."""
        self.board = ProgressBoard()
        """What the verifications under way wait for (for progress lines)."""
        self._busy = 0
        self._busy_lock = threading.Lock()

    def close(self) -> None:
        """Forget every secret and Vault token this lifecycle holds."""
        self._resolvers.close()

    def cancel(self, reason: str) -> None:
        """Cancel the run's verifications (see :attr:`cancellation`)."""
        self.cancellation.cancel(reason)

    def _verify_options(self) -> VerifyOptions:
        """The settings' verify options with this run's cancellation and progress board (the
        verify layer is imported by the first verification, never by ``check``)."""
        return dataclasses.replace(
            self.settings.verify_options, cancellation=self.cancellation, board=self.board
        )

    @property
    def busy(self) -> int:
        """Operations under way (a provider waits for them before it exits)."""
        return self._busy

    @contextmanager
    def _operation(self) -> Iterator[None]:
        with self._busy_lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy -= 1

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
        when none did, whether the recorded verification is not ``ok`` (then it is to be run
        again: a ``verification`` change), else whether a Vault secret was rotated since it
        was read (asks Vault)."""
        olds = self._upgraded(recorded, id_)
        changes = property_changes(olds, news)
        if not changes and _verification_due(olds, news):
            changes.append(PropertyChange(("verification",), "update", replace=False, input=False))
        if not changes:
            with self._operation():
                changes += self._rotations(olds, news, warn)
        return DiffOutcome(tuple(changes))

    def _rotations(
        self, recorded: Mapping[str, Any], news: Mapping[str, Any], warn: Warn
    ) -> list[PropertyChange]:
        """The secret fields whose Vault value changed since it was recorded, key by key.

        A KV v2 version belongs to a path, not a key: writing one key makes a new version of
        every key there. So when a path's current version differs from the recorded one, the
        key's value in the recorded version and in the current one are read and compared in
        memory; only a changed value is a rotation. Nothing but the version number is ever
        recorded (no value, no hash of one: see docs/rotation.md). When the recorded version
        cannot be read any more (deleted, destroyed, beyond ``max_versions``, or the token may
        not read it), the path's new version counts as a rotation, with a warning saying the
        key may be unchanged. The distinct secrets are asked for at the same time."""
        checked = check_properties(news)
        versions = recorded.get("secret_versions") or {}
        source = checked.source
        if source is None or not isinstance(versions, Mapping):
            return []
        candidates = [
            (path, reference)
            for path, reference in secret_references(source).items()
            if isinstance(reference, VaultSecretRef)
            and reference.vault.version is None
            and isinstance(versions.get(reference.describe()), int | float)
        ]
        if not candidates:
            return []
        resolver = self._resolver(checked)

        def current(reference: VaultSecretRef) -> SecretMetadata | AcumaticaDataSourceError:
            resolver.forget(reference)
            try:
                return resolver.metadata(reference)
            except AcumaticaDataSourceError as exc:
                return exc

        with ThreadPoolExecutor(min(MAX_SECRET_LOOKUPS, len(candidates))) as pool:
            found = list(pool.map(current, [reference for _, reference in candidates]))
        moved: list[tuple[SecretPath, VaultSecretRef, int, int]] = []
        for (path, reference), now in zip(candidates, found, strict=True):
            if isinstance(now, AcumaticaDataSourceError):
                self._warn(
                    warn,
                    source.data_source_id,
                    f"{source.description}: could not check whether a secret was rotated: {now}",
                    topic=ROTATION_UNCHECKED,
                )
                continue
            before = int(versions[reference.describe()])
            if now.version is not None and now.version != before:
                moved.append((path, reference, before, now.version))
        if not moved:
            return []

        def changed(item: tuple[SecretPath, VaultSecretRef, int, int]) -> bool | str:
            """Whether the key's value differs between the two versions (or why that cannot
            be told)."""
            _, reference, before, after = item
            try:
                old = resolver.resolve(_at_version(reference, before)).value.reveal()
                new = resolver.resolve(_at_version(reference, after)).value.reveal()
            except AcumaticaDataSourceError as exc:
                return str(exc)
            return not hmac.compare_digest(old.encode(), new.encode())

        with ThreadPoolExecutor(min(MAX_SECRET_LOOKUPS, len(moved))) as pool:
            verdicts = list(pool.map(changed, moved))
        rotated: list[PropertyChange] = []
        for (path, reference, before, after), verdict in zip(moved, verdicts, strict=True):
            if isinstance(verdict, str):
                location = reference.vault
                self._warn(
                    warn,
                    source.data_source_id,
                    f"{source.description}: {location.mount}/{location.path} changed (version "
                    f"{before} -> {after}); key {location.key} may be unchanged: {verdict}. It "
                    "counts as rotated: the data source is verified again",
                )
            if verdict is not False:
                rotated.append(PropertyChange(path, "update", replace=False, input=True))
        return rotated

    def _warn(
        self, warn: Warn, data_source_id: str, message: str, *, topic: str | None = None
    ) -> None:
        """A warning about a data source: to the adapter's ``warn`` and the run channel
        (``topic`` tells the command line what it is about, e.g. :data:`ROTATION_UNCHECKED`)."""
        warn(message)
        if self.channel is not None:
            self.channel.emit(
                "warning", data_source_id=data_source_id, message=message, topic=topic
            )

    # --- create, update, read, delete ----------------------------------------------------

    def create(self, props: Mapping[str, Any], *, warn: Warn = warn_on_stderr) -> dict[str, Any]:
        """Resolve secrets, verify according to the mode, and return the outputs to record;
        the resource id is their ``data_source_id``."""
        source, checked = self._source(props)
        with self._operation():
            return self._apply(source, checked, props, previous=None, warn=warn)

    def update(
        self,
        _id: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        warn: Warn = warn_on_stderr,
    ) -> dict[str, Any]:
        """As create, for new inputs (or the same inputs, to verify them again)."""
        source, checked = self._source(news)
        with self._operation():
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
        with self._operation():
            report = self._verify(source, checked, self._resolver(checked), "read")
        if report.interrupted is not None:
            _interrupted(source, report)
        if not report.passed:
            self._warn(
                warn,
                source.data_source_id,
                _failure_message(source, report) + " (recorded as failed)",
            )
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

    def _verify(
        self, source: DataSource, checked: Checked, resolver: SecretResolver, operation: str
    ) -> Report:
        """Verify, and tell the run channel this run's verdict."""
        from acumatica_datasource.verify import verify_data_source

        report = verify_data_source(
            source,
            callback_url=data_source_callback_url(source, checked.callback_base_url),
            secrets=resolver,
            options=self._verify_options(),
        )
        if self.channel is not None:
            self.channel.emit(
                "verification",
                data_source_id=source.data_source_id,
                operation=operation,
                status=report.status,
                mode=source.verification.mode,
                summary=report.summary(),
                possibly_open_sessions=report.possibly_open_sessions,
                checked_at=report.checked_at,
            )
        return report

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
            report = self._verify(
                source, checked, resolver, "update" if previous is not None else "create"
            )
            if report.interrupted is not None:
                _interrupted(source, report)
            if not report.passed:
                message = _failure_message(source, report)
                if mode == "strict":
                    fail(message + " (verification.mode is strict: nothing was recorded)")
                self._warn(
                    warn,
                    source.data_source_id,
                    message + " (verification.mode is warn: recorded as failed)",
                )
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


def property_changes(recorded: Mapping[str, Any], news: Mapping[str, Any]) -> list[PropertyChange]:
    """The properties that differ between recorded outputs and checked new inputs, as
    ``diff`` compares them (offline: a rotated secret or a verification due is not seen)."""
    changes: list[PropertyChange] = []
    for name in DIFFED_PROPERTIES:
        changes += _changes((name,), recorded.get(name), news.get(name))
    return changes


def _verification_due(recorded: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """Whether the recorded verification is not ``ok`` while the new inputs ask for one."""
    checked = check_properties(news)
    if checked.source is None or checked.source.verification.mode == "off":
        return False
    verification = recorded.get("verification")
    status = verification.get("status") if isinstance(verification, Mapping) else None
    return status not in VERIFIED


def _interrupted(source: DataSource, report: Report) -> NoReturn:
    fail(
        f"interrupted: data source '{source.description}' was not verified to the end "
        f"({report.interrupted}); nothing was recorded"
    )


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
    if isinstance(old, Mapping) and isinstance(new, Mapping) and not out.is_fingerprint(old):
        found: list[PropertyChange] = []
        for key in dict.fromkeys([*old, *new]):
            found += _changes((*path, str(key)), old.get(key), new.get(key))
        return found
    if is_secret_path(path) and isinstance(new, str) and out.same_secret(new, old):
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


def _at_version(reference: VaultSecretRef, version: int) -> VaultSecretRef:
    """``reference`` pinned to a KV v2 ``version``."""
    return VaultSecretRef(vault=reference.vault.model_copy(update={"version": version}))


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
