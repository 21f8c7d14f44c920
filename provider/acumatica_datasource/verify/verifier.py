"""Verify one data source: secrets, discovery, login, the paged test request, logout, and for
OAuth the client secret, the callback registration and an optional data probe."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from acumatica_datasource.acumatica import (
    GATE,
    AcumaticaClient,
    AcumaticaError,
    CredentialsRejected,
    DiscoveryCache,
    Forbidden,
    LogoutFailed,
    NotFound,
    OAuthError,
    Session,
    SessionExpired,
    SessionGate,
    SessionLimits,
    SiteInfo,
    TenantSetupIncomplete,
    TokenSet,
    TransportError,
    probe_key_field,
)
from acumatica_datasource.acumatica.limits import DEFAULT_SESSIONS_PER_SITE
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.redaction import Redactor
from acumatica_datasource.secrets import ResolvedSecret, SecretMetadata
from acumatica_datasource.spec import (
    BasicAuthentication,
    DataSource,
    OAuth2Authentication,
    SecretReference,
    VaultSecretRef,
)
from acumatica_datasource.verify.report import Check, Report

SESSIONS_VARIABLE = "ACUMATICA_DS_SESSIONS_PER_SITE"
CA_BUNDLE_VARIABLE = "ACUMATICA_DS_CA_BUNDLE"
CONNECTED_APPS_FORM = "System Management > Connected Applications (SM303010), Redirect URIs"
T = TypeVar("T")
BASIC_STEPS = ("login", "page", "next_page", "logout")
OAUTH_STEPS = ("openid_configuration", "client_secret", "callback_url", "data_probe")


def _read_hint(exc: AcumaticaError, entity: str) -> str:
    """What to change when the paged test request fails for good."""
    if isinstance(exc, NotFound):
        return (
            f": check verification.entity ({entity}) and EndpointVersion in "
            "extra_connection_properties"
        )
    if isinstance(exc, Forbidden):
        return f", or set verification.entity to an entity the user may read (not {entity})"
    return ""


class SecretSource(Protocol):
    """What verification needs from the secrets layer."""

    def resolve(self, reference: SecretReference) -> ResolvedSecret:
        """The value and metadata of a reference."""
        ...

    def write(
        self, reference: VaultSecretRef, value: str, *, expected_version: int | None
    ) -> SecretMetadata:
        """Store a new value with check-and-set."""
        ...


@dataclass(frozen=True)
class VerifyOptions:
    """Settings shared by the verifications of a run."""

    ca_bundle: str | None = None
    """A CA bundle to trust for the Acumatica sites (the system's CAs otherwise)."""
    limits: SessionLimits = field(default_factory=SessionLimits)
    gate: SessionGate = GATE
    """Shared by the whole process, so that separate runs in one process still queue."""
    discovery: DiscoveryCache | None = field(default_factory=DiscoveryCache)
    """``GET /entity`` answers of this run: one request per site, however many data sources."""

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str],
        *,
        sessions_per_site: int | None = None,
        ca_bundle: str | None = None,
    ) -> VerifyOptions:
        """Options from explicit values, then ``ACUMATICA_DS_SESSIONS_PER_SITE`` and
        ``ACUMATICA_DS_CA_BUNDLE``; ``ValueError`` names a bad variable."""
        if sessions_per_site is None and environ.get(SESSIONS_VARIABLE):
            text = environ[SESSIONS_VARIABLE]
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"{SESSIONS_VARIABLE} must be a whole number of at least 1")
            sessions_per_site = int(text)
        if sessions_per_site is not None and sessions_per_site < 1:
            raise ValueError("the number of sessions per site must be at least 1")
        return cls(
            ca_bundle=ca_bundle or environ.get(CA_BUNDLE_VARIABLE) or None,
            limits=SessionLimits(per_site=sessions_per_site or DEFAULT_SESSIONS_PER_SITE),
        )


class _Failed(Exception):
    """A step failed; its check already says why."""


