"""The Acumatica client: discovery, sessions (cookie and bearer), OAuth and entity reads.

One :class:`AcumaticaClient` talks to one site through one connection and cookie jar, and
holds at most one session at a time. Every session is closed on every path: the context
managers log out whatever happens inside them, including errors, timeouts and interrupts.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from acumatica_datasource.acumatica import errors, responses
from acumatica_datasource.acumatica.cancellation import Cancellation
from acumatica_datasource.acumatica.connection import (
    MAX_PAGE_BODY,
    PAGE_HEADROOM,
    Connection,
    describe_size,
    idempotent,
    not_processed,
    page_limit,
)
from acumatica_datasource.acumatica.limits import GATE, SessionGate, SessionLimits
from acumatica_datasource.acumatica.site import DEFAULT_ENDPOINT, SiteInfo
from acumatica_datasource.redaction import Redactor

LOGIN_PATH = "/entity/auth/login"
LOGOUT_PATH = "/entity/auth/logout"
OPENID_PATH = "/identity/.well-known/openid-configuration"
TOKEN_PATH = "/identity/connect/token"
AUTHORIZE_PATH = "/identity/connect/authorize"
ORPHAN_HINT = (
    "; the server may still have opened a session, which holds an API license slot until it "
    "expires (about 10 minutes idle)"
)
LEFT_OPEN_HINT = (
    "a session may have been left open: the login was tried again after an answer (HTTP {}) "
    "that may have come after the site opened a session, which holds an API license slot until "
    "it expires (about 10 minutes idle)"
)
ROTATED_HINT = (
    "; the server may still have rotated the refresh token, in which case the stored one no "
    "longer works"
)


class DiscoveryCache:
    """``GET /entity`` answers per site for the run (one request per site, even in parallel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._site_locks: dict[str, threading.Lock] = {}
        self._known: dict[str, SiteInfo] = {}

    def get(self, site: str, fetch: Any) -> SiteInfo:
        key = site.lower()
        with self._lock:
            site_lock = self._site_locks.setdefault(key, threading.Lock())
        with site_lock:
            if key not in self._known:
                self._known[key] = fetch()
            return self._known[key]

    def clear(self) -> None:
        """Forget every site (a new run)."""
        with self._lock:
            self._known.clear()


@dataclass(frozen=True)
class TokenSet:
    """An OAuth token answer; the tokens never appear in ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False, default=None)
    expires_in: int | None = None
    scope: str | None = None


@dataclass
class Session:
    """An open API session (cookie or bearer) that reads entities."""

    client: AcumaticaClient
    kind: str
    user: str
    tenant: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    logout_error: errors.LogoutFailed | None = None

    def read(
        self,
        entity: str,
        *,
        version: str,
        endpoint: str = DEFAULT_ENDPOINT,
        top: int,
        skip: int = 0,
        select: str | None = None,
    ) -> list[dict[str, Any]]:
        """One page of an entity: ``GET /entity/{endpoint}/{version}/{entity}``."""
        # Acumatica's documented form: the "$" of the parameter names is not encoded
        query = f"$top={top}&$skip={skip}"
        if select:
            query += f"&$select={quote(select, safe=',')}"
        path = f"/entity/{endpoint}/{version}/{entity}"
        action = f"read {entity} ({endpoint} {version}, $top={top}, $skip={skip})"
        limit = page_limit(top, one_field=bool(select))
        self.client.proceed("a page read")
        try:
            response = self.client.connection.request(
                "GET",
                f"{path}?{query}",
                action=action,
                retry=idempotent,
                headers=self.headers,
                limit=limit,
            )
        except errors.ResponseTooLarge as exc:
            per_record = describe_size((limit - PAGE_HEADROOM) // max(top, 1))
            exc.extend(
                f" A page may take {per_record} per record of $top={top} plus "
                f"{describe_size(PAGE_HEADROOM)}, at most {describe_size(MAX_PAGE_BODY)}: lower "
                "page_size if the site's records are really that large"
            )
            raise
        try:
            records = responses.json_body(response)
        except responses.NotJson as exc:
            raise errors.ProtocolError(
                f"the answer to {action} is not JSON ({exc}): is url an Acumatica site?",
                site=self.client.site,
            ) from None
        if not isinstance(records, list):
            raise errors.ProtocolError(
                f"the answer to {action} is not a list of records", site=self.client.site
            )
        return records


class AcumaticaClient:
    """A client for one Acumatica site."""

    def __init__(
        self,
        site: str,
        *,
        timeout: float = 60,
        ca_bundle: str | None = None,
        redactor: Redactor | None = None,
        limits: SessionLimits | None = None,
        gate: SessionGate = GATE,
        discovery: DiscoveryCache | None = None,
        transport: httpx.BaseTransport | None = None,
        cancellation: Cancellation | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.connection = Connection(
            site, timeout=timeout, ca_bundle=ca_bundle, redactor=redactor, transport=transport
        )
        self.site = self.connection.site
        self.limits = limits or SessionLimits()
        self._gate = gate
        self._discovery = discovery
        self._slot_depth = 0
        self._cancellation = cancellation
        self._on_wait = on_wait
        self.possibly_open_sessions = 0
        """Logins (or password grants) whose session may have been left open: tried again
        after a 5xx answer, or cut by a reset or a timeout."""
        self.left_open_note: str | None = None
        """Why, for a login that succeeded after such a retry (a failed one says it in its
        error)."""

    def waiting_for(self, what: str) -> None:
        """Say what the client waits for now (``on_wait``, for progress lines)."""
        if self._on_wait is not None:
            self._on_wait(what)

    def proceed(self, what: str) -> None:
        """Before a login or a read: stop if the run was cancelled (raise
        :class:`~acumatica_datasource.errors.Interrupted`), else wait for ``what``. Logouts
        never stop: a session open is a session to close."""
        if self._cancellation is not None:
            self._cancellation.check()
        self.waiting_for(what)

    def __enter__(self) -> AcumaticaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (open sessions are closed by their context managers)."""
        self.connection.close()

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (every attempt counts)."""
        return self.connection.requests

    # --- discovery ----------------------------------------------------------------------

    def discover(self) -> SiteInfo:
        """The site's build and endpoints (from the client's ``discovery`` cache when given)."""
        if self._discovery is None:
            return self._fetch_site_info()
        return self._discovery.get(self.site, self._fetch_site_info)

    def _fetch_site_info(self) -> SiteInfo:
        action = "discover endpoints (GET /entity)"
        hint = (
            "check that url is the site's base URL (e.g. https://acme.acumatica.com or "
            ".../AcumaticaERP)"
        )
        response = self.connection.request(
            "GET",
            "/entity",
            action=action,
            retry=idempotent,
            check=self._missing_means(action, f"there is no Acumatica REST API here: {hint}"),
        )
        try:
            return SiteInfo.from_json(responses.json_body(response))
        except ValueError:
            raise errors.ProtocolError(
                f"GET /entity did not answer Acumatica's endpoint list: {hint}", site=self.site
            ) from None

    def _missing_means(
        self, action: str, explanation: str
    ) -> Callable[[httpx.Response], errors.AcumaticaError | None]:
        """A response check for a well-known path: its absence means a wrong URL or feature."""

        def check(response: httpx.Response) -> errors.AcumaticaError | None:
            if response.status_code in (404, 405, 410):
                return errors.ProtocolError(
                    f"{response.request.method} {response.request.url.path} answered HTTP "
                    f"{response.status_code} while trying to {action}: {explanation}",
                    site=self.site,
                    status=response.status_code,
                )
            return self.connection.check(response, action)

        return check

    # --- session slots --------------------------------------------------------------------

    @contextmanager
    def slot(self, tenant: str) -> Iterator[None]:
        """Hold one of the site's session slots (see :mod:`.limits`) for the block.

        Re-entrant within this client: a token request and the bearer session that uses the
        token share one slot (a site may open the session when it issues the token).
        """
        if self._slot_depth:
            self._slot_depth += 1
            try:
                yield
            finally:
                self._slot_depth -= 1
            return
        with self._gate.hold(
            self.site,
            tenant,
            self.limits,
            cancellation=self._cancellation,
            on_queue=lambda: self.waiting_for("a free session slot"),
        ):
            self._slot_depth = 1
            try:
                yield
            finally:
                self._slot_depth = 0

    # --- cookie sessions ----------------------------------------------------------------

    @contextmanager
    def session(
        self,
        *,
        username: str,
        password: str,
        tenant: str,
        branch: str | None = None,
        locale: str | None = None,
    ) -> Iterator[Session]:
        """Log in, yield the session, and log out on every path."""
        self.connection.redact.add(password)
        body = {"name": username, "password": password, "tenant": tenant}
        if branch:
            body["branch"] = branch
        if locale:
            body["locale"] = locale
        with self.slot(tenant):
            self.proceed("the login")
            answers = _OpeningAnswers()

            def check(response: httpx.Response) -> errors.AcumaticaError | None:
                failure = (
                    None
                    if response.status_code < 300
                    else responses.login_error(
                        response,
                        site=self.site,
                        user=username,
                        tenant=tenant,
                        redact=self.connection.redact,
                    )
                )
                return answers.seen(response, failure)

            try:
                self.connection.request(
                    "POST",
                    LOGIN_PATH,
                    action=f"log in as {username}",
                    retry=not_processed,
                    json=body,
                    check=check,
                )
            except (errors.RequestTimeout, errors.ConnectionReset) as exc:
                self.possibly_open_sessions += 1 + answers.count(exc)
                exc.extend(ORPHAN_HINT)
                raise
            except errors.AcumaticaError as exc:
                self._left_open(answers, exc)
                raise
            self._left_open(answers, None)
            session = Session(self, "cookie", username, tenant)
            with self._logging_out(session, headers={}):
                yield session

    # --- bearer sessions ----------------------------------------------------------------

    @contextmanager
    def bearer_session(self, token: TokenSet, *, user: str, tenant: str) -> Iterator[Session]:
        """Use an access token for API calls and end its server session on exit."""
        self.connection.redact.add(token.access_token)
        headers = {"Authorization": f"Bearer {token.access_token}"}
        with self.slot(tenant):
            session = Session(self, "bearer", user, tenant, headers=headers)
            with self._logging_out(session, headers=headers):
                yield session

    def _left_open(self, answers: _OpeningAnswers, final: errors.AcumaticaError | None) -> None:
        """Count the sessions a retried login may have left open; say so on its error."""
        left = answers.count(final)
        if not left:
            return
        self.possibly_open_sessions += left
        self.left_open_note = LEFT_OPEN_HINT.format(answers.status)
        if final is not None:
            final.extend("; " + self.left_open_note)

    @contextmanager
    def _logging_out(self, session: Session, *, headers: dict[str, str]) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            session.logout_error = self._logout(session, headers)
            if session.logout_error is not None:
                exc.add_note(str(session.logout_error))
            raise
        session.logout_error = self._logout(session, headers)
        if session.logout_error is not None:
            raise session.logout_error

    def _logout(self, session: Session, headers: dict[str, str]) -> errors.LogoutFailed | None:
        self.waiting_for("the logout")
        try:
            self.connection.request(
                "POST",
                LOGOUT_PATH,
                action=f"log out {session.user}",
                retry=idempotent,
                content=b"",
                headers=headers,
            )
        except errors.AcumaticaError as exc:
            return errors.LogoutFailed(
                f"the session of user '{session.user}' (company {session.tenant}) could not be "
                f"closed ({exc}); it holds an API license slot until it expires (about 10 "
                "minutes idle)",
                site=self.site,
                status=exc.status,
            )
        finally:
            self.connection.cookies.clear()
        return None

    # --- OAuth ----------------------------------------------------------------------------

    def openid_configuration(self) -> dict[str, Any]:
        """The OpenID Connect discovery document under ``/identity``."""
        action = "read the OpenID configuration"
        hint = "is OAuth enabled on the site, and is url its base URL?"
        response = self.connection.request(
            "GET",
            OPENID_PATH,
            action=action,
            retry=idempotent,
            check=self._missing_means(action, hint),
        )
        try:
            document = responses.json_body(response)
        except responses.NotJson:
            document = None
        if not isinstance(document, dict) or "token_endpoint" not in document:
            raise errors.ProtocolError(
                f"{OPENID_PATH} is not an OpenID configuration: {hint}", site=self.site
            )
        return document

    def token(self, form: dict[str, str], *, client_id: str, action: str) -> TokenSet:
        """POST to the token endpoint; raise :class:`errors.OAuthError` on an RFC 6749 error."""
        for key in ("client_secret", "password", "refresh_token", "code"):
            if form.get(key):
                self.connection.redact.add(form[key])
        grant = form.get("grant_type")
        opens = grant == "password"  # a password grant may open a server session
        answers = _OpeningAnswers()
        self.waiting_for("the token endpoint")

        def check(response: httpx.Response) -> errors.AcumaticaError | None:
            failure = self._token_error(response, client_id=client_id, action=action)
            return answers.seen(response, failure) if opens else failure

        try:
            response = self.connection.request(
                "POST", TOKEN_PATH, action=action, retry=not_processed, data=form, check=check
            )
        except (errors.RequestTimeout, errors.ConnectionReset) as exc:
            if grant == "refresh_token":
                exc.extend(ROTATED_HINT)
            elif opens:
                self.possibly_open_sessions += 1 + answers.count(exc)
                exc.extend(ORPHAN_HINT)
            raise
        except errors.AcumaticaError as exc:
            self._left_open(answers, exc)
            raise
        self._left_open(answers, None)
        data = responses.json_body(response)  # JSON: checked by _token_error
        access = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(access, str) or not access:
            raise errors.ProtocolError(
                f"the token endpoint answered without an access token to {action}",
                site=self.site,
            )
        self.connection.redact.add(access)
        refresh = data.get("refresh_token")
        if isinstance(refresh, str):
            self.connection.redact.add(refresh)
        expires = data.get("expires_in")
        if isinstance(expires, float) and not math.isfinite(expires):
            raise errors.ProtocolError(
                f"the token endpoint's answer to {action} has an unusable expires_in (not a "
                "finite number of seconds)",
                site=self.site,
            )
        return TokenSet(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) else None,
            expires_in=int(expires) if isinstance(expires, int | float) else None,
            scope=data.get("scope") if isinstance(data.get("scope"), str) else None,
        )

    def _token_error(
        self, response: httpx.Response, *, client_id: str, action: str
    ) -> errors.AcumaticaError | None:
        if response.status_code < 400:
            try:
                responses.json_body(response)
            except responses.NotJson as exc:
                return errors.ProtocolError(
                    f"the token endpoint's answer to {action} is not JSON ({exc})", site=self.site
                )
            return None
        body = responses.error_body(response)
        code = body.get("error")
        if response.status_code in (400, 401) and isinstance(code, str):
            redact = self.connection.redact
            said = redact.clean(code, responses.MAX_KIND)
            description = body.get("error_description")
            detail = redact.clean(str(description), responses.MAX_DETAIL) if description else said
            return errors.OAuthError(
                f"the token endpoint refused to {action} for client {client_id}: {said} ({detail})",
                site=self.site,
                error=code,
                status=response.status_code,
            )
        return responses.request_error(
            response, site=self.site, action=action, redact=self.connection.redact
        )

    def password_token(
        self, *, client_id: str, client_secret: str, username: str, password: str, scope: str
    ) -> TokenSet:
        """Resource Owner Password grant."""
        form = {
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
            "scope": scope,
        }
        return self.token(form, client_id=client_id, action=f"get a token for {username}")

    def refresh(self, *, client_id: str, client_secret: str, refresh_token: str) -> TokenSet:
        """Refresh-token grant; Acumatica answers a new refresh token (the old one dies)."""
        form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        return self.token(form, client_id=client_id, action="refresh the token")

    def test_client_secret(self, *, client_id: str, client_secret: str, redirect_uri: str) -> str:
        """Send a bogus authorization code; return the OAuth error code the server answers.

        The server authenticates the client before it looks at the code: ``invalid_grant``
        means the id and secret are right, ``invalid_client`` that they are wrong, and
        ``unauthorized_client`` that the application's flow is not Authorization Code.
        """
        form = {
            "grant_type": "authorization_code",
            "code": "acumatica-ds-probe-" + secrets.token_urlsafe(16),
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        try:
            self.token(form, client_id=client_id, action="test the client secret")
        except errors.OAuthError as exc:
            return exc.error
        return "accepted"

    def probe_authorize(self, *, client_id: str, redirect_uri: str, scope: str) -> AuthorizeProbe:
        """Ask the authorize endpoint whether ``redirect_uri`` is registered (no user needed)."""
        query = urlencode(
            {
                "client_id": client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": secrets.token_urlsafe(8),
            }
        )
        response = self.connection.request(
            "GET",
            f"{AUTHORIZE_PATH}?{query}",
            action="check the callback URL on the authorize endpoint",
            retry=idempotent,
            check=lambda r: (
                None
                if r.status_code < 500
                else responses.request_error(
                    r,
                    site=self.site,
                    action="open the authorize page",
                    redact=self.connection.redact,
                )
            ),
        )
        return AuthorizeProbe.from_response(
            response, site=self.site, redirect_uri=redirect_uri, redact=self.connection.redact
        )


class _OpeningAnswers:
    """Counts the answers to a login (or password grant) that may have opened a session on
    the server although they are errors (5xx, except the definite "API Login Limit" refusal)
    and were followed by another attempt: each such session may have been left open."""

    def __init__(self) -> None:
        self._last_opening = False
        self.followed = 0
        self.status: int | None = None
        """The status of the last such answer."""

    def seen(
        self, response: httpx.Response, failure: errors.AcumaticaError | None
    ) -> errors.AcumaticaError | None:
        """Note an answer (``failure`` is what it means); return ``failure``."""
        self.followed += self._last_opening
        self._last_opening = response.status_code >= 500 and not isinstance(
            failure, errors.LoginLimitReached
        )
        if self._last_opening:
            self.status = response.status_code
        return failure

    def count(self, final: errors.AcumaticaError | None) -> int:
        """The answers followed by another attempt, once the request ended with ``final``
        (None: success). An attempt that got no answer (a transport error) still follows."""
        transport = isinstance(final, errors.TransportError)
        return self.followed + (self._last_opening and transport)


@dataclass(frozen=True)
class AuthorizeProbe:
    """What the authorize endpoint said about a redirect URI."""

    registered: bool | None
    status: int
    detail: str

    @classmethod
    def from_response(
        cls, response: httpx.Response, *, site: str, redirect_uri: str, redact: Redactor
    ) -> AuthorizeProbe:
        status = response.status_code
        if 200 <= status < 300:
            return cls(True, status, "the authorize endpoint shows its login page")
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            if location.startswith(redirect_uri):
                return cls(True, status, "the authorize endpoint redirects to the callback URL")
            target = urlsplit(location)
            if not target.netloc or target.netloc == urlsplit(site).netloc:
                return cls(True, status, "the authorize endpoint redirects to its login page")
            elsewhere = redact.clean(location, responses.MAX_DETAIL)
            return cls(None, status, f"the authorize endpoint redirects elsewhere ({elsewhere})")
        if status == 400:
            return cls(False, status, "the authorize endpoint refuses the callback URL")
        return cls(None, status, f"the authorize endpoint answered HTTP {status}")
