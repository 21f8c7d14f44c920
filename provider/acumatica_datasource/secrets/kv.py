"""KV v1 and v2 operations on an ``hvac.Client``: engine detection, reads, metadata, writes.

Each function raises only :class:`SecretError` subclasses whose message names the reference.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import hvac
import hvac.exceptions

from acumatica_datasource.secrets.errors import (
    SecretConflict,
    SecretError,
    SecretNotFound,
    SecretVersionDeleted,
    SecretVersionDestroyed,
    VaultConfigError,
)
from acumatica_datasource.secrets.failures import CALL_ERRORS, CallContext, guarded, translate
from acumatica_datasource.secrets.values import SecretValue
from acumatica_datasource.spec.references import VaultLocation

logger = logging.getLogger("acumatica_datasource.secrets")

Engine = Literal["kv1", "kv2"]
_VAULT_OWN_DATA = frozenset({"accessor", "policies", "id"})
"""Keys of a token lookup's data (``auth/token/lookup-self``), never of a KV secret read
through a KV mount."""
_LOOKUP_ERRORS: tuple[type[Exception], ...] = (*CALL_ERRORS, KeyError, TypeError)


@dataclass(frozen=True)
class KvSecret:
    """All keys of one read secret (one version of it, for KV v2)."""

    engine: Engine
    data: Mapping[str, SecretValue]
    version: int | None = None
    created_time: str | None = None


@dataclass(frozen=True)
class KvVersion:
    """A KV v2 version's non-secret facts (``version`` is ``None`` on KV v1)."""

    version: int | None
    created_time: str | None = None


def _text(value: Any) -> str:
    """A KV value as text: strings as they are, anything else (numbers, maps) as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _data_path(loc: VaultLocation) -> str:
    return f"{loc.mount}/data/{loc.path}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _response_data(response: Any, ctx: CallContext, action: str) -> dict[str, Any]:
    data = response.get("data") if isinstance(response, dict) else None
    if isinstance(data, dict):
        return data
    raise SecretError(
        f"unexpected answer from {ctx.where} while {action}: no data in the response",
        reference=ctx.reference,
    )


def detect_engine(client: hvac.Client, mount: str, ctx: CallContext) -> Engine | None:
    """The KV version of ``mount`` from ``sys/internal/ui/mounts`` (no sudo needed).

    ``None`` when Vault does not tell (the token may not see the mount, or the endpoint is
    missing); errors such as an unreachable or sealed server are raised.
    """
    action = f"looking up the mount {mount}/"

    def call() -> Any:
        try:
            return client.adapter.get(f"/v1/sys/internal/ui/mounts/{mount}")
        except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidPath):
            return None

    response = guarded(call, lambda exc: translate(exc, ctx, action=action))
    if response is None:
        logger.debug("KV engine of %s/ cannot be looked up; trying KV v2, then v1", mount)
        return None
    return _engine_of(response, mount, ctx)


def _engine_of(response: Any, mount: str, ctx: CallContext) -> Engine | None:
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    mounted = str(data.get("path") or "").strip("/")
    if kind not in ("kv", "generic"):
        raise VaultConfigError(
            f"the mount {mount}/ on {ctx.where} is a {kind!r} engine, not a KV secrets engine. "
            "Fix: correct the reference's mount",
            reference=ctx.reference,
        )
    if mounted and mounted != mount:
        rest = mount[len(mounted) :].strip("/")
        raise VaultConfigError(
            f"{mount}/ is not a mount point: the KV engine is mounted at {mounted}/. Fix: use "
            f"mount: {mounted} and put {rest!r} in front of the path",
            reference=ctx.reference,
        )
    options = data.get("options") or {}
    version = str(options.get("version", "1")) if isinstance(options, dict) else "1"
    engine: Engine = "kv2" if version == "2" else "kv1"
    logger.debug("mount %s/ is KV %s", mount, engine[2:])
    return engine


def _deleted_metadata(exc: hvac.exceptions.VaultError) -> dict[str, Any] | None:
    body = exc.json
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    meta = data.get("metadata") if isinstance(data, dict) else None
    return meta if isinstance(meta, dict) else None


def _version_gone(meta: Mapping[str, Any], loc: VaultLocation, ctx: CallContext) -> SecretError:
    version = meta.get("version")
    which = f"version {version}" if loc.version is not None else f"the latest version ({version})"
    target = f"{loc.mount}/{loc.path}"
    if meta.get("destroyed"):
        return SecretVersionDestroyed(
            f"{which} of {target} on {ctx.where} was destroyed; its data is gone for good. "
            "Fix: write a new value (bao kv put / kv patch) or pin another version",
            reference=ctx.reference,
        )
    return SecretVersionDeleted(
        f"{which} of {target} on {ctx.where} was deleted at {meta.get('deletion_time')}. "
        f"Fix: undelete it (bao kv undelete -mount={loc.mount} -versions={version} {loc.path}), "
        "write a new value, or pin another version",
        reference=ctx.reference,
    )


def _said(exc: hvac.exceptions.VaultError) -> str:
    """The server's error strings, joined (for matching, never for messages)."""
    return (exc.errors and " ".join(str(e) for e in exc.errors)) or ""


