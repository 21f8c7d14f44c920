"""Declare every data source of an environment file as resources, and publish their outputs
as stack outputs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pulumi

from acumatica_datasource.resource.outputs import CONNECTION_STRINGS_OUTPUT, PUBLISHED_OUTPUTS
from acumatica_datasource.resource.resource import AcumaticaDataSource
from acumatica_datasource.spec import Environment, SpecError, load_environment


def declare_environment(
    path: str | os.PathLike[str], *, opts: pulumi.ResourceOptions | None = None
) -> dict[str, AcumaticaDataSource]:
    """One :class:`AcumaticaDataSource` per data source of the file, named by its id.

    An invalid file stops the program with every problem (``FILE:LINE: path: message``).
    """
    return declare(read_environment(path), opts=opts)


def read_environment(path: str | os.PathLike[str]) -> Environment:
    """The environment file at ``path``; an invalid one stops the program with every problem
    (``FILE:LINE: path: message``)."""
    try:
        return load_environment(path)
    except SpecError as exc:
        raise pulumi.RunError(f"invalid environment file:\n{exc}") from None


def declare(
    environment: Environment, *, opts: pulumi.ResourceOptions | None = None
) -> dict[str, AcumaticaDataSource]:
    """Resources for an already validated environment, named by their ids; a data source's
    ``previous_ids`` are aliases, so Pulumi keeps what it recorded under an old id."""
    vault = (
        environment.vault.model_dump(mode="json", exclude_none=True)
        if environment.vault is not None
        else None
    )
    resources: dict[str, AcumaticaDataSource] = {}
    for source in environment.data_sources:
        fields: dict[str, Any] = source.model_dump(mode="json", exclude_none=True)
        aliases = [pulumi.Alias(name=previous) for previous in source.previous_ids]
        resources[source.data_source_id] = AcumaticaDataSource(
            source.data_source_id,
            description=fields["description"],
            data_source_id=source.data_source_id,
            url=fields["url"],
            company=fields["company"],
            page_size=fields["page_size"],
            operation_timeout=fields["operation_timeout"],
            allow_insecure_tls=fields["allow_insecure_tls"],
            extra_connection_properties=fields["extra_connection_properties"],
            authentication=fields["authentication"],
            verification=fields["verification"],
            expose_connection_string=fields["expose_connection_string"],
            callback_base_url=environment.callback_base_url,
            vault=vault,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases))
            if aliases
            else opts,
        )
    return resources


def export_data_sources(
    environment: Environment, resources: Mapping[str, AcumaticaDataSource]
) -> None:
    """Publish each data source as a stack output named by its id (its
    :data:`~.outputs.PUBLISHED_OUTPUTS`), so other stacks read it through a
    ``StackReference``; the connection strings of those with ``expose_connection_string``
    go, as one secret, to the ``connection_strings`` output (id -> connection string)."""
    for data_source_id, resource in resources.items():
        pulumi.export(data_source_id, {name: getattr(resource, name) for name in PUBLISHED_OUTPUTS})
    exposed = {
        source.data_source_id: resources[source.data_source_id].connection_string
        for source in environment.data_sources
        if source.expose_connection_string and source.data_source_id in resources
    }
    if exposed:
        pulumi.export(CONNECTION_STRINGS_OUTPUT, pulumi.Output.secret(exposed))
