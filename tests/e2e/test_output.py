"""``acumatica-ds output`` and the stack outputs (issue 15): what the stack records for each
data source, the secret connection string only with ``--show-secrets``; each data source is
also a stack output named by its id, which plain ``pulumi stack output`` and a
``StackReference`` in a stack of another project read."""

from __future__ import annotations

import json
import subprocess

import pulumi
from pulumi import automation as auto
from tests.e2e.conftest import SECRETS, World, environment


def test_output_and_the_stack_outputs(world: World) -> None:
    document = environment(world)
    document["data_sources"][0]["expose_connection_string"] = True
    document["data_sources"].append(
        {**document["data_sources"][0], "description": "Later", "id": "later"}
    )
    path = str(world.write_environment("dev", document))
    missing = world.acumatica_ds("output", "--env", path, "--format", "json")
    assert missing.code == 1, missing.output
    assert "stack dev (project acumatica-datasources) does not exist" in missing.stderr
    assert "Run up first" in missing.stderr
    assert missing.result["error"]["kind"] == "engine"

    deployed = dict(document, data_sources=document["data_sources"][:2])
    up = world.acumatica_ds("up", "--env", str(world.write_environment("deployed", deployed)))
    assert up.code == 0, up.output
    # (deployed.yaml names no stage: its environment dev is the stack the file dev.yaml reads)

    shown = world.acumatica_ds("output", "--env", path, "--format", "json")
    assert shown.code == 0, shown.output
    assert (shown.result["command"], shown.result["stack"]) == ("output", "dev")
    basic, oauth, later = shown.result["data_sources"]
    assert basic["connection_string"] == "[secret]"
    assert basic["connection_string_template"] == (
        f"URL={world.sandbox.url};Company=ACME;AuthScheme=Basic;User=nectari;"
        "Password={{vault:secret/acumatica/e2e#password}};Pagesize=10;Timeout=60;"
    )
    assert basic["verification"]["status"] == "ok"
    assert basic["secret_versions"] == {"vault:secret/acumatica/e2e#password": 1}
    assert oauth["callback_url"] == "https://bi.example.com/oauth/callback/erp-oauth"
    assert oauth["connection_string"] is None  # not exposed
    assert (later["recorded"], later["in_file"], later["verification"]) == (False, True, None)
    assert shown.result["messages"] == [
        {"severity": "info", "text": "later: not recorded in stack dev (not deployed: run up)"}
    ]
    text = world.acumatica_ds("output", "--env", path)
    assert text.code == 0, text.output
    assert "output dev: 2 data source(s) recorded" in text.stdout
    assert "callback URL: https://bi.example.com/oauth/callback/erp-oauth" in text.stdout
    assert "connection string: [secret] (--show-secrets prints it)" in text.stdout
    assert world.secret_hits() == []

    revealed = world.acumatica_ds("output", "--env", path, "--show-secrets", "--format", "json")
    world.runs.remove(revealed)  # it prints a secret, as asked
    assert revealed.code == 0, revealed.output
    assert (
        f"Password={SECRETS['password']}" in revealed.result["data_sources"][0]["connection_string"]
    )

    # the stack outputs, read by plain pulumi as another stack's StackReference would
    listed = subprocess.run(
        [
            str(world.cli.pulumi),
            "stack",
            "output",
            "--json",
            "--stack",
            "organization/acumatica-datasources/dev",
        ],
        cwd=world.workspace("dev"),
        env=world.pulumi_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    outputs = json.loads(listed.stdout)
    assert outputs["erp-oauth"] == {
        name: oauth[name]
        for name in (
            "data_source_id",
            "description",
            "callback_url",
            "connection_string_template",
            "verification",
            "secret_versions",
        )
    }
    assert outputs["erp-basic"]["verification"]["status"] == "ok"
    assert outputs["connection_strings"] == "[secret]"
    assert SECRETS["password"] not in listed.stdout

    # a stack of another project reads them through a StackReference
    def consumer() -> None:
        reference = pulumi.StackReference("organization/acumatica-datasources/dev")
        oauth_output = reference.get_output("erp-oauth")
        pulumi.export("callback", oauth_output.apply(lambda o: o["callback_url"]))
        pulumi.export("status", oauth_output.apply(lambda o: o["verification"]["status"]))

    env = world.pulumi_env()
    options = auto.LocalWorkspaceOptions(
        work_dir=str(world.root / "consumer"),
        pulumi_home=env["PULUMI_HOME"],
        env_vars=env,
        project_settings=auto.ProjectSettings(name="consumer", runtime="python"),
        pulumi_command=world.cli.command(),
    )
    (world.root / "consumer").mkdir()
    stack = auto.create_or_select_stack(
        stack_name="dev", project_name="consumer", program=consumer, opts=options
    )
    consumed = stack.up(color="never").outputs
    assert consumed["callback"].value == "https://bi.example.com/oauth/callback/erp-oauth"
    assert consumed["status"].value == "ok"
