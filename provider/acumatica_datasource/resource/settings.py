"""Provider-wide settings, from the provider's configuration (``acumatica:*``) and the
environment. :data:`CONFIG_VARIABLES` is the list (the package schema's ``config``):

* ``verificationMode`` / ``ACUMATICA_DS_VERIFICATION_MODE``: the mode of data sources that
  set none;
* ``sessionsPerSite`` / ``ACUMATICA_DS_SESSIONS_PER_SITE``: concurrent sessions per site;
* ``caBundle`` / ``ACUMATICA_DS_CA_BUNDLE``: a CA bundle for the Acumatica sites;
* Vault: ``vault`` (an object, like an environment file's ``vault:``) and the flat keys
  ``vaultAddress``, ``vaultNamespace``, ``vaultCaCert``, ``vaultSkipVerify``,
  ``vaultAuthMethod``, ``vaultAuthMount``, ``vaultRole``, ``vaultRoleId``,
  ``vaultKubernetesTokenFile`` and the credentials ``vaultToken``, ``vaultSecretId`` and
  ``vaultJwt`` (secrets: ``pulumi config set --secret``), which win over ``vault``; else
  ``BAO_*`` / ``VAULT_*`` variables. A resource's own ``vault`` input wins over all of them.

Values may arrive typed or as the text ``pulumi config set`` stores.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.spec import VaultSettings

if TYPE_CHECKING:  # the verify layer is imported when a verification runs
    from acumatica_datasource.verify import VerifyOptions

NAMESPACE = "acumatica"
MODES = ("strict", "warn", "off")

CREDENTIALS = {
    "vaultToken": ("token", "token"),
    "vaultSecretId": ("approle", "secret_id"),
    "vaultJwt": ("jwt", "token"),
}
"""Secret config keys -> the auth method they imply and the field of ``vault.auth`` they
fill."""

CONFIG_VARIABLES: dict[str, dict[str, Any]] = {
    "verificationMode": {
        "type": "string",
        "description": "The verification mode of data sources that set none: strict, warn or "
        "off (ACUMATICA_DS_VERIFICATION_MODE).",
    },
    "sessionsPerSite": {
        "type": "integer",
        "description": "Concurrent Acumatica sessions per site (ACUMATICA_DS_SESSIONS_PER_SITE; "
        "default 1).",
    },
    "caBundle": {
        "type": "string",
        "description": "A PEM file of CA certificates for the Acumatica sites "
        "(ACUMATICA_DS_CA_BUNDLE).",
    },
    "vault": {
        "$ref": f"#/types/{NAMESPACE}:index:VaultSettings",
        "description": "Vault settings as an object, like an environment file's vault: block.",
    },
    "vaultAddress": {"type": "string", "description": "Vault's address (BAO_ADDR, VAULT_ADDR)."},
    "vaultNamespace": {"type": "string", "description": "A Vault Enterprise namespace."},
    "vaultCaCert": {"type": "string", "description": "A PEM file of CA certificates for Vault."},
    "vaultSkipVerify": {
        "type": "boolean",
        "description": "Do not verify Vault's TLS certificate (insecure).",
    },
    "vaultAuthMethod": {
        "type": "string",
        "description": "How to log in to Vault: token (default), approle, jwt or kubernetes.",
    },
    "vaultAuthMount": {"type": "string", "description": "The auth method's mount path."},
    "vaultRole": {"type": "string", "description": "The role of the jwt or kubernetes login."},
    "vaultRoleId": {"type": "string", "description": "The role id of the AppRole login."},
    "vaultKubernetesTokenFile": {
        "type": "string",
        "description": "The service-account token file of the kubernetes login.",
    },
    "vaultToken": {
        "type": "string",
        "secret": True,
        "description": "A Vault token (the token method).",
    },
    "vaultSecretId": {
        "type": "string",
        "secret": True,
        "description": "The secret id of the AppRole login.",
    },
    "vaultJwt": {
        "type": "string",
        "secret": True,
        "description": "The identity token of the jwt login (e.g. the CI's OIDC token).",
    },
}
"""The provider's configuration keys (``acumatica:<key>``), as package-schema properties."""


_OPTIONS_LOCK = threading.Lock()


