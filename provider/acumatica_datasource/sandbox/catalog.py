"""What a configured site serves: the contract of each endpoint version it lists.

An endpoint version serves the entities of the nearest version of its definition files
(``definitions``; an endpoint without files of its own uses the ``Default`` ones, as a
custom endpoint extending it would) with the four hand-tuned entities of :mod:`.builtin`
on top. Without definition files only the hand-tuned entities are served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from acumatica_datasource.sandbox.builtin import ENTITY_NAMES, builtin_contract
from acumatica_datasource.sandbox.config import SandboxConfig, TenantConfig
from acumatica_datasource.sandbox.definitions import load_definitions
from acumatica_datasource.sandbox.model import Contract, ScalarType, merged, nearest

#: The shape custom endpoints (not ``Default``) serve when they have no definition files.
CUSTOM_ENDPOINT_SHAPE: Final = "24.200.001"


class Catalog:
    """The contracts of one configured site, built once per endpoint version."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.definitions = load_definitions(config.definitions) if config.definitions else {}
        self._contracts: dict[tuple[str, str], Contract] = {}
        self._shapes: dict[str, str] = {}

    def endpoint(self, name: str, version: str) -> tuple[str, str] | None:
        """The configured endpoint and version ``name``/``version`` names (any case)."""
        for endpoint, versions in self.config.endpoints.items():
            if endpoint.casefold() == name.casefold() and version in versions:
                return endpoint, version
        return None

    def contract(self, endpoint: str, version: str) -> Contract:
        """The contract of configured endpoint ``endpoint``/``version``."""
        known = self._contracts.get((endpoint, version))
        if known is not None:
            return known
        shape_version = version if endpoint == "Default" else CUSTOM_ENDPOINT_SHAPE
        builtin = builtin_contract(shape_version)
        base = self._defined(endpoint, version)
        key = f"{base.key}+{builtin.key}" if base is not None else builtin.key
        contract = merged(key, base, builtin)
        self._shapes[contract.key] = builtin.key.rsplit("/", 1)[-1]
        self._contracts[(endpoint, version)] = contract
        return contract

    def _defined(self, endpoint: str, version: str) -> Contract | None:
        own = {
            v: c for (e, v), c in self.definitions.items() if e.casefold() == endpoint.casefold()
        }
        if own:
            return own[nearest(tuple(own), version)]
        default = {v: c for (e, v), c in self.definitions.items() if e == "Default"}
        if not default:
            return None
        return default[nearest(tuple(default), version if endpoint == "Default" else "24.200.001")]

    def shape(self, contract: Contract, entity: str) -> str | None:
        """The hand-tuned reference shape of a built-in entity (None for generated ones)."""
        return self._shapes.get(contract.key) if entity in ENTITY_NAMES else None

    def record_count(self, tenant: TenantConfig, entity: str) -> int:
        """How many records ``entity`` has in ``tenant``."""
        return tenant.records.get(entity, self.config.default_records)

    def custom_fields(self, entity: str) -> Mapping[str, ScalarType]:
        """The configured custom fields (``View.Field`` -> type) of ``entity``."""
        return self.config.custom_fields.get(entity, {})
