"""What can go wrong talking to an Acumatica site, as a typed hierarchy.

Every message names the site (and the user or client where it matters) and what to do;
text that came from the server passes through a redactor so a secret can never be echoed.
"""

from __future__ import annotations

from acumatica_datasource.errors import AcumaticaDataSourceError


class AcumaticaError(AcumaticaDataSourceError):
    """An Acumatica site refused or failed a request."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        site: str,
        status: int | None = None,
        exception_type: str | None = None,
    ) -> None:
        super().__init__(f"{site}: {message}")
        self.site = site
        self.status = status
        self.exception_type = exception_type
        self.detail = message
        """The message without the site prefix."""

    def extend(self, text: str) -> None:
        """Append ``text`` to the message (e.g. what the failure may have left behind)."""
        self.detail += text
        self.args = (f"{self.site}: {self.detail}",)


# --- authentication -------------------------------------------------------------------


class AuthenticationError(AcumaticaError):
    """The site did not let the user or client in."""


class CredentialsRejected(AuthenticationError):
    """Wrong user name or password (``Invalid credentials``)."""


class TenantUnknown(AuthenticationError):
    """The company (tenant) does not exist on a multi-tenant site."""


class PasswordChangeRequired(AuthenticationError):
    """The user must change the password before logging in."""


class UserLocked(AuthenticationError):
    """The user is locked out or disabled."""


class LoginLimitReached(AuthenticationError):
    """The license's concurrent API sessions are all in use ("API Login Limit")."""

    retryable = True

    def __init__(
        self, message: str, *, site: str, status: int | None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, site=site, status=status)
        self.retry_after = retry_after


class OAuthError(AuthenticationError):
    """The token endpoint answered with an RFC 6749 error."""

    def __init__(self, message: str, *, site: str, error: str, status: int | None) -> None:
        super().__init__(message, site=site, status=status)
        self.error = error


class SessionExpired(AuthenticationError):
    """The session or token is no longer valid (401)."""


# --- reading data ---------------------------------------------------------------------


class Forbidden(AcumaticaError):
    """The user lacks rights to the form behind an entity (403)."""


class TenantSetupIncomplete(AcumaticaError):
    """Authenticated, but the tenant's setup is unfinished (``PXSetupNotEnteredException``)."""


class NotFound(AcumaticaError):
    """An endpoint, endpoint version or entity does not exist on the site (404)."""


class RateLimited(AcumaticaError):
    """The request queue is over its limit (429)."""

    retryable = True

    def __init__(self, message: str, *, site: str, retry_after: float | None) -> None:
        super().__init__(message, site=site, status=429)
        self.retry_after = retry_after


class ServerUnavailable(AcumaticaError):
    """A gateway or the application pool is down for a moment (502, 503, 504)."""

    retryable = True

    def __init__(
        self, message: str, *, site: str, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(message, site=site, status=status)
        self.retry_after = retry_after


class UnexpectedServerError(AcumaticaError):
    """Any other error answer; carries Acumatica's ``exceptionType`` and message."""


class ProtocolError(AcumaticaError):
    """The answer does not look like Acumatica's (wrong URL, a proxy's page...)."""


class ResponseTooLarge(ProtocolError):
    """An answer is larger than the limit for its request (see :mod:`.connection`)."""


# --- transport ------------------------------------------------------------------------


class TransportError(AcumaticaError):
    """The request did not complete."""


class Unreachable(TransportError):
    """No connection could be made (DNS, refused, network down)."""

    retryable = True


class ConnectionReset(TransportError):
    """The connection broke before a whole answer arrived."""

    retryable = True


class RequestTimeout(TransportError):
    """No answer within the data source's ``operation_timeout``."""


class TLSFailure(TransportError):
    """The site's certificate could not be verified."""


class LogoutFailed(AcumaticaError):
    """A session could not be closed: it holds a license slot until it expires."""
