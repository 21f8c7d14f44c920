"""The Pulumi adapters: one lifecycle of a data source (:mod:`.lifecycle`) behind the
``AcumaticaDataSource`` resource with its dynamic provider (Python programs) and the provider
plugin ``pulumi-resource-acumatica`` (:mod:`.plugin`, every other language).

Names are loaded on first use, so the plugin starts without the dynamic provider's imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acumatica_datasource.exports import lazy_exports

if TYPE_CHECKING:
    from acumatica_datasource.resource.environment import (
        declare,
        declare_environment,
        export_data_sources,
        read_environment,
    )
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
    "export_data_sources": "environment",
    "read_environment": "environment",
}


__getattr__ = lazy_exports(__name__, _MODULES)

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
    "export_data_sources",
    "read_environment",
]
