"""The ``vault:`` block of an environment file: how to reach and log in to Vault.

Every setting is optional: ``BAO_*`` and then ``VAULT_*`` environment variables fill what the
file leaves out (see :mod:`acumatica_datasource.secrets`). Credentials for logging in are
never written in the file either: they come from an environment variable or a file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.spec.base import SpecModel, rule_errors
from acumatica_datasource.spec.references import ENV_NAME_PATTERN
from acumatica_datasource.spec.urls import HTTPS_OR_LOOPBACK_PATTERN, plain_http_off_loopback

KUBERNETES_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
INSECURE_HTTP_MESSAGE = (
    "must use https:// (plain http:// only for loopback addresses): over http the Vault token "
    "and every secret travel in clear. Use Vault's https address, or accept the risk with "
    f"vault.allow_insecure_http: true (or {variables.VAULT_ALLOW_HTTP}=1)"
)

NonEmpty = Annotated[str, Field(min_length=1, pattern=r"^\S+$")]


class CredentialSource(SpecModel):
    """``{env: NAME}`` or ``{file: PATH}``: where a login credential is read from."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["env"]}, {"required": ["file"]}]}
    )

    env: Annotated[str, Field(pattern=ENV_NAME_PATTERN)] | None = None
    file: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one(self) -> CredentialSource:
        if (self.env is None) == (self.file is None):
            raise PydanticCustomError("credential_source", "give exactly one of env or file")
        return self

    def describe(self) -> str:
        """``env:NAME`` or ``file:PATH``, for messages."""
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


class TokenAuth(SpecModel):
    """A Vault token: from ``token`` when given, else BAO_TOKEN / VAULT_TOKEN / ~/.vault-token."""

    method: Literal["token"]
    token: CredentialSource | None = None


class AppRoleAuth(SpecModel):
    """AppRole login: a role id and a secret id."""

    method: Literal["approle"]
    role_id: Annotated[
        Annotated[NonEmpty, Tag("text")] | Annotated[CredentialSource, Tag("source")],
        Discriminator(lambda v: "source" if isinstance(v, dict | CredentialSource) else "text"),
    ]
    """The role id itself (not a secret), or where to read it from."""
    secret_id: CredentialSource
    mount: NonEmpty = "approle"


class JwtAuth(SpecModel):
    """JWT/OIDC login with a CI identity token (GitHub Actions, GitLab CI, ...)."""

    method: Literal["jwt"]
    role: NonEmpty
    token: CredentialSource
    mount: NonEmpty = "jwt"


class KubernetesAuth(SpecModel):
    """Kubernetes login with the pod's service-account token."""

    method: Literal["kubernetes"]
    role: NonEmpty
    token_file: Annotated[str, Field(min_length=1)] = KUBERNETES_TOKEN_FILE
    mount: NonEmpty = "kubernetes"


VaultAuth = Annotated[
    TokenAuth | AppRoleAuth | JwtAuth | KubernetesAuth, Field(discriminator="method")
]


class VaultSettings(SpecModel):
    """Connection and login settings for Vault (or OpenBao)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {
                "not": {
                    "required": ["allow_insecure_http"],
                    "properties": {"allow_insecure_http": {"const": True}},
                }
            },
            "then": {"properties": {"address": {"pattern": HTTPS_OR_LOOPBACK_PATTERN}}},
        }
    )

    address: Annotated[str, Field(pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$")] | None = None
    namespace: NonEmpty | None = None
    auth: VaultAuth | None = None
    """How to log in; a token (``method: token``) when absent."""
    ca_cert: Annotated[str, Field(min_length=1)] | None = None
    """A PEM file of CA certificates to trust."""
    ca_path: Annotated[str, Field(min_length=1)] | None = None
    """A directory of CA certificates to trust."""
    client_cert: Annotated[str, Field(min_length=1)] | None = None
    client_key: Annotated[str, Field(min_length=1)] | None = None
    skip_verify: bool | None = None
    """Do not verify Vault's TLS certificate (insecure; a warning is printed)."""
    timeout: Annotated[float, Field(gt=0, le=600)] | None = None
    """Seconds per Vault request (default 30)."""
    allow_insecure_http: bool | None = None
    """Accept a plain ``http://`` address off loopback (insecure: the token travels in clear;
    a warning is printed on every run)."""

    @model_validator(mode="after")
    def _https_off_loopback(self) -> VaultSettings:
        insecure = self.address is not None and plain_http_off_loopback(self.address)
        if insecure and not self.allow_insecure_http:
            raise rule_errors([(("address",), INSECURE_HTTP_MESSAGE)])
        return self
