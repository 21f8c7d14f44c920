"""HTTP to one Acumatica site: timeouts, TLS, retries, and transport errors made typed."""

from __future__ import annotations

import functools
import ipaddress
import random
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.acumatica import errors, responses
from acumatica_datasource.redaction import Redactor

USER_AGENT = "acumatica-ds/0.1 (+https://github.com/acumatica-datasource)"
MAX_RETRY_AFTER = 30.0
"""Longest ``Retry-After`` honoured (seconds); the operation timeout bounds it too."""
MAX_BACKOFF = 5.0
"""Longest backoff between two attempts (seconds)."""
MAX_ATTEMPTS = 8

Retryable = Callable[[errors.AcumaticaError], bool]


def idempotent(error: errors.AcumaticaError) -> bool:
    """Reads and logouts: any transient failure may be retried."""
    return error.retryable


def not_processed(error: errors.AcumaticaError) -> bool:
    """Logins and token requests: only failures proving the server did nothing.

    A read timeout or a reset after sending may have opened a session, so those are never
    retried; neither are 502/504, which a gateway sends after the application ran.
    """
    if isinstance(error, errors.ServerUnavailable):
        return error.status == 503
    return isinstance(error, errors.Unreachable | errors.LoginLimitReached | errors.RateLimited)


class Connection:
    """An ``httpx.Client`` bound to a site, counting requests and translating failures."""

    def __init__(
        self,
        site: str,
        *,
        timeout: float,
        ca_bundle: str | None = None,
        redactor: Redactor | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.site = site.rstrip("/")
        self.refusal = _refusal(self.site)
        """Why requests to this site are refused (plain http beyond loopback), if they are."""
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.redact = redactor or Redactor()
        self._count_lock = threading.Lock()
        self.requests = 0
        try:
            context = _ssl_context(ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise errors.TLSFailure(
                f"cannot load the CA bundle {ca_bundle} ({reason}): give a readable file of "
                f"PEM certificates (--ca-bundle or {variables.CA_BUNDLE})",
                site=self.site,
            ) from None
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=context,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            event_hooks={"request": [self._count]},
            transport=transport,
        )

    def _count(self, request: httpx.Request) -> None:
        with self._count_lock:
            self.requests += 1

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookie jar shared by every request of this connection."""
        return self._client.cookies

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def url(self, path: str) -> str:
        """The absolute URL of a path under the site."""
        return self.site + path

    def request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        retry: Retryable,
        check: Callable[[httpx.Response], errors.AcumaticaError | None] | None = None,
        budget: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request, retrying what ``retry`` allows within ``budget`` seconds.

        ``check`` turns an unwanted answer into an error (default: any status >= 400).
        """
        if self.refusal is not None:
            raise errors.ProtocolError(self.refusal, site=self.site)
        budget = self.timeout if budget is None else budget
        started = time.monotonic()

        failures: list[errors.AcumaticaError] = []

        def attempt() -> httpx.Response:
            remaining = max(0.05, budget - (time.monotonic() - started))
            try:
                response = self._send(
                    method, path, action=action, timeout=remaining, budget=budget, **kwargs
                )
                failure = check(response) if check is not None else self.check(response, action)
                if failure is not None:
                    raise failure
            except errors.RequestTimeout as exc:
                if failures:  # the budget ran out on a retry: say what the earlier tries met
                    exc.extend(
                        f" (after {len(failures)} earlier attempt{'s' * (len(failures) != 1)}; "
                        f"the last: {failures[-1].detail})"
                    )
                raise
            except errors.AcumaticaError as exc:
                failures.append(exc)
                raise
            return response

        try:
            return attempt()  # the usual case: no retry machinery at all
        except errors.AcumaticaError as exc:
            if not retry(exc):
                raise
            first = exc
        return self._retry(attempt, first, retry=retry, budget=budget, started=started)

    def _retry(
        self,
        attempt: Callable[[], httpx.Response],
        first: errors.AcumaticaError,
        *,
        retry: Retryable,
        budget: float,
        started: float,
    ) -> httpx.Response:
        """Retry after a first retryable failure: wait as tenacity would, then let tenacity
        run the remaining attempts within what is left of ``budget``."""
        delay = _delay(first, attempt_number=1)
        remaining = budget - (time.monotonic() - started)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, errors.AcumaticaError) and retry(exc)
            ),
            wait=_wait,
            stop=tenacity.stop_before_delay(remaining - delay)
            | tenacity.stop_after_attempt(MAX_ATTEMPTS - 1),
            reraise=True,
        )
        try:
            if delay >= remaining:
                raise first
            time.sleep(delay)
            result: httpx.Response = retrying(attempt)
            return result
        except errors.AcumaticaError as exc:
            if retry(exc):  # retryable, but the attempts or the time ran out
                attempts = 1 + int(retrying.statistics.get("attempt_number", 0))
                exc.extend(
                    f"; gave up after {attempts} attempt{'s' * (attempts != 1)} within "
                    f"operation_timeout ({budget:g} s)"
                )
            raise

    def check(self, response: httpx.Response, action: str) -> errors.AcumaticaError | None:
        """The default check: any status >= 400 is an error."""
        if response.status_code < 400:
            return None
        return responses.request_error(response, site=self.site, action=action, redact=self.redact)

    def _send(
        self, method: str, path: str, *, action: str, timeout: float, budget: float, **kwargs: Any
    ) -> httpx.Response:
        try:
            return self._client.request(
                method, self.url(path), timeout=httpx.Timeout(timeout), **kwargs
            )
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise errors.Unreachable(
                    f"could not connect within {timeout:.3g} s while trying to {action}",
                    site=self.site,
                ) from None
            raise errors.RequestTimeout(
                f"no answer within operation_timeout ({budget:g} s) while trying to {action}",
                site=self.site,
            ) from None
        except httpx.ConnectError as exc:
            if _is_tls(exc):
                ca = self.ca_bundle or "the system's trusted CAs"
                raise errors.TLSFailure(
                    f"the site's TLS certificate could not be verified against {ca} "
                    f"({_tls_reason(exc)}): set the CA bundle that signed it",
                    site=self.site,
                ) from None
            raise errors.Unreachable(
                f"cannot connect while trying to {action} ({_short(exc)}): check url and "
                "that the site is reachable from here",
                site=self.site,
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise errors.ConnectionReset(
                f"the connection broke while trying to {action} ({_short(exc)})",
                site=self.site,
            ) from None
        except httpx.HTTPError as exc:
            raise errors.ProtocolError(
                f"the request to {action} failed: {_short(exc)}", site=self.site
            ) from None


def _wait(state: tenacity.RetryCallState) -> float:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    return _delay(error, attempt_number=state.attempt_number + 1)


def _delay(error: BaseException | None, *, attempt_number: int) -> float:
    """``Retry-After`` (capped) when the server sent one, else jittered exponential backoff."""
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int | float):
        return min(float(retry_after), MAX_RETRY_AFTER)
    # full jitter: uniform in [0, min(5, 0.1 * 2**(attempt - 1))] seconds
    ceiling = min(MAX_BACKOFF, 0.1 * 2 ** (attempt_number - 1))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


def _refusal(site: str) -> str | None:
    parts = urlsplit(site)
    if parts.scheme == "https":
        return None
    if parts.scheme == "http":
        host = (parts.hostname or "").lower()
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return None
        return (
            "plain http is allowed only for loopback addresses (a local sandbox): use the "
            "site's https URL"
        )
    return f"the URL scheme must be https, not {parts.scheme or 'none'}"


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One verifying context per CA bundle for the process (creating one costs milliseconds:
    it loads every trusted CA); contexts are safe to share between connections and threads."""
    if ca_bundle is None:
        return httpx.create_ssl_context()
    return ssl.create_default_context(cafile=ca_bundle)


def _is_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or "SSL" in str(exc)


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    marker = "certificate verify failed:"
    if marker in text:
        return text.split(marker, 1)[1].split("(", maxsplit=1)[0].strip() or "verify failed"
    return _short(exc)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