def _failure(
    loc: VaultLocation, ctx: CallContext, *, action: str, api_path: str
) -> Callable[[Exception], SecretError]:
    """How a KV call's failure is reported: a missing path or mount as :func:`_missing`
    says, any other error translated for ``action`` on ``api_path``."""

    def failure(exc: Exception) -> SecretError:
        if isinstance(exc, hvac.exceptions.InvalidPath):
            return _missing(loc, ctx, exc)
        return translate(exc, ctx, action=action, api_path=api_path)

    return failure


def _missing(loc: VaultLocation, ctx: CallContext, exc: hvac.exceptions.VaultError) -> SecretError:
    if "no handler for route" in _said(exc):
        return SecretNotFound(
            f"no secrets engine is mounted at {loc.mount}/ on {ctx.where}. Fix: correct the "
            f"reference's mount (bao secrets list shows them) or enable KV there "
            f"(bao secrets enable -path={loc.mount} kv-v2)",
            reference=ctx.reference,
        )
    return SecretNotFound(
        f"no secret exists at {loc.mount}/{loc.path} on {ctx.where}. Fix: correct the path, or "
        f"create it (bao kv put -mount={loc.mount} {loc.path} {loc.key}=...)",
        reference=ctx.reference,
    )


def read_kv2(client: hvac.Client, loc: VaultLocation, ctx: CallContext) -> KvSecret:
    """Read the pinned (or latest) version of a KV v2 secret."""
    which = f"version {loc.version} of" if loc.version is not None else "the latest version of"
    action = f"reading {which} {loc.mount}/{loc.path}"

    def call() -> Any:
        return client.secrets.kv.v2.read_secret_version(
            path=loc.path,
            version=loc.version,
            mount_point=loc.mount,
            raise_on_deleted_version=True,
        )

    def failure(exc: Exception) -> SecretError:
        if not isinstance(exc, hvac.exceptions.InvalidPath):
            return translate(exc, ctx, action=action, api_path=_data_path(loc))
        gone = _deleted_metadata(exc)
        if gone is not None:
            return _version_gone(gone, loc, ctx)
        error = _missing(loc, ctx, exc)
        if loc.version is not None and "no secret" in error.detail:
            return _refine_missing_version(client, loc, ctx, error)
        return error

    data = _response_data(guarded(call, failure), ctx, action)
    meta = _mapping(data.get("metadata"))
    values = data.get("data")
    if values is None and meta.get("deletion_time"):
        raise _version_gone(meta, loc, ctx)
    if not isinstance(values, dict):
        raise SecretNotFound(
            f"{which} {loc.mount}/{loc.path} on {ctx.where} holds no data",
            reference=ctx.reference,
        )
    version = meta.get("version")
    return KvSecret(
        engine="kv2",
        data={str(k): SecretValue(_text(v)) for k, v in values.items()},
        version=version if isinstance(version, int) else None,
        created_time=meta.get("created_time") or None,
    )


