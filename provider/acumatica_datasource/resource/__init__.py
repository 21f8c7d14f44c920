"""The Pulumi adapter: the ``AcumaticaDataSource`` resource and its dynamic provider."""

from acumatica_datasource.resource.environment import declare, declare_environment
from acumatica_datasource.resource.inputs import (
    BasicAuth,
    EnvSecret,
    OAuth2,
    VaultSecret,
    VerificationSettings,
    VerificationUser,
)
from acumatica_datasource.resource.outputs import PROVIDER_VERSION
from acumatica_datasource.resource.provider import DataSourceError, DataSourceProvider
from acumatica_datasource.resource.resource import TYPE_TOKEN, AcumaticaDataSource

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
