"""Provider-wide settings, from stack config (``acumatica:*``) and the environment.

* ``acumatica:verificationMode`` / ``ACUMATICA_DS_VERIFICATION_MODE``: the mode of data
  sources that set none;
* ``acumatica:sessionsPerSite`` / ``ACUMATICA_DS_SESSIONS_PER_SITE``: concurrent sessions
  per site;
* ``acumatica:caBundle`` / ``ACUMATICA_DS_CA_BUNDLE``: a CA bundle for the Acumatica sites;
* ``acumatica:vault`` (an object, like an environment file's ``vault:``) / ``VAULT_*`` and
  ``BAO_*``: Vault settings. A resource's own ``vault`` input wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.spec import VaultSettings
from acumatica_datasource.verify import VerifyOptions

NAMESPACE = "acumatica"
MODES = ("strict", "warn", "off")


class SettingsError(AcumaticaDataSourceError):
    """A provider setting is invalid."""


@dataclass(frozen=True)
class ProviderSettings:
    """What ``configure`` learned."""

    default_mode: str | None = None
    verify_options: VerifyOptions = field(default_factory=VerifyOptions)
    vault: VaultSettings | None = None

    @classmethod
    def load(cls, config: Mapping[str, Any], environ: Mapping[str, str]) -> ProviderSettings:
        """Settings from raw stack config (``namespace:key`` -> value) and the environment."""

        def get(key: str, variable: str) -> tuple[Any, str]:
            """The value and where it came from (the config key or the variable)."""
            value = config.get(f"{NAMESPACE}:{key}")
            if value not in (None, ""):
                return value, f"{NAMESPACE}:{key}"
            return environ.get(variable) or None, variable

        mode, origin = get("verificationMode", variables.VERIFICATION_MODE)
        if mode is not None and mode not in MODES:
            raise SettingsError(f"{origin} must be one of {', '.join(MODES)}, got {mode!r}")
        sessions, origin = get("sessionsPerSite", variables.SESSIONS_PER_SITE)
        try:
            options = VerifyOptions.from_environment(
                {},
                sessions_per_site=int(sessions) if sessions is not None else None,
                ca_bundle=get("caBundle", variables.CA_BUNDLE)[0],
            )
        except ValueError:
            raise SettingsError(
                f"{origin} must be a whole number of at least 1, got {sessions!r}"
            ) from None
        vault = config.get(f"{NAMESPACE}:vault")
        if isinstance(vault, str):
            try:
                vault = json.loads(vault)
            except ValueError:
                raise SettingsError(f"{NAMESPACE}:vault must be an object") from None
        try:
            settings = VaultSettings.model_validate(vault) if vault else None
        except ValidationError:
            raise SettingsError(
                f"{NAMESPACE}:vault is not valid Vault settings (see the vault: block of "
                "environment files)"
            ) from None
        return cls(default_mode=mode, verify_options=options, vault=settings)
