"""The emulated world: tenants, users, apps, sessions, OAuth grants, faults, request log.

Everything here runs on the server's event loop thread only, so it needs no locks. Time is
``time.monotonic()`` unless a clock is injected.
"""

from __future__ import annotations

import secrets
import string
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from acumatica_datasource.sandbox.catalog import Catalog
from acumatica_datasource.sandbox.config import (
    AppConfig,
    Flow,
    SandboxConfig,
    TenantConfig,
    UserConfig,
)
from acumatica_datasource.sandbox.faults import FaultBook
from acumatica_datasource.sandbox.records import Changes

SessionKind = Literal["cookie", "bearer"]
LoginOutcome = Literal["ok", "unknown", "bad_password", "locked", "must_change"]

SUPPORTED_SCOPES = (
    "api",
    "offline_access",
    "api:concurrent_access",
    "openid",
    "email",
    "profile",
    "phone",
)
#: The request log keeps the most recent entries only (a long-running CLI sandbox).
LOG_LIMIT = 100_000
FLOW_GRANTS: dict[str, frozenset[str]] = {
    "authorization_code": frozenset({"authorization_code", "refresh_token"}),
    "password": frozenset({"password", "refresh_token"}),
    "implicit": frozenset(),
}


def _token(length: int = 43) -> str:
    return secrets.token_urlsafe(length)[:length]


def _session_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(24))


@dataclass
class UserState:
    """A user as the running site knows it (PATCH may change it)."""

    name: str
    password: str
    must_change_password: bool
    locked: bool
    denied_entities: list[str]

    @classmethod
    def of(cls, user: UserConfig) -> UserState:
        """A mutable copy of a configured user."""
        return cls(
            user.name,
            user.password,
            user.must_change_password,
            user.locked,
            list(user.denied_entities),
        )

    def denies(self, entity: str) -> bool:
        """Whether the user lacks rights to ``entity``."""
        return any(denied.casefold() == entity.casefold() for denied in self.denied_entities)

    def describe(self) -> dict[str, object]:
        """The user as JSON (without the password)."""
        return {
            "name": self.name,
            "must_change_password": self.must_change_password,
            "locked": self.locked,
            "denied_entities": list(self.denied_entities),
        }


@dataclass
class AppState:
    """A connected application as the running site knows it."""

    client_id: str
    name: str
    flow: Flow
    secrets: list[str]
    redirect_uris: list[str]
    tenant: str

    @classmethod
    def of(cls, app: AppConfig, tenant: str) -> AppState:
        """A mutable copy of a configured application."""
        return cls(
            app.client_id, app.name, app.flow, list(app.secrets), list(app.redirect_uris), tenant
        )

    def describe(self) -> dict[str, object]:
        """The application as JSON (secrets included: it is a sandbox)."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "flow": self.flow,
            "secrets": list(self.secrets),
            "redirect_uris": list(self.redirect_uris),
        }


@dataclass
class Session:
    """A server session holding one API-user license slot."""

    id: str
    kind: SessionKind
    tenant: str
    user: str
    branch: str
    locale: str
    last_seen: float
    auth_ticket: str | None = None
    grant_id: str | None = None


@dataclass
class Grant:
    """An OAuth grant: one user's authorization of one client; owns at most one session."""

    id: str
    client_id: str
    tenant: str
    user: str
    scopes: tuple[str, ...]
    refresh_token: str | None = None
    refresh_expires_at: float = 0.0
    session_id: str | None = None


@dataclass
class AccessToken:
    """A bearer token of a grant."""

    grant_id: str
    expires_at: float


@dataclass
class AuthCode:
    """An authorization code waiting to be exchanged at the token endpoint."""

    client_id: str
    redirect_uri: str
    tenant: str
    user: str
    scopes: tuple[str, ...]
    challenge: str | None
    challenge_method: str
    expires_at: float
    used: bool = False
    grant_id: str | None = None


