"""Verify one data source: resolve its secrets, discover the site's endpoint, then run the
flow of its authentication (:mod:`~acumatica_datasource.verify.basic` or
:mod:`~acumatica_datasource.verify.oauth`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.acumatica import (
    GATE,
    AcumaticaClient,
    AcumaticaError,
    Cancellation,
    DiscoveryCache,
    SessionGate,
    SessionLimits,
)
from acumatica_datasource.acumatica.limits import DEFAULT_SESSIONS_PER_SITE
from acumatica_datasource.errors import Interrupted
from acumatica_datasource.redaction import Redactor
from acumatica_datasource.secrets import ResolvedSecret, SecretMetadata
from acumatica_datasource.spec import (
    BasicAuthentication,
    DataSource,
    SecretReference,
    VaultSecretRef,
)
from acumatica_datasource.verify.basic import verify_basic
from acumatica_datasource.verify.checks import Checks, StepFailed
from acumatica_datasource.verify.oauth import verify_oauth
from acumatica_datasource.verify.progress import ProgressBoard
from acumatica_datasource.verify.report import Check, Report, timing

MAX_SECRET_READS = 8
"""Distinct secrets of one data source read at once."""


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
    cancellation: Cancellation = field(default_factory=Cancellation)
    """The run's cancellation: once set, no verification starts and those under way stop at
    their next step (closing their sessions)."""
    board: ProgressBoard | None = None
    """Where verifications say what they wait for (for progress lines), if anywhere."""

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
        if sessions_per_site is None and environ.get(variables.SESSIONS_PER_SITE):
            text = environ[variables.SESSIONS_PER_SITE]
            if not text.isdigit() or int(text) < 1:
                raise ValueError(
                    f"{variables.SESSIONS_PER_SITE} must be a whole number of at least 1"
                )
            sessions_per_site = int(text)
        if sessions_per_site is not None and sessions_per_site < 1:
            raise ValueError("the number of sessions per site must be at least 1")
        return cls(
            ca_bundle=ca_bundle or environ.get(variables.CA_BUNDLE) or None,
            limits=SessionLimits(per_site=sessions_per_site or DEFAULT_SESSIONS_PER_SITE),
        )


class Verifier:
    """Runs the checks of one data source once (:meth:`run`) and holds what they share: the
    report, the resolved secret values (named by their path below ``authentication`` or
    ``verification``) and their metadata."""

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
        self.report = Report(
            description=source.description,
            data_source_id=source.data_source_id,
            mode=source.verification.mode,
            callback_url=callback_url,
            redact=Redactor(),
        )
        self.checks = Checks(self.report, self.report.redact, options.cancellation)
        self.values: dict[str, str] = {}
        self.metadata: dict[str, SecretMetadata] = {}
        self.waiting_for: Callable[[str], None] = _nowhere

    def run(self) -> Report:
        """Run every check that applies; never raises for a failed check. In a cancelled run
        the report says ``interrupted`` (and every session opened was closed)."""
        with timing(self.report), self._tracked():
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
                self.checks.skip("verification", reason="verification.mode is off: no checks ran")
                return self.report
            try:
                self._run()
            except Interrupted as exc:
                self.report.interrupted = str(exc) or "the run was cancelled"
        return self.report

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        board = self.options.board
        if board is None:
            yield
            return
        with board.track(self.source.data_source_id, self.source.description) as waiting_for:
            self.waiting_for = waiting_for
            try:
                yield
            finally:
                self.waiting_for = _nowhere

    def _run(self) -> None:
        try:
            self.checks.step("secrets", self._resolve_secrets)
        except StepFailed:
            return
        try:
            client = AcumaticaClient(
                self.source.url,
                timeout=self.source.operation_timeout,
                ca_bundle=self.options.ca_bundle,
                redactor=self.checks.redact,
                limits=self.options.limits,
                gate=self.options.gate,
                discovery=self.options.discovery,
                cancellation=self.options.cancellation,
                on_wait=self.waiting_for,
            )
        except AcumaticaError as exc:
            self.report.add("discovery", "failed", self.checks.redact(str(exc)))
            return
        try:
            version = self._discover(client)
            auth = self.source.authentication
            if isinstance(auth, BasicAuthentication):
                verify_basic(self, client, auth, version)
            else:
                verify_oauth(self, client, auth, version)
        finally:
            self.report.requests = client.requests
            self.report.possibly_open_sessions = client.possibly_open_sessions
            if client.left_open_note is not None:
                for check in self.report.checks:
                    if check.name in ("login", "token") and check.status == "ok":
                        check.detail += "; " + client.left_open_note
            client.close()

    def _resolve_secrets(self, check: Check) -> None:
        """Resolve every secret reference, the distinct ones at the same time."""
        self.waiting_for("Vault")
        references = self.source.secret_references()
        if len(references) > 1:
            with ThreadPoolExecutor(min(MAX_SECRET_READS, len(references))) as pool:
                futures = [pool.submit(self.secrets.resolve, r) for r in references.values()]
            outcomes = [future.exception() or future.result() for future in futures]
        else:
            outcomes = [self.secrets.resolve(r) for r in references.values()]
        described = []
        for path, resolved in zip(references, outcomes, strict=True):
            if isinstance(resolved, BaseException):
                raise resolved
            value = resolved.value.reveal()
            self.checks.redact.add(value)
            # password, client_secret, login.password, refresh_token; a credential property
            # keeps its field's name (a key could be "client_secret")
            name = ".".join(path if path[0] == "extra_connection_properties" else path[1:])
            self.values[name] = value
            self.metadata[name] = resolved.metadata
            version = resolved.metadata.version
            self.report.secret_versions[resolved.metadata.reference] = version
            described.append(
                resolved.metadata.reference + (f" (version {version})" if version else "")
            )
        check.detail = "resolved " + ", ".join(described)

    def _discover(self, client: AcumaticaClient) -> str | None:
        """The endpoint version to use, or None when discovery failed (its check says why)."""

        def discover(check: Check) -> str:
            self.waiting_for("the site's endpoint list (GET /entity)")
            info = client.discover()
            self.report.server.build_version = info.build_version
            version = info.choose_version(self.source.endpoint_version)
            self.report.server.endpoint = "Default"
            self.report.server.version = version
            check.detail = (
                f"Acumatica {info.build_version or 'build unknown'}; using endpoint Default "
                f"{version} (available: {', '.join(info.versions()) or 'none'})"
            )
            return version

        try:
            return self.checks.step("discovery", discover)
        except StepFailed:
            return None


def _nowhere(_what: str) -> None:
    """Progress goes nowhere when no board tracks the verification."""