class Verification:
    """One run of the checks for one data source."""

    def __init__(
        self,
        source: DataSource,
        *,
        callback_url: str | None,
        secrets: SecretSource,
        options: VerifyOptions,
    ) -> None:
        self.source = source
        self.callback_url = callback_url
        self.secrets = secrets
        self.options = options
        self.redact = Redactor()
        self.report = Report(
            description=source.description,
            data_source_id=source.data_source_id,
            mode=source.verification.mode,
            callback_url=callback_url,
            redact=self.redact,
        )
        self._values: dict[str, str] = {}
        self._metadata: dict[str, SecretMetadata] = {}
        self._last_error: BaseException | None = None

    # --- steps ----------------------------------------------------------------------------

    def step(self, name: str, action: Callable[[Check], T]) -> T:
        """Run ``action`` as check ``name``; a known failure marks it failed and raises
        :class:`_Failed` (the message is redacted and names what to fix)."""
        check = self.report.add(name, "ok", "")
        started = time.perf_counter()
        try:
            return action(check)
        except (AcumaticaDataSourceError, LookupError) as exc:
            check.status = "failed"
            check.detail = self.redact(str(exc))
            self._last_error = exc
            raise _Failed from None
        finally:
            check.duration_ms = round((time.perf_counter() - started) * 1000)

    def try_step(self, name: str, action: Callable[[Check], None]) -> None:
        """Like :meth:`step`, for a check whose failure does not stop the others."""
        try:
            self.step(name, action)
        except _Failed:
            return

    def skip(self, *names: str, reason: str) -> None:
        """Record checks that did not run."""
        for name in names:
            self.report.add(name, "skipped", reason)

    # --- the run --------------------------------------------------------------------------

    def run(self) -> Report:
        """Run every check that applies; never raises for a failed check."""
        started = time.perf_counter()
        try:
            insecure = self.source.insecure_properties()
            if insecure:  # allowed by allow_insecure_tls, and said on every run
                self.report.add(
                    "certificate_checks",
                    "warning",
                    f"{', '.join(insecure)} switches off the BI server's checks of the site's "
                    "TLS certificate (allow_insecure_tls is set): anyone on the network path "
                    "can impersonate the site; remove it once the site has a trusted certificate",
                )
            if self.source.verification.mode == "off":
                self.skip("verification", reason="verification.mode is off: no checks ran")
                return self.report
            try:
                self.step("secrets", self._resolve_secrets)
            except _Failed:
                return self.report
            try:
                client = AcumaticaClient(
                    self.source.url,
                    timeout=self.source.operation_timeout,
                    ca_bundle=self.options.ca_bundle,
                    redactor=self.redact,
                    limits=self.options.limits,
                    gate=self.options.gate,
                    discovery=self.options.discovery,
                )
            except AcumaticaError as exc:
                self.report.add("discovery", "failed", self.redact(str(exc)))
                return self.report
            try:
                if isinstance(self.source.authentication, BasicAuthentication):
                    self._basic(client)
                else:
                    self._oauth(client, self.source.authentication)
            except _Failed:
                pass
            finally:
                self.report.requests = client.requests
                client.close()
            return self.report
        finally:
            self.report.duration_ms = round((time.perf_counter() - started) * 1000)

    # --- secrets --------------------------------------------------------------------------

    def _references(self) -> dict[str, SecretReference]:
        auth = self.source.authentication
        found: dict[str, SecretReference] = {}
        if isinstance(auth, BasicAuthentication):
            found["password"] = auth.password
        else:
            found["client_secret"] = auth.client_secret
            verification = self.source.verification
            if verification.login is not None:
                found["login.password"] = verification.login.password
                if verification.login.client_secret is not None:
                    found["login.client_secret"] = verification.login.client_secret
            if verification.refresh_token is not None:
                found["refresh_token"] = verification.refresh_token
        return found

    def _resolve_secrets(self, check: Check) -> None:
        described = []
        for name, reference in self._references().items():
            resolved = self.secrets.resolve(reference)
            value = resolved.value.reveal()
            self.redact.add(value)
            self._values[name] = value
            self._metadata[name] = resolved.metadata
            version = resolved.metadata.version
            self.report.secret_versions[resolved.metadata.reference] = version
            described.append(
                resolved.metadata.reference + (f" (version {version})" if version else "")
            )
        check.detail = "resolved " + ", ".join(described)

    # --- discovery ------------------------------------------------------------------------

    def _discover(self, client: AcumaticaClient) -> tuple[SiteInfo, str]:
        def discover(check: Check) -> tuple[SiteInfo, str]:
            info = client.discover()
            self.report.server.build_version = info.build_version
            version = info.choose_version(self.source.endpoint_version)
            self.report.server.endpoint = "Default"
            self.report.server.version = version
            check.detail = (
                f"Acumatica {info.build_version or 'build unknown'}; using endpoint Default "
                f"{version} (available: {', '.join(info.versions()) or 'none'})"
            )
            return info, version

        return self.step("discovery", discover)

    # --- Basic ----------------------------------------------------------------------------

    def _basic(self, client: AcumaticaClient) -> None:
        auth = self.source.authentication
        assert isinstance(auth, BasicAuthentication)
        try:
            _, version = self._discover(client)
        except _Failed:
            self.skip(*BASIC_STEPS, reason="not run: endpoint discovery failed")
            return
        login_check = self.report.add("login", "ok", "")
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                with client.session(
                    username=auth.username,
                    password=self._values["password"],
                    tenant=self.source.company,
                    branch=self.source.text_property("Branch"),
                    locale=self.source.text_property("Locale"),
                ) as session:
                    login_check.duration_ms = round((time.perf_counter() - started) * 1000)
                    login_check.detail = (
                        f"logged in as {auth.username} to company {self.source.company}"
                    )
                    if attempt == 2:
                        login_check.detail += " (again: the first session expired mid-read)"
                    expired = self._pages(session, version, may_expire=attempt == 1)
                    logout_started = time.perf_counter()
            except LogoutFailed as exc:
                self.report.add("logout", "warning", self.redact(str(exc)))
                return
            except AcumaticaError as exc:
                login_check.status = "failed"
                login_check.detail = self.redact(str(exc) + self._credential_hint(exc))
                login_check.duration_ms = round((time.perf_counter() - started) * 1000)
                self.skip("page", "next_page", "logout", reason="not run: the login failed")
                return
            logout_ms = round((time.perf_counter() - logout_started) * 1000)
            if not expired:
                self.report.add("logout", "ok", "session closed", logout_ms)
                return

    def _credential_hint(self, exc: AcumaticaError) -> str:
        if isinstance(exc, CredentialsRejected) and "password" in self._metadata:
            return f" (password from {self._metadata['password'].reference})"
        return ""

    # --- the paged test request -----------------------------------------------------------

    def _pages(self, session: Session, version: str, *, may_expire: bool) -> bool:
        """Read one page and, when it is full, one record of the next; True when the session
        expired and the caller should log in again."""
        entity = self.source.verification.entity
        page_size = self.source.page_size
        select = probe_key_field(entity, version)
        page = self.report.add("page", "ok", "")
        started = time.perf_counter()
        try:
            records = session.read(entity, version=version, top=page_size, skip=0, select=select)
        except SessionExpired as exc:
            if may_expire:
                self.report.checks.remove(page)
                return True
            page.status = "failed"
            page.detail = self.redact(
                str(exc)
                + (
                    " (again, right after a new login)"
                    if session.kind == "cookie"
                    else ": the site refused the access token it had just issued"
                )
            )
            self.skip("next_page", reason="not run: the first page failed")
            return False
        except TenantSetupIncomplete as exc:
            page.status = "warning"
            page.detail = self.redact(str(exc)) + ": authentication works"
            self.skip("next_page", reason="not run: the company's setup is not finished")
            return False
        except AcumaticaError as exc:
            page.status, page.detail = "failed", self.redact(str(exc) + _read_hint(exc, entity))
            self.skip("next_page", reason="not run: the first page failed")
            return False
        finally:
            page.duration_ms = round((time.perf_counter() - started) * 1000)
        self.report.records_read += len(records)
        selected = f", $select={select}" if select else ""
        page.detail = (
            f"read {len(records)} {entity} record(s) with $top={page_size}, $skip=0{selected}"
        )
        if len(records) < page_size:
            self.skip("next_page", reason="the first page was not full: there is no next page")
            return False
        following = self.report.add("next_page", "ok", "")
        started = time.perf_counter()
        try:
            more = session.read(entity, version=version, top=1, skip=page_size, select=select)
        except AcumaticaError as exc:
            if isinstance(exc, SessionExpired) and may_expire:
                # it expired between the two reads: as for the first page, log in again once
                self.report.checks.remove(page)
                self.report.checks.remove(following)
                self.report.records_read -= len(records)
                return True
            following.status = "failed"
            following.detail = self.redact(str(exc) + _read_hint(exc, entity))
            return False
        finally:
            following.duration_ms = round((time.perf_counter() - started) * 1000)
        self.report.records_read += len(more)
        following.detail = f"paging continues: {len(more)} record(s) at $skip={page_size}"
        return False

    # --- OAuth 2.0 ------------------------------------------------------------------------

    def _oauth(self, client: AcumaticaClient, auth: OAuth2Authentication) -> None:
        try:
            _, version = self._discover(client)
        except _Failed:
            if isinstance(self._last_error, TransportError):
                self.skip(*OAUTH_STEPS, reason="not run: the site cannot be reached")
                return
            version = None
        self.try_step("openid_configuration", lambda check: self._openid(client, check))
        self.try_step("client_secret", lambda check: self._client_secret(client, auth, check))
        self._callback(client, auth)
        if version is None:
            self.skip("data_probe", reason="not run: endpoint discovery failed")
            return
        self._data_probe(client, auth, version)

    def _openid(self, client: AcumaticaClient, check: Check) -> None:
        document = client.openid_configuration()
        grants = document.get("grant_types_supported")
        check.detail = f"issuer {document.get('issuer', '?')}" + (
            f"; grants: {', '.join(map(str, grants))}" if isinstance(grants, list) else ""
        )

    def _client_secret(
        self, client: AcumaticaClient, auth: OAuth2Authentication, check: Check
    ) -> None:
        redirect = self.callback_url or "https://localhost/acumatica-ds-probe"
        answer = client.test_client_secret(
            client_id=auth.client_id,
            client_secret=self._values["client_secret"],
            redirect_uri=redirect,
        )
        reference = self._metadata["client_secret"].reference
        if answer == "invalid_grant":
            check.detail = "the client id and secret are accepted (a bogus code gave invalid_grant)"
        elif answer == "invalid_client":
            check.status = "failed"
            check.detail = (
                f"Acumatica rejected client {auth.client_id} with the secret from {reference} "
                "(invalid_client): check authentication.client_id and that the secret matches "
                "one of the application's Secrets"
            )
        elif answer == "unauthorized_client":
            check.status = "failed"
            check.detail = (
                f"connected application {auth.client_id} does not use the Authorization Code "
                "flow (unauthorized_client): data sources need an Authorization Code application"
            )
        else:
            check.status = "warning"
            check.detail = f"inconclusive: the token endpoint answered {answer} to a bogus code"

    def _callback(self, client: AcumaticaClient, auth: OAuth2Authentication) -> None:
        if self.callback_url is None:
            self.skip("callback_url", reason="no callback URL (callback_base_url is not set)")
            return
        callback = self.callback_url

        def probe(check: Check) -> None:
            scope = " ".join(auth.scope)
            result = client.probe_authorize(
                client_id=auth.client_id, redirect_uri=callback, scope=scope
            )
            self.report.callback_registered = result.registered
            if result.registered:
                check.detail = f"{callback} is registered ({result.detail})"
            elif result.registered is False:
                check.status = "failed"
                check.detail = (
                    f"{callback} is not a Redirect URI of connected application "
                    f"{auth.client_id} ({result.detail}): add it in Acumatica under "
                    f"{CONNECTED_APPS_FORM}"
                )
            else:
                check.status = "warning"
                check.detail = f"could not tell whether {callback} is registered: {result.detail}"

        self.try_step("callback_url", probe)

    def _data_probe(
        self, client: AcumaticaClient, auth: OAuth2Authentication, version: str
    ) -> None:
        verification = self.source.verification
        if verification.login is None and verification.refresh_token is None:
            self.skip(
                "data_probe",
                reason="no user for the data probe: set verification.login (a password-flow "
                "application's user) or verification.refresh_token to read data",
            )
            return
        # One session slot for the token and its bearer session: a site may open the
        # session (and take a license slot) as soon as it issues the token.
        with client.slot(self.source.company):
            try:
                token, user = self.step("token", lambda check: self._token(client, auth, check))
            except _Failed:
                self.skip("page", "next_page", "logout", reason="not run: no access token")
                return
            started = time.perf_counter()
            try:
                with client.bearer_session(token, user=user, tenant=self.source.company) as session:
                    # every exit from here on logs the token's session out
                    if verification.refresh_token is not None and token.refresh_token:
                        self.try_step(
                            "refresh_token_rotation",
                            lambda check: self._store_rotated(token, check),
                        )
                    self._pages(session, version, may_expire=False)
                    started = time.perf_counter()
            except LogoutFailed as exc:
                self.report.add("logout", "warning", self.redact(str(exc)))
                return
        self.report.add(
            "logout", "ok", "token session closed", round((time.perf_counter() - started) * 1000)
        )

    def _token(
        self, client: AcumaticaClient, auth: OAuth2Authentication, check: Check
    ) -> tuple[TokenSet, str]:
        login = self.source.verification.login
        scope = " ".join(auth.scope)
        if login is not None:
            client_id = login.client_id or auth.client_id
            secret = self._values.get("login.client_secret", self._values["client_secret"])
            try:
                token = client.password_token(
                    client_id=client_id,
                    client_secret=secret,
                    username=login.username,
                    password=self._values["login.password"],
                    scope=scope,
                )
            except OAuthError as exc:
                exc.extend(self._password_grant_hint(exc, own_app=login.client_id is None))
                raise
            check.detail = f"password grant for {login.username} through {client_id}"
            return token, login.username
        try:
            token = client.refresh(
                client_id=auth.client_id,
                client_secret=self._values["client_secret"],
                refresh_token=self._values["refresh_token"],
            )
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                stored = self._metadata["refresh_token"].reference
                exc.extend(
                    f": the refresh token stored at {stored} is expired, revoked or already "
                    "rotated; obtain a new one (sign in through the BI server) and store it there"
                )
            raise
        check.detail = f"refresh-token grant through {auth.client_id}"
        return token, "refresh token"

    def _password_grant_hint(self, exc: OAuthError, *, own_app: bool) -> str:
        if exc.error == "invalid_grant":
            stored = self._metadata["login.password"].reference
            return (
                ": check verification.login.username and its password "
                f"({stored}), and that the user is neither locked nor due a password change"
            )
        if exc.error == "unauthorized_client":
            if own_app:
                return (
                    ": the data source's application does not allow the password grant; set "
                    "verification.login.client_id and client_secret to a Resource Owner "
                    "Password application"
                )
            return ": verification.login.client_id must be a Resource Owner Password application"
        if exc.error == "invalid_client":
            field_name = "authentication" if own_app else "verification.login"
            return f": check {field_name}.client_id and client_secret"
        return ""

    def _store_rotated(self, token: TokenSet, check: Check) -> None:
        reference = self.source.verification.refresh_token
        assert isinstance(reference, VaultSecretRef) and token.refresh_token is not None
        self.redact.add(token.refresh_token)
        expected = self._metadata["refresh_token"].version
        try:
            stored = self.secrets.write(reference, token.refresh_token, expected_version=expected)
        except AcumaticaDataSourceError as exc:
            check.status = "failed"
            check.detail = self.redact(
                f"Acumatica rotated the refresh token, so the one stored at "
                f"{reference.describe()} is now invalid, and the new one could not be written "
                f"back ({exc}): obtain a new refresh token and store it there"
            )
            return
        self.report.secret_versions[stored.reference] = stored.version
        check.detail = f"stored the rotated refresh token at {stored.reference}" + (
            f" as version {stored.version}" if stored.version else ""
        )
