"""Logging in to Vault and keeping the token alive for one run.

Methods: ``token`` (``vault.auth.token``, else ``BAO_TOKEN`` / ``VAULT_TOKEN``, else
``~/.vault-token``, which is read and never written), ``approle``, ``jwt`` and ``kubernetes``.
:class:`TokenManager` logs in once, lazily, under a lock; renews a renewable token when two
thirds of its TTL have passed; logs in again when a token cannot be renewed (login methods
only) or turns out to be revoked.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hvac
import hvac.exceptions

from acumatica_datasource.redaction import Redactor
from acumatica_datasource.secrets.config import env_value, home_directory, read_credential
from acumatica_datasource.secrets.errors import (
    SecretError,
    VaultAuthenticationError,
    VaultConfigError,
)
from acumatica_datasource.secrets.failures import CallContext, guarded, server_said, translate
from acumatica_datasource.spec.vault import (
    AppRoleAuth,
    CredentialSource,
    JwtAuth,
    KubernetesAuth,
    TokenAuth,
)

logger = logging.getLogger("acumatica_datasource.secrets")

RENEW_AT = 2 / 3
"""Renew (or log in again) once this fraction of the token's TTL has passed."""


@dataclass
class Lease:
    """A token and its lifetime as Vault reported it."""

    token: str = field(repr=False)
    ttl: float
    """Seconds the token lived when obtained; 0 means it does not expire."""
    renewable: bool
    obtained_at: float


class LoginMethod(ABC):
    """How to obtain a token."""

    relogin: bool = True
    """Whether a new token can be obtained when the current one dies."""
    mount: str = "token"
    """The auth method's mount (``auth/<mount>``)."""

    def __init__(self, environ: Mapping[str, str], redact: Redactor) -> None:
        self._environ = environ
        self._redact = redact

    @abstractmethod
    def describe(self) -> str:
        """E.g. ``AppRole (auth/approle, secret id from env:SECRET_ID)``, for messages."""

    @abstractmethod
    def fix(self) -> str:
        """What to check when logging in fails."""

    @abstractmethod
    def login(self, client: hvac.Client, ctx: CallContext, now: float) -> Lease:
        """Put a token on ``client`` and return its lease; raises :class:`SecretError`."""

    def _credential(self, source: CredentialSource, what: str) -> str:
        value = read_credential(source, self._environ, what)
        self._redact.add(value)
        return value


class CredentialLogin(LoginMethod):
    """A login request (AppRole, JWT, Kubernetes) that returns a new token."""

    @abstractmethod
    def _login(self, client: hvac.Client) -> Any:
        """Send the login request; return hvac's response."""

    def login(self, client: hvac.Client, ctx: CallContext, now: float) -> Lease:
        """Log in and return the new token's lease; raises :class:`SecretError`."""
        client.token = None
        action = f"logging in with {self.describe()}"
        response = guarded(lambda: self._login(client), lambda exc: self._failure(exc, ctx, action))
        auth = response.get("auth") if isinstance(response, dict) else None
        if not isinstance(auth, dict) or not auth.get("client_token"):
            raise VaultAuthenticationError(
                f"{ctx.where} returned no token when {action}", reference=ctx.reference
            )
        token = str(auth["client_token"])
        self._redact.add(token)
        client.token = token
        return Lease(
            token=token,
            ttl=float(auth.get("lease_duration") or 0),
            renewable=bool(auth.get("renewable")),
            obtained_at=now,
        )

    def _failure(self, exc: Exception, ctx: CallContext, action: str) -> SecretError:
        if isinstance(exc, hvac.exceptions.VaultError):
            said = server_said(exc, ctx.redact)
            if "namespace not found" in said.lower():
                return translate(exc, ctx, action=action)
            if isinstance(exc, hvac.exceptions.InvalidPath) and "no handler" in said:
                return VaultConfigError(
                    f"cannot log in with {self.describe()}: no such auth method is enabled on "
                    f"{ctx.where}. Fix: correct the mount in vault.auth, or enable it "
                    "(bao auth enable)",
                    reference=ctx.reference,
                )
            if isinstance(
                exc,
                hvac.exceptions.Forbidden
                | hvac.exceptions.InvalidRequest
                | hvac.exceptions.Unauthorized
                | hvac.exceptions.InvalidPath,
            ):
                reason = said or "permission denied"
                if isinstance(exc, hvac.exceptions.Forbidden):
                    # Vault answers the same for rejected credentials and an unknown mount.
                    reason += (
                        f" (the credentials were rejected, or no auth method is enabled at "
                        f"auth/{self.mount})"
                    )
                return VaultAuthenticationError(
                    f"{ctx.where} refused the login with {self.describe()}: {reason}. "
                    f"Fix: {self.fix()}",
                    reference=ctx.reference,
                )
        return translate(exc, ctx, action=action)


