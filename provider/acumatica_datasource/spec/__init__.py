"""The data-source spec: models, validation, connection strings, callback URLs, schema.

Pure: no network and no secrets; safe to import anywhere. Names are loaded on first use, so
a process loads only the modules it uses (the provider's ``check`` never reads YAML).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acumatica_datasource.exports import lazy_exports

if TYPE_CHECKING:
    from acumatica_datasource.spec.connection_string import MANAGED_KEYS
    from acumatica_datasource.spec.document import (
        SpecError,
        UnreadableFileError,
        ValidationResult,
        load_environment,
        project_problem,
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
    from acumatica_datasource.spec.problems import RULES, FieldProblem, Problem, Rule
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

_MODULES = {
    "DEFAULT_PROJECT": "models",
    "DEFAULT_SCOPE": "models",
    "MANAGED_KEYS": "connection_string",
    "RULES": "problems",
    "SCOPES": "models",
    "SECRET_PATHS": "models",
    "AppRoleAuth": "vault",
    "BasicAuthentication": "models",
    "CredentialSource": "vault",
    "DataSource": "models",
    "DataSourceDefaults": "models",
    "EnvSecretRef": "references",
    "Environment": "models",
    "FieldProblem": "problems",
    "InlineSecretRef": "references",
    "JwtAuth": "vault",
    "KubernetesAuth": "vault",
    "OAuth2Authentication": "models",
    "Problem": "problems",
    "Rule": "problems",
    "SecretPath": "secret_fields",
    "SecretReference": "references",
    "SpecError": "document",
    "TokenAuth": "vault",
    "UnreadableFileError": "document",
    "ValidationResult": "document",
    "VaultLocation": "references",
    "VaultSecretRef": "references",
    "VaultSettings": "vault",
    "Verification": "models",
    "VerificationLogin": "models",
    "callback_url": "urls",
    "connection_properties": "source_connection_string",
    "environment_name_mismatch": "stage_names",
    "load_environment": "document",
    "normalize_site_url": "urls",
    "placeholder": "source_connection_string",
    "project_problem": "document",
    "render_connection_string": "source_connection_string",
    "rendered_secrets": "source_connection_string",
    "secret_subpaths": "models",
    "slugify": "urls",
    "validate_data": "document",
    "validate_file": "document",
    "validate_text": "document",
}


__getattr__ = lazy_exports(__name__, _MODULES)

__all__ = [
    "DEFAULT_PROJECT",
    "DEFAULT_SCOPE",
    "MANAGED_KEYS",
    "RULES",
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
    "Rule",
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
    "project_problem",
    "render_connection_string",
    "rendered_secrets",
    "secret_subpaths",
    "slugify",
    "validate_data",
    "validate_file",
    "validate_text",
]