@dataclass
class RequestEntry:
    """One logged request (every request except the control API's)."""

    method: str
    path: str
    query: str
    """The raw query string, as sent."""
    params: list[tuple[str, str]]
    """The decoded query parameters."""
    status: int | None = None
    duration_ms: float | None = None

    def describe(self) -> dict[str, object]:
        """The entry as JSON for ``/_sandbox/state``."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "params": [list(pair) for pair in self.params],
            "status": self.status,
            "duration_ms": None if self.duration_ms is None else round(self.duration_ms, 3),
        }


@dataclass
class World:
    """The mutable state of one running sandbox."""

    config: SandboxConfig
    clock: Callable[[], float] = time.monotonic
    users: dict[str, dict[str, UserState]] = field(default_factory=dict)
    apps: dict[str, AppState] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    faults: FaultBook = field(default_factory=FaultBook)
    log: deque[RequestEntry] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    recent: deque[float] = field(default_factory=deque)
    changes: dict[tuple[str, str], Changes] = field(default_factory=dict)
    """The records written (PUT, DELETE) in this run, by (tenant, entity)."""
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = Catalog(self.config)
        self.reset()

    # ------------------------------------------------------------------ world
    def reset(self) -> None:
        """Forget sessions, tokens, codes, faults, the log and writes; restore users and apps."""
        self.users = {
            tenant.name.casefold(): {
                user.name.casefold(): UserState.of(user) for user in tenant.users
            }
            for tenant in self.config.tenants
        }
        self.apps = {
            app.client_id.casefold(): AppState.of(app, tenant.name)
            for tenant in self.config.tenants
            for app in tenant.connected_apps
        }
        self.sessions.clear()
        self.tickets.clear()
        self.grants.clear()
        self.access_tokens.clear()
        self.refresh_tokens.clear()
        self.codes.clear()
        self.faults.clear()
        self.log.clear()
        self.recent.clear()
        self.changes.clear()

    def tenant(self, name: str) -> TenantConfig | None:
        """The tenant named ``name`` (case-insensitively)."""
        for tenant in self.config.tenants:
            if tenant.name.casefold() == name.casefold():
                return tenant
        return None

    def login_tenant(self, name: str | None) -> TenantConfig | None:
        """The tenant a login names; a single-tenant site accepts any name."""
        if len(self.config.tenants) == 1:
            return self.config.tenants[0]
        if not name:
            return None
        return self.tenant(name)

    def user(self, tenant: str, name: str) -> UserState | None:
        """The user ``name`` of ``tenant``, case-insensitively."""
        return self.users.get(tenant.casefold(), {}).get(name.casefold())

    def check_user(self, tenant: str, name: str, password: str) -> LoginOutcome:
        """Check credentials the way a login does."""
        user = self.user(tenant, name)
        if user is None:
            return "unknown"
        if user.locked:
            return "locked"
        if not secrets.compare_digest(user.password.encode(), password.encode()):
            return "bad_password"
        if user.must_change_password:
            return "must_change"
        return "ok"

    def app(self, client_id: str) -> AppState | None:
        """The connected application with ``client_id``, case-insensitively."""
        return self.apps.get(client_id.casefold())

    # --------------------------------------------------------------- sessions
    def purge(self) -> None:
        """Drop idle sessions and dead tokens and codes (run lazily on each request)."""
        now = self.clock()
        idle = self.config.session_idle_timeout_s
        for session in [s for s in self.sessions.values() if now - s.last_seen >= idle]:
            self.end_session(session.id)
        for token in [t for t, a in self.access_tokens.items() if a.expires_at <= now]:
            del self.access_tokens[token]
        for code in [c for c, a in self.codes.items() if a.expires_at <= now]:
            del self.codes[code]

    def open_sessions(self) -> int:
        """The number of live sessions (each holds a license slot)."""
        self.purge()
        return len(self.sessions)

    def slot_available(self) -> bool:
        """Whether another API session may start under the license."""
        limit = self.config.license.api_users
        return limit == 0 or self.open_sessions() < limit

    def new_session(
        self,
        kind: SessionKind,
        *,
        tenant: str,
        user: str,
        branch: str,
        locale: str = "en-US",
        grant_id: str | None = None,
    ) -> Session:
        """Open a session (the caller checked the license)."""
        session = Session(
            id=_session_id(),
            kind=kind,
            tenant=tenant,
            user=user,
            branch=branch,
            locale=locale,
            last_seen=self.clock(),
            grant_id=grant_id,
        )
        if kind == "cookie":
            session.auth_ticket = secrets.token_hex(64).upper()
            self.tickets[session.auth_ticket] = session.id
        self.sessions[session.id] = session
        return session

    def end_session(self, session_id: str) -> None:
        """Close a session, freeing its slot."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        if session.auth_ticket is not None:
            self.tickets.pop(session.auth_ticket, None)
        if session.grant_id is not None:
            grant = self.grants.get(session.grant_id)
            if grant is not None and grant.session_id == session_id:
                grant.session_id = None

    def cookie_session(self, ticket: str | None) -> Session | None:
        """The live session of an ``.ASPXAUTH`` ticket."""
        if not ticket:
            return None
        self.purge()
        session_id = self.tickets.get(ticket)
        return self.sessions.get(session_id) if session_id else None

    def touch(self, session: Session) -> None:
        """Record activity on a session (idle expiry counts from here)."""
        session.last_seen = self.clock()

    def expire_all(self) -> int:
        """End every session now; return how many there were."""
        count = len(self.sessions)
        for session_id in list(self.sessions):
            self.end_session(session_id)
        return count

    def end_user(self, tenant: str, user: str) -> None:
        """End every session and grant of a user (an administrator locked them out)."""
        for session in list(self.sessions.values()):
            if session.tenant.casefold() == tenant.casefold() and session.user.casefold() == (
                user.casefold()
            ):
                self.end_session(session.id)
        for grant in list(self.grants.values()):
            if grant.tenant.casefold() == tenant.casefold() and grant.user.casefold() == (
                user.casefold()
            ):
                self.revoke_grant(grant.id)

    def end_app(self, client_id: str) -> None:
        """End every grant (and so session) of a connected application."""
        for grant in list(self.grants.values()):
            if grant.client_id.casefold() == client_id.casefold():
                self.revoke_grant(grant.id)
        for code, value in list(self.codes.items()):
            if value.client_id.casefold() == client_id.casefold():
                del self.codes[code]

    # ------------------------------------------------------------------ OAuth
    def new_grant(self, app: AppState, user: str, scopes: tuple[str, ...]) -> Grant:
        """Create a grant for ``user`` through ``app``."""
        grant = Grant(
            id=_token(16), client_id=app.client_id, tenant=app.tenant, user=user, scopes=scopes
        )
        self.grants[grant.id] = grant
        return grant

    def issue_tokens(self, grant: Grant) -> tuple[str, str | None]:
        """A new access token for ``grant`` and, with offline_access, a new refresh token.

        The previous refresh token of the grant stops working (rotation).
        """
        now = self.clock()
        access = _token()
        self.access_tokens[access] = AccessToken(
            grant.id, now + self.config.access_token_lifetime_s
        )
        if grant.refresh_token is not None:
            self.refresh_tokens.pop(grant.refresh_token, None)
            grant.refresh_token = None
        refresh = None
        if "offline_access" in grant.scopes:
            refresh = _token()
            grant.refresh_token = refresh
            grant.refresh_expires_at = now + self.config.refresh_token_lifetime_s
            self.refresh_tokens[refresh] = grant.id
        return access, refresh

    def refresh_grant(self, refresh_token: str) -> Grant | None:
        """The grant whose current refresh token this is (None when unknown, rotated or dead)."""
        grant_id = self.refresh_tokens.get(refresh_token)
        grant = self.grants.get(grant_id) if grant_id else None
        if grant is None or grant.refresh_token != refresh_token:
            return None
        if grant.refresh_expires_at <= self.clock():
            self.refresh_tokens.pop(refresh_token, None)
            grant.refresh_token = None
            return None
        return grant

    def bearer_grant(self, token: str | None) -> Grant | None:
        """The grant of a live access token."""
        if not token:
            return None
        self.purge()
        access = self.access_tokens.get(token)
        if access is None:
            return None
        return self.grants.get(access.grant_id)

    def grant_session(self, grant: Grant) -> Session | None:
        """The grant's live session, if it has one."""
        if grant.session_id is None:
            return None
        return self.sessions.get(grant.session_id)

    def open_grant_session(self, grant: Grant) -> Session:
        """Open the grant's session (the caller checked the license)."""
        tenant = self.tenant(grant.tenant)
        branch = tenant.branches[0] if tenant is not None else ""
        session = self.new_session(
            "bearer", tenant=grant.tenant, user=grant.user, branch=branch, grant_id=grant.id
        )
        grant.session_id = session.id
        return session

    def revoke_grant(self, grant_id: str) -> None:
        """Forget a grant with its tokens, ending its session."""
        grant = self.grants.pop(grant_id, None)
        if grant is None:
            return
        if grant.session_id is not None:
            self.end_session(grant.session_id)
        if grant.refresh_token is not None:
            self.refresh_tokens.pop(grant.refresh_token, None)
        for token in [t for t, a in self.access_tokens.items() if a.grant_id == grant_id]:
            del self.access_tokens[token]

    def new_code(self, code: AuthCode) -> str:
        """Store an authorization code; return its value."""
        value = _token()
        self.codes[value] = code
        return value

    # ------------------------------------------------------------ rate limits
    def rate_limited(self) -> bool:
        """Count a request in the sliding minute; True when it is over the limit."""
        limit = self.config.license.requests_per_minute
        if limit == 0:
            return False
        now = self.clock()
        while self.recent and now - self.recent[0] >= 60.0:
            self.recent.popleft()
        if len(self.recent) >= limit:
            return True
        self.recent.append(now)
        return False

    # ---------------------------------------------------------------- control
    def snapshot(self) -> dict[str, object]:
        """The state as JSON for ``GET /_sandbox/state``."""
        self.purge()
        now = self.clock()
        sessions = [
            {
                "tenant": session.tenant,
                "user": session.user,
                "kind": session.kind,
                "branch": session.branch,
                "client_id": (
                    self.grants[session.grant_id].client_id
                    if session.grant_id in self.grants
                    else None
                ),
                "idle_s": round(now - session.last_seen, 3),
            }
            for session in self.sessions.values()
        ]
        return {
            "open_sessions": len(self.sessions),
            "sessions": sessions,
            "grants": len(self.grants),
            "requests": [entry.describe() for entry in self.log],
        }
