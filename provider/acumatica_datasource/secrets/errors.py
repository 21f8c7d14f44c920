"""Errors of the secrets layer.

Each one is a single message for a person: which reference (``vault:secret/app#password`` or
``env:NAME``), what went wrong and how to fix it. No message ever contains a secret value or a
Vault token, and none chains the ``hvac`` / ``requests`` exception it was made from (those can
carry response bodies and request headers).
"""

from __future__ import annotations

from acumatica_datasource.errors import AcumaticaDataSourceError


class SecretError(AcumaticaDataSourceError):
    """A secret could not be resolved, described, or written."""

    def __init__(self, message: str, *, reference: str | None = None) -> None:
        self.reference = reference
        """The reference (``describe()`` string) the error is about, when there is one."""
        self.detail = message
        """The message without the reference prefix."""
        super().__init__(f"{reference}: {message}" if reference else message)

    def about(self, reference: str | None) -> SecretError:
        """The same error about ``reference`` (errors are shared by single-flight waiters)."""
        if self.reference == reference:
            return self
        return type(self)(self.detail, reference=reference)


class VaultConfigError(SecretError):
    """Vault settings are missing or wrong (address, TLS files, credentials, engine)."""


class VaultNamespaceNotFound(VaultConfigError):
    """The configured Vault namespace does not exist."""


class VaultAuthenticationError(SecretError):
    """Logging in failed, or the token is invalid, expired or revoked."""


class SecretAccessDenied(SecretError):
    """The token is valid but its policies do not allow the operation."""


class SecretNotFound(SecretError):
    """The mount, path, key or version does not exist."""


class SecretVersionDeleted(SecretNotFound):
    """The KV v2 version was soft-deleted (it can be undeleted)."""


class SecretVersionDestroyed(SecretNotFound):
    """The KV v2 version was destroyed (its data is gone for good)."""


class SecretConflict(SecretError):
    """A check-and-set write found a different current version."""


class VaultUnavailable(SecretError):
    """Vault cannot serve the request: unreachable, sealed, overloaded or failing."""


class VaultSealed(VaultUnavailable):
    """Vault is sealed."""


class VaultTimeout(VaultUnavailable):
    """Vault did not answer in time."""


class VaultTLSError(SecretError):
    """The TLS connection to Vault failed (certificate verification, client certificate)."""


class ReferenceRefused(SecretError):
    """A reference that would reach the pipeline's own credentials (an ``{env: NAME}`` of
    Vault, Pulumi or acumatica-ds) or Vault's own APIs instead of a KV secret."""


class VaultRedirect(VaultConfigError):
    """Vault answered with a redirect to another address; it is never followed."""


class EnvSecretMissing(SecretError):
    """An ``{env: NAME}`` reference names a variable that is unset or empty."""
