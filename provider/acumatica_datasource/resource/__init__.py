"""The Pulumi adapters: one lifecycle of a data source (:mod:`.lifecycle`) behind the
``AcumaticaDataSource`` resource with its dynamic provider (Python programs) and the provider
plugin ``pulumi-resource-acumatica`` (:mod:`.plugin`, every other language).

Names are loaded on first use, so the plugin starts without the dynamic provider's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acumatica_datasource.resource.environment import declare, declare_environment
    from acumatica_datasource.resource.inputs import (
        BasicAuth,
        EnvSecret,
        OAuth2,
        VaultSecret,
        VerificationSettings,
        VerificationUser,
    )
    from acumatica_datasource.resource.lifecycle import DataSourceError
    from acumatica_datasource.resource.outputs import PROVIDER_VERSION
    from acumatica_datasource.resource.provider import DataSourceProvider
    from acumatica_datasource.resource.resource import TYPE_TOKEN, AcumaticaDataSource

_MODULES = {
    "PROVIDER_VERSION": "outputs",
    "TYPE_TOKEN": "resource",
    "AcumaticaDataSource": "resource",
    "BasicAuth": "inputs",
    "DataSourceError": "lifecycle",
    "DataSourceProvider": "provider",
    "EnvSecret": "inputs",
    "OAuth2": "inputs",
    "VaultSecret": "inputs",
    "VerificationSettings": "inputs",
    "VerificationUser": "inputs",
    "declare": "environment",
    "declare_environment": "environment",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'acumatica_datasource.resource' has no attribute {name!r}")
    return getattr(importlib.import_module(f"acumatica_datasource.resource.{module}"), name)


__all__ = [
    "PROVIDER_VERSION",
    "TYPE_TOKEN",
    "AcumaticaDataSource",
    "BasicAuth",
    "DataSourceError",
    "DataSourceProvider",
    "EnvSecret",
    "OAuth2",
    "VaultSecret",
    "VerificationSettings",
    "VerificationUser",
    "declare",
    "declare_environment",
]
