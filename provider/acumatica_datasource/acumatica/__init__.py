"""A client for the parts of Acumatica this product uses (REST sessions, OAuth, entities).

Built on httpx; a library of its own: it knows nothing of data-source specs or Pulumi.

Names are loaded on first use (see :mod:`acumatica_datasource.exports`), so importing one
light module of the package (e.g. its cancellation or progress board) loads no HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acumatica_datasource.exports import lazy_exports

if TYPE_CHECKING:
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

_MODULES = {
    "GATE": "limits",
    "AcumaticaClient": "client",
    "AcumaticaError": "errors",
    "AuthenticationError": "errors",
    "AuthorizeProbe": "client",
    "Cancellation": "cancellation",
    "ConnectionReset": "errors",
    "CredentialsRejected": "errors",
    "DiscoveryCache": "client",
    "Forbidden": "errors",
    "LoginLimitReached": "errors",
    "LogoutFailed": "errors",
    "NotFound": "errors",
    "OAuthError": "errors",
    "PasswordChangeRequired": "errors",
    "ProtocolError": "errors",
    "RateLimited": "errors",
    "RequestTimeout": "errors",
    "ResponseTooLarge": "errors",
    "ServerUnavailable": "errors",
    "Session": "client",
    "SessionExpired": "errors",
    "SessionGate": "limits",
    "SessionLimits": "limits",
    "SiteInfo": "site",
    "TLSFailure": "errors",
    "TenantSetupIncomplete": "errors",
    "TenantUnknown": "errors",
    "TokenSet": "client",
    "TransportError": "errors",
    "UnexpectedServerError": "errors",
    "Unreachable": "errors",
    "UserLocked": "errors",
    "probe_key_field": "site",
    "version_key": "site",
}

__getattr__ = lazy_exports(__name__, _MODULES)

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