class SettingsError(AcumaticaDataSourceError):
    """A provider setting is invalid."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key
        """The configuration key at fault (without ``acumatica:``)."""


@dataclass(frozen=True)
class ProviderSettings:
    """What ``configure`` learned."""

    default_mode: str | None = None
    sessions_per_site: int | None = None
    ca_bundle: str | None = None
    vault: VaultSettings | None = None
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Secret credentials from the configuration, as the variables that ``vault.auth``
    names (``{env: acumatica_vaultToken}``): the secret resolvers read them from there."""

    @property
    def verify_options(self) -> VerifyOptions:
        """The options of the verifications: made by the first one (``check`` needs none), then
        shared by all, with their discovery cache."""
        with _OPTIONS_LOCK:
            options: VerifyOptions | None = self.__dict__.get("_verify_options")
            if options is None:
                from acumatica_datasource.verify import VerifyOptions

                options = self.__dict__["_verify_options"] = VerifyOptions.from_environment(
                    {}, sessions_per_site=self.sessions_per_site, ca_bundle=self.ca_bundle
                )
            return options

    @classmethod
    def load(cls, config: Mapping[str, Any], environ: Mapping[str, str]) -> ProviderSettings:
        """Settings from configuration (``acumatica:key`` -> value) and the environment;
        :class:`SettingsError` names the key at fault."""

        def get(key: str, variable: str | None = None) -> Any:
            value = config.get(f"{NAMESPACE}:{key}")
            if value not in (None, ""):
                return value
            return (environ.get(variable) or None) if variable else None

        def origin(key: str, variable: str) -> str:
            """Where ``key``'s value came from: the config key, else the variable."""
            given = config.get(f"{NAMESPACE}:{key}") not in (None, "")
            return f"{NAMESPACE}:{key}" if given else variable

        mode = get("verificationMode", variables.VERIFICATION_MODE)
        if mode is not None and mode not in MODES:
            raise SettingsError(
                f"{origin('verificationMode', variables.VERIFICATION_MODE)} must be one of "
                f"{', '.join(MODES)}, got {mode!r}",
                "verificationMode",
            )
        sessions = get("sessionsPerSite", variables.SESSIONS_PER_SITE)
        try:
            per_site = _count(sessions) if sessions is not None else None
        except ValueError:
            raise SettingsError(
                f"{origin('sessionsPerSite', variables.SESSIONS_PER_SITE)} must be a whole "
                f"number of at least 1, got {sessions!r}",
                "sessionsPerSite",
            ) from None
        vault, credentials = _vault(get)
        try:
            settings = VaultSettings.model_validate(vault) if vault else None
        except ValidationError as exc:
            where = ".".join(str(part) for part in exc.errors()[0]["loc"])
            raise SettingsError(
                f"{NAMESPACE}:vault is not valid Vault settings ({where}: "
                f"{exc.errors()[0]['msg']}); see the vault: block of environment files",
                "vault",
            ) from None
        return cls(
            default_mode=mode,
            sessions_per_site=per_site,
            ca_bundle=get("caBundle", variables.CA_BUNDLE),
            vault=settings,
            credentials=credentials,
        )


def _count(value: Any) -> int:
    """A whole number of at least 1, typed or as text; else ``ValueError``."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _vault(get: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The ``vault`` object with the flat keys laid over it, and the credentials."""
    vault = get("vault")
    if isinstance(vault, str):
        try:
            vault = json.loads(vault)
        except ValueError:
            raise SettingsError(f"{NAMESPACE}:vault must be an object", "vault") from None
    if vault is not None and not isinstance(vault, Mapping):
        raise SettingsError(f"{NAMESPACE}:vault must be an object", "vault")
    result: dict[str, Any] = dict(vault or {})
    for key, name in (
        ("vaultAddress", "address"),
        ("vaultNamespace", "namespace"),
        ("vaultCaCert", "ca_cert"),
    ):
        if get(key) is not None:
            result[name] = str(get(key))
    skip = get("vaultSkipVerify")
    if skip is not None:
        if str(skip).lower() not in ("true", "false"):
            raise SettingsError(
                f"{NAMESPACE}:vaultSkipVerify must be true or false", "vaultSkipVerify"
            )
        result["skip_verify"] = str(skip).lower() == "true"
    method = get("vaultAuthMethod")
    auth: dict[str, Any] = dict(result.get("auth") or {})
    if method is not None:
        auth = {"method": str(method)}
    credentials: dict[str, str] = {}
    for key, name in (
        ("vaultAuthMount", "mount"),
        ("vaultRole", "role"),
        ("vaultRoleId", "role_id"),
        ("vaultKubernetesTokenFile", "token_file"),
    ):
        if get(key) is not None:
            auth[name] = str(get(key))
    for key, (implied, name) in CREDENTIALS.items():
        value = get(key)
        if value is None:
            continue
        variable = f"{NAMESPACE}_{key}"
        credentials[variable] = str(value)
        auth.setdefault("method", implied)
        auth[name] = {"env": variable}
    if auth:
        auth.setdefault("method", "token")
        result["auth"] = auth
    return (result or None), credentials
