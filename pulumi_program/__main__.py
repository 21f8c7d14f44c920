"""The root project's program (Pulumi.yaml): the data sources of the environment file
named in stack config, for users who run `pulumi up` themselves.

    pulumi config set acumatica:environmentFile examples/basic.yaml
"""

import pulumi

from acumatica_datasource.resource import declare, export_data_sources, read_environment

config = pulumi.Config("acumatica")
environment = read_environment(config.require("environmentFile"))
resources = declare(environment)
export_data_sources(environment, resources)  # one stack output per data source, by id
pulumi.export(
    "data_sources",
    {
        data_source_id: {
            "description": resource.description,
            "verification": resource.verification["status"],
            "callback_url": resource.callback_url,
        }
        for data_source_id, resource in resources.items()
    },
)
