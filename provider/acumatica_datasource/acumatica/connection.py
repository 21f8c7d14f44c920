"""HTTP to one Acumatica site: timeouts, TLS, retries, bounded answers, and transport errors
made typed.

Two bounds hold against any server, however hostile:

* **time**: ``operation_timeout`` bounds a request's whole wall time (retries included), not
  each socket operation: a watchdog shuts the connection's sockets down when the time is up,
  so a server sending a byte a second (in the headers or the body) fails the request on time;
* **memory**: every answer is read as a stream with a size limit (:data:`BODY_LIMIT`, or
  :func:`page_limit` for a page of records); a larger answer fails with
  :class:`~.errors.ResponseTooLarge`, which names the limit, without being read further.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import random
import socket
import ssl
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.acumatica import errors, responses
from acumatica_datasource.acumatica.watchdog import WATCHDOG
from acumatica_datasource.redaction import Redactor

USER_AGENT = "acumatica-ds/0.1 (+https://github.com/acumatica-datasource)"
MAX_RETRY_AFTER = 30.0
"""Longest ``Retry-After`` honoured (seconds); the operation timeout bounds it too."""
MAX_BACKOFF = 5.0
"""Longest backoff between two attempts (seconds)."""
MAX_ATTEMPTS = 8
MIN_ATTEMPT_TIME = 0.2
"""A retry starts only with at least this much of the operation timeout left: the watchdog
would cut a later one, turning the real cause into a timeout (and a cut login may have opened
a session)."""

MiB = 1024 * 1024
BODY_LIMIT = 2 * MiB
"""The largest answer accepted to anything but a page of records (discovery, login, tokens,
OpenID configuration, error answers)."""
RECORD_BUDGET = 4096
"""Bytes allowed per record of a page whose probe selects one field (Acumatica answers about
400: the id, row number, note, the field, custom fields and links)."""
FULL_RECORD_BUDGET = 16 * 1024
"""Bytes allowed per record when the whole record is read (no key field is known)."""
PAGE_HEADROOM = 1 * MiB
MAX_PAGE_BODY = 64 * MiB
"""The ceiling for a page, whatever its ``page_size``."""


def page_limit(records: int, *, one_field: bool) -> int:
    """The largest answer accepted for a page of ``records`` records."""
    budget = RECORD_BUDGET if one_field else FULL_RECORD_BUDGET
    return min(MAX_PAGE_BODY, PAGE_HEADROOM + records * budget)


def describe_size(size: int) -> str:
    """``2 GiB``, ``64 MiB``, ``2.5 MiB``, ``900 KiB``."""
    for unit, name in ((1024 * MiB, "GiB"), (MiB, "MiB")):
        if size >= unit:
            return f"{size / unit:.3g} {name}"
    return f"{size / 1024:.3g} KiB"


_INFLATE_STEP = 256 * 1024
"""Bytes inflated at a time (zlib grows its output buffer by doubling: small steps keep a
compressed body's expansion close to what the limit allows)."""

Decoder = Callable[[bytes, int], list[bytes]]
"""``decode(raw, room)``: the decoded pieces of ``raw``; decoding stops once ``room`` bytes
came out (the caller then gives up on the answer)."""


def _decoder(encoding: str, site: str, action: str) -> Decoder:
    """A bounded decoder for a ``Content-Encoding`` (identity, gzip or deflate)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda raw, room: [raw]
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise errors.ProtocolError(
            f"the answer to {action} uses Content-Encoding {encoding[:40]!r}, which was not "
            "asked for (gzip or deflate)",
            site=site,
        )
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or zlib header

    def decode(raw: bytes, room: int) -> list[bytes]:
        pieces: list[bytes] = []
        data = raw
        try:
            while data and room > 0:
                piece = inflater.decompress(data, min(room, _INFLATE_STEP))
                pieces.append(piece)
                room -= len(piece)
                data = inflater.unconsumed_tail
        except zlib.error:
            raise errors.ProtocolError(
                f"the answer to {action} is not valid {encoding} data", site=site
            ) from None
        return pieces

    return decode


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
        self.redact = redactor if redactor is not None else Redactor()
        self._count_lock = threading.Lock()
        self.requests = 0
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
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
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",  # what the bounded reader decodes
            },
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
        limit: int = BODY_LIMIT,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request, retrying what ``retry`` allows within ``budget`` seconds of wall
        time in all (default: the operation timeout); accept answers up to ``limit`` bytes.

        ``check`` turns an unwanted answer into an error (default: any status >= 400).
        """
        if self.refusal is not None:
            raise errors.ProtocolError(self.refusal, site=self.site)
        budget = self.timeout if budget is None else budget
        started = time.monotonic()

        failures: list[errors.AcumaticaError] = []

        def attempt() -> httpx.Response:
            try:
                response = self._send(
                    method,
                    path,
                    action=action,
                    deadline=started + budget,
                    budget=budget,
                    limit=limit,
                    **kwargs,
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
            stop=tenacity.stop_before_delay(remaining - delay - MIN_ATTEMPT_TIME)
            | tenacity.stop_after_attempt(MAX_ATTEMPTS - 1),
            reraise=True,
        )
        try:
            if delay + MIN_ATTEMPT_TIME >= remaining:
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
        self,
        method: str,
        path: str,
        *,
        action: str,
        deadline: float,
        budget: float,
        limit: int,
        **kwargs: Any,
    ) -> httpx.Response:
        timeout = max(deadline - time.monotonic(), 0.001)
        request = self._client.build_request(
            method, self.url(path), timeout=httpx.Timeout(timeout), **kwargs
        )
        request.extensions["trace"] = self._trace
        watch = WATCHDOG.arm(deadline, self._cut)
        try:
            streamed = self._client.send(request, stream=True)
            try:
                body = self._read(
                    streamed, action=action, limit=limit, deadline=deadline, budget=budget
                )
            finally:
                streamed.close()
        except httpx.TransportError as exc:
            if time.monotonic() >= deadline and not isinstance(exc, httpx.ConnectTimeout):
                raise self._timeout(action, budget) from None  # the watchdog's cut, or late
            raise self._transport_error(
                exc, action=action, timeout=timeout, budget=budget
            ) from None
        except httpx.HTTPError as exc:
            raise errors.ProtocolError(
                f"the request to {action} failed: {self._short(exc)}", site=self.site
            ) from None
        finally:
            WATCHDOG.disarm(watch)
        # the decoded body, with the headers that still describe it
        headers = [
            (name, value)
            for name, value in streamed.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(streamed.status_code, headers=headers, content=body, request=request)

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` hook: remember the socket of every connection opened."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                with self._count_lock:
                    self._sockets.add(sock)

    def _cut(self) -> None:
        """The watchdog: the time is up, so shut this connection's sockets down (a thread
        blocked reading one wakes up at once). Idle pooled connections go too."""
        with self._count_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed
                # the plain socket's shutdown, also for TLS: it leaves the SSL state alone
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _transport_error(
        self, exc: httpx.TransportError, *, action: str, timeout: float, budget: float
    ) -> errors.AcumaticaError:
        if isinstance(exc, httpx.TimeoutException):
            if isinstance(exc, httpx.ConnectTimeout):
                return errors.Unreachable(
                    f"could not connect within {timeout:.3g} s while trying to {action}",
                    site=self.site,
                )
            return self._timeout(action, budget)
        if isinstance(exc, httpx.ConnectError):
            if _is_tls(exc):
                ca = self.ca_bundle or "the system's trusted CAs"
                return errors.TLSFailure(
                    f"the site's TLS certificate could not be verified against {ca} "
                    f"({_tls_reason(exc)}): set the CA bundle that signed it",
                    site=self.site,
                )
            return errors.Unreachable(
                f"cannot connect while trying to {action} ({self._short(exc)}): check url and "
                "that the site is reachable from here",
                site=self.site,
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return errors.ConnectionReset(
                f"the connection broke while trying to {action} ({self._short(exc)})",
                site=self.site,
            )
        return errors.ProtocolError(
            f"the request to {action} failed: {self._short(exc)}", site=self.site
        )

    def _timeout(self, action: str, budget: float) -> errors.RequestTimeout:
        return errors.RequestTimeout(
            f"no answer within operation_timeout ({budget:g} s) while trying to {action}",
            site=self.site,
        )

    def _read(
        self, response: httpx.Response, *, action: str, limit: int, deadline: float, budget: float
    ) -> bytes:
        """The decoded body, read until ``limit`` bytes or ``deadline``, whichever comes first
        (decompressed in steps no larger than what the limit leaves, so a small compressed
        body cannot expand in memory)."""
        declared = response.headers.get("Content-Length", "")
        size = int(declared) if declared.isdigit() else 0
        decode = _decoder(response.headers.get("Content-Encoding", ""), self.site, action)
        chunks: list[bytes] = []
        if size <= limit:
            size = 0
            for raw in response.iter_raw():
                for chunk in decode(raw, limit - size + 1):
                    size += len(chunk)
                    chunks.append(chunk)
                if size > limit:
                    break
                if time.monotonic() > deadline:
                    raise self._timeout(action, budget)
        if size > limit:
            length = (
                f", Content-Length {describe_size(int(declared))}" if declared.isdigit() else ""
            )
            raise errors.ResponseTooLarge(
                f"the answer to {action} is larger than {describe_size(limit)}, the most this "
                f"request accepts (HTTP {response.status_code}{length}): is url an Acumatica "
                "site?",
                site=self.site,
                status=response.status_code,
            )
        return b"".join(chunks)

    def _short(self, exc: BaseException) -> str:
        """An exception's text (which may quote the server) made safe, shortened."""
        return self.redact.clean(str(exc) or type(exc).__name__, 200)


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