def _refine_missing_version(
    client: hvac.Client, loc: VaultLocation, ctx: CallContext, error: SecretError
) -> SecretError:
    """Say whether the secret exists when a pinned version was not found."""
    try:
        response = client.secrets.kv.v2.read_secret_metadata(path=loc.path, mount_point=loc.mount)
        current = response["data"]["current_version"]
    except _LOOKUP_ERRORS:
        return error
    if not isinstance(current, int) or current < 1:
        return error
    return SecretNotFound(
        f"version {loc.version} of {loc.mount}/{loc.path} does not exist on {ctx.where} (the "
        f"current version is {current}; versions beyond the mount's max_versions are removed). "
        "Fix: pin an existing version, or drop version: to use the latest",
        reference=ctx.reference,
    )


def read_kv1(client: hvac.Client, loc: VaultLocation, ctx: CallContext) -> KvSecret:
    """Read a KV v1 secret."""
    action = f"reading {loc.mount}/{loc.path}"

    def call() -> Any:
        return client.secrets.kv.v1.read_secret(path=loc.path, mount_point=loc.mount)

    response = guarded(call, _failure(loc, ctx, action=action, api_path=f"{loc.mount}/{loc.path}"))
    values = _response_data(response, ctx, action)
    if values.keys() >= _VAULT_OWN_DATA or (isinstance(response, dict) and response.get("auth")):
        # the last check, where the mount's kind could not be looked up: a token's own facts
        raise VaultConfigError(
            f"the answer for {loc.mount}/{loc.path} on {ctx.where} is not a KV secret (it has "
            "the shape of Vault's own token data). Fix: correct the reference's mount: "
            "references read only KV secrets",
            reference=ctx.reference,
        )
    return KvSecret(engine="kv1", data={str(k): SecretValue(_text(v)) for k, v in values.items()})


def read_kv2_version(client: hvac.Client, loc: VaultLocation, ctx: CallContext) -> KvVersion:
    """The pinned (or current) version's facts from the metadata endpoint, without the data.

    Raises :class:`SecretAccessDenied` when the token may read data but not metadata.
    """
    action = f"reading the metadata of {loc.mount}/{loc.path}"

    def call() -> Any:
        return client.secrets.kv.v2.read_secret_metadata(path=loc.path, mount_point=loc.mount)

    response = guarded(
        call, _failure(loc, ctx, action=action, api_path=f"{loc.mount}/metadata/{loc.path}")
    )
    data = _response_data(response, ctx, action)
    current = data.get("current_version")
    versions = _mapping(data.get("versions"))
    wanted = loc.version if loc.version is not None else current
    info = versions.get(str(wanted)) if isinstance(wanted, int) else None
    if not isinstance(info, dict):
        if loc.version is None:
            raise SecretNotFound(
                f"the secret {loc.mount}/{loc.path} on {ctx.where} has no versions. Fix: "
                f"write it (bao kv put -mount={loc.mount} {loc.path} {loc.key}=...)",
                reference=ctx.reference,
            )
        raise SecretNotFound(
            f"version {loc.version} of {loc.mount}/{loc.path} does not exist on {ctx.where} "
            f"(the current version is {current}). Fix: pin an existing version, or drop "
            "version: to use the latest",
            reference=ctx.reference,
        )
    if info.get("destroyed") or info.get("deletion_time"):
        raise _version_gone({**info, "version": wanted}, loc, ctx)
    return KvVersion(version=wanted, created_time=info.get("created_time") or None)


