"""Secret references resolved at deploy time: Vault (through hvac) and environment variables.

``SecretResolver(settings, environ=...)`` resolves ``{vault: ...}`` and ``{env: NAME}``
references to a :class:`SecretValue` (which never prints itself and cannot be pickled) plus
:class:`SecretMetadata` (mount, path, key, KV version and its creation time) for drift
detection, reads KV v2 metadata without the value, and writes back with check-and-set.
Every failure is a :class:`SecretError` whose message names the reference, never the value.
"""

from acumatica_datasource.secrets.config import (
    DEFAULT_TIMEOUT,
    InsecureVaultWarning,
    VaultConnection,
    resolve_connection,
)
from acumatica_datasource.secrets.errors import (
    EnvSecretMissing,
    ReferenceRefused,
    SecretAccessDenied,
    SecretConflict,
    SecretError,
    SecretNotFound,
    SecretVersionDeleted,
    SecretVersionDestroyed,
    VaultAuthenticationError,
    VaultConfigError,
    VaultNamespaceNotFound,
    VaultRedirect,
    VaultSealed,
    VaultTimeout,
    VaultTLSError,
    VaultUnavailable,
)
from acumatica_datasource.secrets.resolver import SecretResolver
from acumatica_datasource.secrets.values import (
    REDACTED,
    ResolvedSecret,
    SecretMetadata,
    SecretValue,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "REDACTED",
    "EnvSecretMissing",
    "InsecureVaultWarning",
    "ReferenceRefused",
    "ResolvedSecret",
    "SecretAccessDenied",
    "SecretConflict",
    "SecretError",
    "SecretMetadata",
    "SecretNotFound",
    "SecretResolver",
    "SecretValue",
    "SecretVersionDeleted",
    "SecretVersionDestroyed",
    "VaultAuthenticationError",
    "VaultConfigError",
    "VaultConnection",
    "VaultNamespaceNotFound",
    "VaultRedirect",
    "VaultSealed",
    "VaultTLSError",
    "VaultTimeout",
    "VaultUnavailable",
    "resolve_connection",
]
