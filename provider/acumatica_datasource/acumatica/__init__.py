"""A client for the parts of Acumatica this product uses (REST sessions, OAuth, entities).

Built on httpx; a library of its own: it knows nothing of data-source specs or Pulumi.
"""

from acumatica_datasource.acumatica.cancellation import Cancellation
from acumatica_datasource.acumatica.client import (
    AcumaticaClient,
    AuthorizeProbe,
    DiscoveryCache,
    Session,
    TokenSet,
)
from acumatica_datasource.acumatica.errors import (
    AcumaticaError,
    AuthenticationError,
    ConnectionReset,
    CredentialsRejected,
    Forbidden,
    LoginLimitReached,
    LogoutFailed,
    NotFound,
    OAuthError,
    PasswordChangeRequired,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    ServerUnavailable,
    SessionExpired,
    TenantSetupIncomplete,
    TenantUnknown,
    TLSFailure,
    TransportError,
    UnexpectedServerError,
    Unreachable,
    UserLocked,
)
from acumatica_datasource.acumatica.limits import GATE, SessionGate, SessionLimits
from acumatica_datasource.acumatica.site import SiteInfo, probe_key_field, version_key

__all__ = [
    "GATE",
    "AcumaticaClient",
    "AcumaticaError",
    "AuthenticationError",
    "AuthorizeProbe",
    "Cancellation",
    "ConnectionReset",
    "CredentialsRejected",
    "DiscoveryCache",
    "Forbidden",
    "LoginLimitReached",
    "LogoutFailed",
    "NotFound",
    "OAuthError",
    "PasswordChangeRequired",
    "ProtocolError",
    "RateLimited",
    "RequestTimeout",
    "ResponseTooLarge",
    "ServerUnavailable",
    "Session",
    "SessionExpired",
    "SessionGate",
    "SessionLimits",
    "SiteInfo",
    "TLSFailure",
    "TenantSetupIncomplete",
    "TenantUnknown",
    "TokenSet",
    "TransportError",
    "UnexpectedServerError",
    "Unreachable",
    "UserLocked",
    "probe_key_field",
    "version_key",
]