class StaticToken(LoginMethod):
    """A token given from outside; it is validated with ``lookup-self`` but never replaced."""

    relogin = False

    def __init__(
        self, auth: TokenAuth | None, environ: Mapping[str, str], redact: Redactor
    ) -> None:
        super().__init__(environ, redact)
        self._auth = auth
        self._source: str | None = None

    def describe(self) -> str:
        return f"a token from {self._source}" if self._source else "a token"

    def fix(self) -> str:
        return (
            "provide a valid token (vault.auth.token, BAO_TOKEN or VAULT_TOKEN, or "
            "`bao login` for ~/.vault-token)"
        )

    def _read_token(self) -> str:
        if self._auth is not None and self._auth.token is not None:
            self._source = self._auth.token.describe()
            return self._credential(self._auth.token, "Vault token")
        found = env_value(self._environ, "TOKEN")
        if found is not None:
            self._source = f"env:{found[1]}"
            self._redact.add(found[0])
            return found[0]
        token_file = home_directory(self._environ) / ".vault-token"
        if token_file.is_file():
            self._source = f"file:{token_file}"
            return self._credential(CredentialSource(file=str(token_file)), "Vault token")
        raise VaultAuthenticationError(
            "no Vault token is available. Fix: set vault.auth (token, approle, jwt or "
            "kubernetes) in the environment file, set BAO_TOKEN or VAULT_TOKEN, or log in "
            f"with `bao login` (which writes {token_file})"
        )

    def login(self, client: hvac.Client, ctx: CallContext, now: float) -> Lease:
        token = guarded(
            self._read_token, lambda exc: exc.about(ctx.reference), catch=(SecretError,)
        )
        client.token = token
        info = lookup_self(client, ctx, self)
        if info is None:
            raise VaultAuthenticationError(
                f"{ctx.where} rejected {self.describe()} (permission denied on "
                "auth/token/lookup-self): the token is invalid, expired or revoked (or "
                f"lacks the default policy). Fix: {self.fix()}",
                reference=ctx.reference,
            )
        return Lease(
            token=token,
            ttl=float(info.get("ttl") or 0),
            renewable=bool(info.get("renewable")),
            obtained_at=now,
        )


class AppRoleLogin(CredentialLogin):
    """AppRole: a role id and a secret id."""

    def __init__(self, auth: AppRoleAuth, environ: Mapping[str, str], redact: Redactor) -> None:
        super().__init__(environ, redact)
        self._auth = auth
        self.mount = auth.mount

    def describe(self) -> str:
        a = self._auth
        role = a.role_id.describe() if isinstance(a.role_id, CredentialSource) else "given"
        return f"AppRole (auth/{a.mount}, role id {role}, secret id from {a.secret_id.describe()})"

    def fix(self) -> str:
        return (
            "check the role id and that the secret id is current (secret ids expire and can "
            "be single-use)"
        )

    def _login(self, client: hvac.Client) -> Any:
        a = self._auth
        role_id = (
            self._credential(a.role_id, "AppRole role id")
            if isinstance(a.role_id, CredentialSource)
            else a.role_id
        )
        secret_id = self._credential(a.secret_id, "AppRole secret id")
        return client.auth.approle.login(
            role_id=role_id, secret_id=secret_id, use_token=False, mount_point=a.mount
        )


class JwtLogin(CredentialLogin):
    """JWT/OIDC: a CI identity token exchanged for a Vault token."""

    def __init__(self, auth: JwtAuth, environ: Mapping[str, str], redact: Redactor) -> None:
        super().__init__(environ, redact)
        self._auth = auth
        self.mount = auth.mount

    def describe(self) -> str:
        a = self._auth
        return f"JWT (auth/{a.mount}, role {a.role}, token from {a.token.describe()})"

    def fix(self) -> str:
        return (
            "check that the identity token is fresh and that its issuer, audience and claims "
            "match the role's bound_audiences / bound_claims"
        )

    def _login(self, client: hvac.Client) -> Any:
        a = self._auth
        jwt = self._credential(a.token, "JWT")
        return client.auth.jwt.jwt_login(role=a.role, jwt=jwt, use_token=False, path=a.mount)


class KubernetesLogin(CredentialLogin):
    """Kubernetes: the pod's service-account token (re-read at each login: it rotates)."""

    def __init__(self, auth: KubernetesAuth, environ: Mapping[str, str], redact: Redactor) -> None:
        super().__init__(environ, redact)
        self._auth = auth
        self.mount = auth.mount

    def describe(self) -> str:
        a = self._auth
        return f"Kubernetes (auth/{a.mount}, role {a.role}, token file {a.token_file})"

    def fix(self) -> str:
        return (
            "check that the service account and namespace are bound to the role and that "
            "Vault can reach the Kubernetes API (TokenReview)"
        )

    def _login(self, client: hvac.Client) -> Any:
        a = self._auth
        jwt = self._credential(CredentialSource(file=a.token_file), "service-account token")
        return client.auth.kubernetes.login(
            role=a.role, jwt=jwt, use_token=False, mount_point=a.mount
        )


