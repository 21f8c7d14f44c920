"""The data-source spec: models, validation, connection strings, callback URLs, schema.

Pure: no network and no secrets; safe to import anywhere, fast to import.
"""

from acumatica_datasource.spec.connection_string import MANAGED_KEYS
from acumatica_datasource.spec.document import (
    SpecError,
    UnreadableFileError,
    ValidationResult,
    load_environment,
    validate_data,
    validate_file,
    validate_text,
)
from acumatica_datasource.spec.models import (
    DEFAULT_PROJECT,
    DEFAULT_SCOPE,
    SCOPES,
    SECRET_PATHS,
    BasicAuthentication,
    DataSource,
    DataSourceDefaults,
    Environment,
    OAuth2Authentication,
    Verification,
    VerificationLogin,
    secret_subpaths,
)
from acumatica_datasource.spec.problems import FieldProblem, Problem
from acumatica_datasource.spec.references import (
    EnvSecretRef,
    InlineSecretRef,
    SecretReference,
    VaultLocation,
    VaultSecretRef,
)
from acumatica_datasource.spec.secret_fields import SecretPath
from acumatica_datasource.spec.source_connection_string import (
    connection_properties,
    placeholder,
    render_connection_string,
    rendered_secrets,
)
from acumatica_datasource.spec.stage_names import environment_name_mismatch
from acumatica_datasource.spec.urls import callback_url, normalize_site_url, slugify
from acumatica_datasource.spec.vault import (
    AppRoleAuth,
    CredentialSource,
    JwtAuth,
    KubernetesAuth,
    TokenAuth,
    VaultSettings,
)

__all__ = [
    "DEFAULT_PROJECT",
    "DEFAULT_SCOPE",
    "MANAGED_KEYS",
    "SCOPES",
    "SECRET_PATHS",
    "AppRoleAuth",
    "BasicAuthentication",
    "CredentialSource",
    "DataSource",
    "DataSourceDefaults",
    "EnvSecretRef",
    "Environment",
    "FieldProblem",
    "InlineSecretRef",
    "JwtAuth",
    "KubernetesAuth",
    "OAuth2Authentication",
    "Problem",
    "SecretPath",
    "SecretReference",
    "SpecError",
    "TokenAuth",
    "UnreadableFileError",
    "ValidationResult",
    "VaultLocation",
    "VaultSecretRef",
    "VaultSettings",
    "Verification",
    "VerificationLogin",
    "callback_url",
    "connection_properties",
    "environment_name_mismatch",
    "load_environment",
    "normalize_site_url",
    "placeholder",
    "render_connection_string",
    "rendered_secrets",
    "secret_subpaths",
    "slugify",
    "validate_data",
    "validate_file",
    "validate_text",
]
