"""The secret resolver: one per run, resolving ``vault:`` and ``env:`` references.

Vault is contacted only when a Vault reference is first used: an environment that uses only
``{env: NAME}`` references needs no Vault at all. Then the resolver logs in once, detects each
mount's KV version once and reads each distinct secret (mount, path, version) once, however
many data sources and threads ask for it.

A Vault that cannot be reached costs one timeout per run, not one per reference: after the
first connection failure, timeout, TLS failure or rejected login, every later call of the
resolver fails at once with the same cause (naming its own reference).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import hvac
import requests

from acumatica_datasource.redaction import Redactor
from acumatica_datasource.secrets.auth import TokenManager, login_method
from acumatica_datasource.secrets.client import make_client
from acumatica_datasource.secrets.config import (
    VaultConnection,
    prepare_ca_path,
    release,
    resolve_connection,
)
from acumatica_datasource.secrets.errors import (
    EnvSecretMissing,
    ReferenceRefused,
    SecretAccessDenied,
    SecretError,
    SecretNotFound,
    VaultAuthenticationError,
    VaultConfigError,
    VaultTLSError,
    VaultUnavailable,
)
from acumatica_datasource.secrets.failures import CallContext, guarded
from acumatica_datasource.secrets.kv import (
    Engine,
    KvSecret,
    KvVersion,
    detect_engine,
    read_kv1,
    read_kv2,
    read_kv2_version,
    write_kv1,
    write_kv2,
)
from acumatica_datasource.secrets.singleflight import SingleFlight
from acumatica_datasource.secrets.values import ResolvedSecret, SecretMetadata, SecretValue
from acumatica_datasource.spec.references import (
    RESERVED_VARIABLES,
    EnvSecretRef,
    InlineSecretRef,
    SecretReference,
    VaultSecretRef,
    kv_location_problems,
)
from acumatica_datasource.spec.vault import VaultSettings

logger = logging.getLogger("acumatica_datasource.secrets")

T = TypeVar("T")
_MAX_KEYS_SHOWN = 20
_FOR_THE_RUN = (VaultUnavailable, VaultTLSError, VaultAuthenticationError)
"""Failures of Vault itself (not of one secret): the rest of the run fails fast with them."""


def _refuse_reserved(ref: SecretReference) -> None:
    """The rules of validation, again before anything is read (a program may build a reference
    without validating it): no pipeline credential variable, nothing but a KV secret."""
    if isinstance(ref, EnvSecretRef) and RESERVED_VARIABLES.fullmatch(ref.env):
        raise ReferenceRefused(
            f"{ref.env} holds the pipeline's own credentials or settings, which must never be "
            "sent to a site: put the secret in a variable of its own or in Vault",
            reference=ref.describe(),
        )
    if isinstance(ref, VaultSecretRef):
        loc = ref.vault
        problems = kv_location_problems(loc.mount.strip("/"), loc.path.strip("/"))
        if problems:
            field, message = problems[0]
            raise ReferenceRefused(f"the reference's {field} {message}", reference=ref.describe())


@dataclass
class _Vault:
    connection: VaultConnection
    client: hvac.Client
    tokens: TokenManager


class SecretResolver:
    """Resolves secret references to values plus non-secret metadata.

    ``settings`` is the environment file's ``vault:`` block (``None``: environment variables
    only). ``environ`` replaces ``os.environ`` for every variable the resolver reads
    (``BAO_*``, ``VAULT_*``, ``HOME``, ``{env: NAME}`` references and credential sources).
    ``clock`` (monotonic seconds) exists for tests of token renewal; ``session`` supplies the
    ``requests`` session (proxies, instrumentation).

    Thread-safe. Not picklable. Call :meth:`close` (or use ``with``) when done.
    """

    def __init__(
        self,
        settings: VaultSettings | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._settings = settings
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._clock = clock or time.monotonic
        self._session = session
        self._lock = threading.Lock()
        self._vault: _Vault | None = None
        self._closed = False
        self._down: SecretError | None = None
        self._token_lock = threading.Lock()
        self._redact = Redactor()
        self._engines: SingleFlight[str, Engine | None] = SingleFlight()
        self._reads: SingleFlight[tuple[str, str, int | None], KvSecret] = SingleFlight()
        self._versions: SingleFlight[tuple[str, str, int | None], KvVersion] = SingleFlight()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self._vault else "idle")
        return f"<SecretResolver {state}>"

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a SecretResolver cannot be pickled: it holds a Vault token")

    def __enter__(self) -> SecretResolver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def logins(self) -> int:
        """How many times this resolver obtained a Vault token (0 before any Vault use)."""
        vault = self._vault
        return vault.tokens.logins if vault else 0

    # -- public API -------------------------------------------------------------------------

    def resolve(self, ref: SecretReference) -> ResolvedSecret:
        """The secret's value and metadata; raises :class:`SecretError` naming ``ref``."""
        _refuse_reserved(ref)
        if isinstance(ref, EnvSecretRef):
            return self._resolve_env(ref)
        if isinstance(ref, InlineSecretRef):
            return ResolvedSecret(
                value=SecretValue(ref.inline.get_secret_value()),
                metadata=SecretMetadata(kind="inline", reference=ref.describe()),
            )
        if not isinstance(ref, VaultSecretRef):
            raise TypeError(f"not a secret reference: {type(ref).__name__}")
        desc = ref.describe()
        vault = self._open(desc)
        loc = ref.vault
        secret = self._read(vault, ref)
        which = f"version {secret.version} of " if secret.version is not None else ""
        if loc.key not in secret.data:
            keys = sorted(secret.data)
            shown = ", ".join(keys[:_MAX_KEYS_SHOWN]) + (
                ", ..." if len(keys) > _MAX_KEYS_SHOWN else ""
            )
            raise SecretNotFound(
                f"{which}{loc.mount}/{loc.path} on {vault.connection.where()} has no key "
                f"{loc.key!r} (its keys: {shown or 'none'}). Fix: correct the reference's key, "
                f"or add it (bao kv patch -mount={loc.mount} {loc.path} {loc.key}=...)",
                reference=desc,
            )
        value = secret.data[loc.key]
        if not value:
            raise SecretNotFound(
                f"the key {loc.key!r} of {which}{loc.mount}/{loc.path} is empty. Fix: store "
                "the secret there",
                reference=desc,
            )
        logger.debug("resolved %s (%s, version %s)", desc, secret.engine, secret.version)
        return ResolvedSecret(
            value=value,
            metadata=self._vault_metadata(
                ref, vault, secret.engine, secret.version, secret.created_time
            ),
        )

    def metadata(self, ref: SecretReference) -> SecretMetadata:
        """The secret's metadata without reading its value where possible.

        KV v2: the metadata endpoint gives the pinned (or current) version and its creation
        time, so a rotation shows as a new version; when the token may not read metadata, the
        secret is read instead. KV v1 has no versions: nothing is read. An ``{env: NAME}``
        reference is described without looking at the variable.
        """
        _refuse_reserved(ref)
        if isinstance(ref, EnvSecretRef):
            return SecretMetadata(kind="env", reference=ref.describe(), variable=ref.env)
        if isinstance(ref, InlineSecretRef):
            return SecretMetadata(kind="inline", reference=ref.describe())
        desc = ref.describe()
        vault = self._open(desc)
        loc = ref.vault
        engine = self._engine(vault, ref)
        if engine == "kv1":
            return self._vault_metadata(ref, vault, "kv1", None, None)
        known = self._reads.peek((loc.mount, loc.path, loc.version))
        if known is not None:
            return self._vault_metadata(ref, vault, known.engine, known.version, known.created_time)
        ctx = self._ctx(vault, desc)
        try:
            info = self._versions.get(
                (loc.mount, loc.path, loc.version),
                lambda: self._call(vault, ctx, lambda: read_kv2_version(vault.client, loc, ctx)),
            )
        except SecretAccessDenied:
            logger.debug("metadata of %s not readable; reading the secret instead", desc)
        except SecretNotFound as exc:
            if engine is not None or type(exc) is not SecretNotFound:
                raise exc.about(desc) from None
            logger.debug("no KV v2 metadata for %s; the mount may be KV v1: reading it", desc)
        except SecretError as exc:
            raise exc.about(desc) from None
        else:
            return self._vault_metadata(ref, vault, "kv2", info.version, info.created_time)
        return self.resolve(ref).metadata

    def write(
        self, ref: VaultSecretRef, value: str, *, expected_version: int | None = None
    ) -> SecretMetadata:
        """Store ``value`` at ``ref`` (other keys of the secret are kept); return the new metadata.

        KV v2: check-and-set. With ``expected_version`` the write succeeds only if the secret
        is still at that version; without it, only if nobody writes between this method's read
        and its write. Either way a mismatch raises :class:`SecretConflict`.
        KV v1 has no versions: ``expected_version`` must be ``None`` and the last writer wins.
        A reference pinned to a version cannot be written.
        """
        if not isinstance(ref, VaultSecretRef):
            raise VaultConfigError(
                "only a vault: reference can be written",
                reference=ref.describe() if isinstance(ref, EnvSecretRef) else None,
            )
        _refuse_reserved(ref)
        desc = ref.describe()
        loc = ref.vault
        if loc.version is not None:
            raise VaultConfigError(
                "a reference pinned to a version cannot be written: the new version would "
                "never be used. Fix: drop version: from the reference",
                reference=desc,
            )
        if not isinstance(value, str) or not value:
            raise SecretError("the value to write must be a non-empty string", reference=desc)
        vault = self._open(desc)
        engine = self._engine(vault, ref)
        if engine is None:
            # Guessing could write KV v2's body to a KV v1 mount under "<mount>/data/...".
            raise VaultConfigError(
                f"the KV version of {loc.mount}/ cannot be looked up with this token, so it is "
                "not safe to write. Fix: declare engine: kv2 (or kv1) in the reference",
                reference=desc,
            )
        self._redact.add(value)
        ctx = self._ctx(vault, desc)
        try:
            if engine == "kv1":
                if expected_version is not None:
                    raise VaultConfigError(
                        f"check-and-set needs KV v2, but {loc.mount}/ is KV v1. Fix: pass "
                        "expected_version=None (KV v1 writes are last-writer-wins)",
                        reference=desc,
                    )
                written = self._call(vault, ctx, lambda: write_kv1(vault.client, loc, value, ctx))
            else:
                written = self._call(
                    vault,
                    ctx,
                    lambda: write_kv2(vault.client, loc, value, expected_version, ctx),
                )
        finally:
            self._reads.forget(lambda k: k[0] == loc.mount and k[1] == loc.path and k[2] is None)
            self._versions.forget(lambda k: k[0] == loc.mount and k[1] == loc.path)
        logger.info("wrote %s (%s, new version %s)", desc, engine, written.version)
        return self._vault_metadata(ref, vault, engine, written.version, written.created_time)

    def forget(self, ref: SecretReference) -> None:
        """Forget what was read of a Vault reference's secret: the next :meth:`resolve` or
        :meth:`metadata` asks Vault again (to see a rotation). Other secrets stay cached."""
        if not isinstance(ref, VaultSecretRef):
            return
        loc = ref.vault
        self._reads.forget(lambda k: k[0] == loc.mount and k[1] == loc.path)
        self._versions.forget(lambda k: k[0] == loc.mount and k[1] == loc.path)

    def close(self) -> None:
        """Forget cached secrets and the token; release the HTTP session."""
        with self._lock:
            self._closed = True
            vault, self._vault = self._vault, None
        self._reads.clear()
        self._versions.clear()
        self._engines.clear()
        self._redact.clear()
        if vault is not None:
            vault.client.token = None
            vault.client.adapter.close()
            release(vault.connection)

    # -- internals --------------------------------------------------------------------------

    def _resolve_env(self, ref: EnvSecretRef) -> ResolvedSecret:
        value = self._environ.get(ref.env)
        if not value:
            state = "empty" if value is not None else "not set"
            raise EnvSecretMissing(
                f"the environment variable {ref.env} is {state}. Fix: set it in the pipeline's "
                "environment (e.g. from the CI's secret store), or use a vault: reference",
                reference=ref.describe(),
            )
        return ResolvedSecret(
            value=SecretValue(value),
            metadata=SecretMetadata(kind="env", reference=ref.describe(), variable=ref.env),
        )

    def _open(self, desc: str) -> _Vault:
        with self._lock:
            if self._closed:
                raise SecretError("the secret resolver is closed", reference=desc)
            if self._vault is not None:
                return self._vault
            connection = guarded(
                lambda: prepare_ca_path(resolve_connection(self._settings, self._environ)),
                lambda exc: exc.about(desc),
                catch=(SecretError,),
            )
            auth = self._settings.auth if self._settings is not None else None
            method = login_method(auth, self._environ, self._redact)
            self._vault = _Vault(
                connection=connection,
                client=make_client(connection, self._session),
                tokens=TokenManager(method, self._clock),
            )
            logger.debug("using %s with %s", connection.where(), method.describe())
            return self._vault

    def _ctx(self, vault: _Vault, desc: str) -> CallContext:
        return CallContext(connection=vault.connection, reference=desc, redact=self._redact)

    def _call(self, vault: _Vault, ctx: CallContext, action: Callable[[], T]) -> T:
        """Run ``action`` with a live token; after a 403, retry once if the token was replaced.

        Once Vault itself failed (see :data:`_FOR_THE_RUN`), fail at once with that cause; the
        token is checked by one caller at a time, so those waiting see that caller's failure
        instead of trying again."""
        try:
            self._fail_fast(ctx)
            with self._token_lock:
                self._fail_fast(ctx)
                generation = vault.tokens.ensure(vault.client, ctx)
            try:
                return action()
            except SecretAccessDenied as exc:
                denied = exc
            if vault.tokens.recheck(generation, vault.client, ctx):
                return action()
            raise denied
        except _FOR_THE_RUN as exc:
            with self._lock:
                if self._down is None:
                    self._down = exc
            raise

    def _fail_fast(self, ctx: CallContext) -> None:
        down = self._down
        if down is not None:
            raise down.about(ctx.reference)

    def _engine(self, vault: _Vault, ref: VaultSecretRef) -> Engine | None:
        """The mount's KV version: declared, implied by a pinned version, or looked up. The
        lookup runs in every case (once per mount), as it also proves that the mount is a KV
        engine (:func:`detect_engine` raises otherwise)."""
        loc = ref.vault
        ctx = self._ctx(vault, ref.describe())
        detected = guarded(
            lambda: self._engines.get(
                loc.mount,
                lambda: self._call(vault, ctx, lambda: detect_engine(vault.client, loc.mount, ctx)),
            ),
            lambda exc: exc.about(ref.describe()),
            catch=(SecretError,),
        )
        if loc.engine is not None:
            return loc.engine
        if loc.version is not None:
            return "kv2"
        return detected

    def _read(self, vault: _Vault, ref: VaultSecretRef) -> KvSecret:
        loc = ref.vault
        return guarded(
            lambda: self._reads.get(
                (loc.mount, loc.path, loc.version), lambda: self._fetch(vault, ref)
            ),
            lambda exc: exc.about(ref.describe()),
            catch=(SecretError,),
        )

    def _fetch(self, vault: _Vault, ref: VaultSecretRef) -> KvSecret:
        loc = ref.vault
        ctx = self._ctx(vault, ref.describe())
        engine = self._engine(vault, ref)
        logger.debug(
            "reading %s/%s from Vault (%s, version %s)",
            loc.mount,
            loc.path,
            engine or "engine unknown",
            loc.version or "latest",
        )
        if engine == "kv1":
            return self._call(vault, ctx, lambda: read_kv1(vault.client, loc, ctx))
        if engine == "kv2":
            return self._call(vault, ctx, lambda: read_kv2(vault.client, loc, ctx))
        # The mount could not be looked up: try KV v2 (the default), then KV v1.
        try:
            secret = self._call(vault, ctx, lambda: read_kv2(vault.client, loc, ctx))
        except SecretNotFound as exc:
            if type(exc) is not SecretNotFound:
                raise
            first = exc
        else:
            self._engines.put(loc.mount, "kv2")
            return secret
        try:
            found = self._call(vault, ctx, lambda: read_kv1(vault.client, loc, ctx))
        except SecretError:
            found = None
        if found is None:
            raise first
        logger.debug("%s/ answered as KV v1", loc.mount)
        self._engines.put(loc.mount, "kv1")
        return found

    def _vault_metadata(
        self,
        ref: VaultSecretRef,
        vault: _Vault,
        engine: Engine | None,
        version: int | None,
        created_time: str | None,
    ) -> SecretMetadata:
        loc = ref.vault
        return SecretMetadata(
            kind="vault",
            reference=ref.describe(),
            mount=loc.mount,
            path=loc.path,
            key=loc.key,
            engine=engine,
            version=version,
            created_time=created_time,
            namespace=vault.connection.namespace,
        )