def login_method(
    auth: TokenAuth | AppRoleAuth | JwtAuth | KubernetesAuth | None,
    environ: Mapping[str, str],
    redact: Redactor,
) -> LoginMethod:
    """The login method for ``vault.auth`` (a token when absent); the credentials and tokens
    it handles are added to ``redact``."""
    if isinstance(auth, AppRoleAuth):
        return AppRoleLogin(auth, environ, redact)
    if isinstance(auth, JwtAuth):
        return JwtLogin(auth, environ, redact)
    if isinstance(auth, KubernetesAuth):
        return KubernetesLogin(auth, environ, redact)
    return StaticToken(auth, environ, redact)


def lookup_self(
    client: hvac.Client, ctx: CallContext, method: LoginMethod
) -> dict[str, Any] | None:
    """The token's own facts; ``None`` when Vault refuses the token (403)."""
    action = f"checking {method.describe()}"
    response = guarded(
        lambda: _unless_forbidden(client.auth.token.lookup_self),
        lambda exc: translate(exc, ctx, action=action),
    )
    if response is None:
        return None
    data = response.get("data") if isinstance(response, dict) else None
    return data if isinstance(data, dict) else {}


def _unless_forbidden(call: Callable[[], Any]) -> Any:
    """``call()``, or ``None`` when Vault answers 403."""
    try:
        return call()
    except hvac.exceptions.Forbidden:
        return None


class TokenManager:
    """One token per resolver: lazy login, renewal near the end of the TTL, re-login."""

    def __init__(self, method: LoginMethod, clock: Callable[[], float]) -> None:
        self._method = method
        self._clock = clock
        self._lock = threading.Lock()
        self._lease: Lease | None = None
        self._generation = 0
        self.logins = 0
        """How many times a token was obtained (for diagnostics and tests)."""
        self.renewals = 0

    def ensure(self, client: hvac.Client, ctx: CallContext) -> int:
        """Make sure the client holds a live token; returns the token's generation."""
        with self._lock:
            if self._lease is None:
                self._login(client, ctx)
            else:
                self._refresh_if_due(self._lease, client, ctx)
            return self._generation

    def recheck(self, generation: int, client: hvac.Client, ctx: CallContext) -> bool:
        """After a 403: whether to retry with a new token.

        ``False`` means the token is fine, so the denial is real. Raises
        :class:`VaultAuthenticationError` when the token is dead and cannot be replaced.
        """
        with self._lock:
            if generation != self._generation:
                return True
            if lookup_self(client, ctx, self._method) is not None:
                return False
            if not self._method.relogin:
                raise VaultAuthenticationError(
                    f"{ctx.where} no longer accepts {self._method.describe()}: it was revoked "
                    f"or has expired. Fix: {self._method.fix()}",
                    reference=ctx.reference,
                )
            logger.info("Vault token was revoked or expired; logging in again")
            self._login(client, ctx)
            return True

    def _login(self, client: hvac.Client, ctx: CallContext) -> None:
        self._lease = self._method.login(client, ctx, self._clock())
        self._generation += 1
        self.logins += 1
        ttl = f"{self._lease.ttl:g} s" if self._lease.ttl else "no expiry"
        logger.debug(
            "Vault token obtained with %s (TTL %s, %srenewable)",
            self._method.describe(),
            ttl,
            "" if self._lease.renewable else "not ",
        )

    def _refresh_if_due(self, lease: Lease, client: hvac.Client, ctx: CallContext) -> None:
        if lease.ttl <= 0:
            return
        now = self._clock()
        age = now - lease.obtained_at
        if age < lease.ttl * RENEW_AT:
            return
        if lease.renewable:
            granted = self._renew(client, ctx)
            if granted is not None and granted > max(lease.ttl - age, 0) + 1:
                lease.ttl, lease.obtained_at = granted, now
                self.renewals += 1
                logger.debug("Vault token renewed (TTL %g s)", granted)
                return
            lease.renewable = False
            if granted is not None:
                logger.debug("Vault token reached its maximum TTL (%g s left)", granted)
                lease.ttl, lease.obtained_at = granted, now
        if self._method.relogin:
            logger.debug("Vault token near its end; logging in again")
            self._login(client, ctx)
        elif lease.ttl and now - lease.obtained_at >= lease.ttl:
            raise VaultAuthenticationError(
                f"{self._method.describe()} has expired. Fix: {self._method.fix()}",
                reference=ctx.reference,
            )

    def _renew(self, client: hvac.Client, ctx: CallContext) -> float | None:
        """The granted TTL, or ``None`` when Vault refuses to renew (403)."""
        response = guarded(
            lambda: _unless_forbidden(client.auth.token.renew_self),
            lambda exc: translate(exc, ctx, action="renewing the Vault token"),
        )
        auth = response.get("auth") if isinstance(response, dict) else None
        if not isinstance(auth, dict):
            return None
        return float(auth.get("lease_duration") or 0)
