"""The ``AcumaticaDataSource`` resource class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi import dynamic

from acumatica_datasource.resource.inputs import (
    BasicAuth,
    EnvSecret,
    OAuth2,
    VaultSecret,
    VerificationSettings,
    secret_input,
)
from acumatica_datasource.resource.outputs import OUTPUT_PROPERTIES
from acumatica_datasource.resource.properties import RENAMED, secret_paths_in
from acumatica_datasource.resource.provider import DataSourceProvider
from acumatica_datasource.spec import VaultSettings

TYPE_TOKEN = "pulumi-python:dynamic/acumatica:DataSource"


class AcumaticaDataSource(dynamic.Resource, module="acumatica", name="DataSource"):
    """An Acumatica data source of a BI server, verified before it is recorded.

    Inputs follow the data-source spec (see ``environment.schema.json``); secrets are references
    (:class:`VaultSecret`, :class:`EnvSecret`) or Pulumi secrets, never plain strings.
    """

    description: pulumi.Output[str]
    data_source_id: pulumi.Output[str]
    """The stable id (explicit, or a slug of the description)."""
    url: pulumi.Output[str]
    company: pulumi.Output[str]
    page_size: pulumi.Output[int]
    operation_timeout: pulumi.Output[float]
    allow_insecure_tls: pulumi.Output[bool]
    extra_connection_properties: pulumi.Output[dict[str, Any]]
    """Text values, and secret references for the keys that carry credentials."""
    authentication: pulumi.Output[dict[str, Any]]
    verification_settings: pulumi.Output[dict[str, Any]]
    callback_base_url: pulumi.Output[str | None]
    callback_url: pulumi.Output[str | None]
    """The OAuth redirect URI to register in Acumatica (OAuth data sources)."""
    connection_string_template: pulumi.Output[str]
    """The connection string with secrets as placeholders."""
    verification: pulumi.Output[dict[str, Any]]
    """The last verification: status, checked_at, checks, server facts, callback registration."""
    secret_versions: pulumi.Output[dict[str, int | None]]
    """Secret reference -> the Vault version read (no values)."""
    connection_string: pulumi.Output[str | None]
    """With ``expose_connection_string``: the connection string with secrets (a secret)."""
    provider_version: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        *,
        description: pulumi.Input[str],
        url: pulumi.Input[str],
        company: pulumi.Input[str],
        authentication: BasicAuth | OAuth2 | Mapping[str, Any],
        callback_base_url: pulumi.Input[str] | None = None,
        data_source_id: pulumi.Input[str] | None = None,
        page_size: pulumi.Input[int] | None = None,
        operation_timeout: pulumi.Input[float] | None = None,
        extra_connection_properties: pulumi.Input[str] | Mapping[str, Any] | None = None,
        allow_insecure_tls: pulumi.Input[bool] | None = None,
        verification: VerificationSettings | Mapping[str, Any] | None = None,
        expose_connection_string: pulumi.Input[bool] | None = None,
        vault: VaultSettings | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "description": description,
            "data_source_id": data_source_id,
            "type": "Acumatica",
            "url": url,
            "company": company,
            "page_size": page_size,
            "operation_timeout": operation_timeout,
            "extra_connection_properties": _properties(extra_connection_properties),
            "allow_insecure_tls": allow_insecure_tls,
            "authentication": _guarded(_mapping(authentication), "authentication"),
            "verification_settings": _guarded(_mapping(verification), "verification_settings")
            if verification is not None
            else None,
            "expose_connection_string": expose_connection_string,
            "callback_base_url": callback_base_url,
            "vault": vault.model_dump(mode="json", exclude_none=True)
            if isinstance(vault, VaultSettings)
            else vault,
        }
        for name in OUTPUT_PROPERTIES:
            props.setdefault(name, None)
        options = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["connection_string"])
        )
        super().__init__(DataSourceProvider(), resource_name, props, options)


def _properties(value: Any) -> Any:
    """Extra connection properties, with :class:`VaultSecret` / :class:`EnvSecret` values (for
    keys that carry credentials) in their property form."""
    if not isinstance(value, Mapping):
        return value
    return {
        key: item.to_input() if isinstance(item, VaultSecret | EnvSecret) else item
        for key, item in value.items()
    }


def _mapping(value: Any) -> Any:
    to_input = getattr(value, "to_input", None)
    return to_input() if callable(to_input) else value


def _guarded(value: Any, property_name: str) -> Any:
    """A plain mapping's secret fields as :func:`secret_input` makes them: a plain string is
    refused (it would be stored in clear), an Output becomes a Pulumi secret."""
    if not isinstance(value, Mapping):
        return value
    name = RENAMED.get(property_name, property_name)
    result = dict(value)
    for path in secret_paths_in(property_name):
        parent: dict[str, Any] | None = result
        for part in path[:-1]:
            child = parent.get(part) if parent is not None else None
            if parent is None or not isinstance(child, Mapping):
                parent = None
                break
            copied = dict(child)
            parent[part] = copied
            parent = copied
        if parent is not None and parent.get(path[-1]) is not None:
            parent[path[-1]] = secret_input(parent[path[-1]], ".".join((name, *path)))
    return result