def _current_kv2(
    client: hvac.Client, loc: VaultLocation, ctx: CallContext
) -> tuple[int, dict[str, Any]]:
    """``(current version, its raw data)``; ``(0, {})`` when the secret does not exist.

    A deleted or destroyed latest version has no data to keep: ``(version, {})``.
    """
    action = f"reading the current version of {loc.mount}/{loc.path} before writing"

    def call() -> Any:
        try:
            return client.secrets.kv.v2.read_secret_version(
                path=loc.path, mount_point=loc.mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath as exc:
            gone = _deleted_metadata(exc)
            if gone is not None and isinstance(gone.get("version"), int):
                return {"data": {"metadata": {"version": gone["version"]}, "data": {}}}
            if "no handler for route" not in _said(exc):
                return {"data": {}}  # no secret yet
            raise

    response = guarded(call, _failure(loc, ctx, action=action, api_path=_data_path(loc)))
    data = _response_data(response, ctx, action)
    meta = _mapping(data.get("metadata"))
    values = _mapping(data.get("data"))
    version = meta.get("version")
    return (version if isinstance(version, int) else 0), dict(values)


def write_kv2(
    client: hvac.Client,
    loc: VaultLocation,
    value: str,
    expected_version: int | None,
    ctx: CallContext,
) -> KvVersion:
    """Set ``loc.key`` to ``value``, keeping the secret's other keys, with check-and-set.

    The current version is read first; with ``expected_version`` it must match, and the write
    itself carries ``cas`` (the expected version, else the version just read, ``0`` when the
    secret is new), so a concurrent change between the read and the write is a conflict too.
    """
    target = f"{loc.mount}/{loc.path}"
    current, data = _current_kv2(client, loc, ctx)
    if expected_version is not None and current != expected_version:
        raise SecretConflict(
            f"check-and-set refused: {target} on {ctx.where} is at version {current}, not the "
            f"expected version {expected_version}; someone else changed it. Fix: read the "
            f"secret again and retry with expected_version={current} if the change is still "
            "wanted",
            reference=ctx.reference,
        )
    cas = expected_version if expected_version is not None else current
    data[loc.key] = value
    action = f"writing {target} (check-and-set on version {cas})"

    def call() -> Any:
        return client.secrets.kv.v2.create_or_update_secret(
            path=loc.path, secret=data, cas=cas, mount_point=loc.mount
        )

    def failure(exc: Exception) -> SecretError:
        if not isinstance(exc, hvac.exceptions.InvalidRequest):
            return translate(exc, ctx, action=action, api_path=_data_path(loc), capability="create")
        if "check-and-set" in _said(exc):
            return SecretConflict(
                f"check-and-set refused: {target} on {ctx.where} changed after version {cas} "
                "was read (a concurrent write). Fix: read the secret again and retry",
                reference=ctx.reference,
            )
        return translate(exc, ctx, action=action, api_path=_data_path(loc))

    try:
        written = _response_data(guarded(call, failure), ctx, action)
    finally:
        data.clear()
    version = written.get("version")
    return KvVersion(
        version=version if isinstance(version, int) else None,
        created_time=written.get("created_time") or None,
    )


def _current_kv1(client: hvac.Client, loc: VaultLocation, ctx: CallContext) -> dict[str, Any]:
    """The raw data of a KV v1 secret; ``{}`` when it does not exist yet."""
    action = f"reading {loc.mount}/{loc.path} before writing"

    def call() -> Any:
        try:
            return client.secrets.kv.v1.read_secret(path=loc.path, mount_point=loc.mount)
        except hvac.exceptions.InvalidPath as exc:
            if "no handler for route" not in _said(exc):
                return {"data": {}}  # no secret yet
            raise

    response = guarded(call, _failure(loc, ctx, action=action, api_path=f"{loc.mount}/{loc.path}"))
    return dict(_response_data(response, ctx, action))


def write_kv1(client: hvac.Client, loc: VaultLocation, value: str, ctx: CallContext) -> KvVersion:
    """Set ``loc.key`` to ``value`` on KV v1, keeping the other keys.

    KV v1 has no versions and no check-and-set: the last writer wins, and a concurrent write
    of another key between this read and write can be lost.
    """
    data = _current_kv1(client, loc, ctx)
    data[loc.key] = value
    action = f"writing {loc.mount}/{loc.path}"
    try:
        guarded(
            lambda: client.secrets.kv.v1.create_or_update_secret(
                path=loc.path, secret=data, mount_point=loc.mount
            ),
            lambda exc: translate(
                exc, ctx, action=action, api_path=f"{loc.mount}/{loc.path}", capability="update"
            ),
        )
    finally:
        data.clear()
    return KvVersion(version=None)
