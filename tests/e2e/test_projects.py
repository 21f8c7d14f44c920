"""Projects that share one backend (issue 15): the Pulumi project of a stack comes from the
environment file's ``project`` (or ``--project``), stacks stay named after the environment, so
two BI servers each with a ``dev`` stack deploy to one backend without colliding."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from tests.e2e.conftest import World, environment

from acumatica_datasource.spec import DEFAULT_PROJECT


def basic_only(world: World, **changes: Any) -> dict[str, Any]:
    """The world's environment with its Basic data source only (one engine step each)."""
    document = environment(world, **changes)
    document["data_sources"] = document["data_sources"][:1]
    return document


def write(path: Path, document: dict[str, Any]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def test_two_projects_share_a_backend_with_a_dev_stack_each(world: World) -> None:
    eu_document = basic_only(world, project="bi-eu")
    eu_document["defaults"]["expose_connection_string"] = True  # a secret in the state
    eu = write(world.root / "eu" / "dev.yaml", eu_document)
    us_document = basic_only(world)
    us_document["defaults"]["page_size"] = 20
    us = write(world.root / "us" / "dev.yaml", us_document)

    first = world.acumatica_ds("up", "--env", eu, "--format", "json")
    assert first.code == 0, first.output
    assert (first.result["project"], first.result["stack"]) == ("bi-eu", "dev")
    assert "up bi-eu/dev: 1 data source(s)" in first.stderr
    second = world.acumatica_ds("up", "--env", us, "--project", "bi-us", "--format", "json")
    assert second.code == 0, second.output
    assert (second.result["project"], second.result["stack"]) == ("bi-us", "dev")
    assert second.result["changes"]["create"] == 1  # not an update of bi-eu's data source

    # one backend (the state directory), two stacks called dev, each with its own record
    assert world.resources("dev", "bi-eu")["erp-basic"]["outputs"]["page_size"] == 10
    assert world.resources("dev", "bi-us")["erp-basic"]["outputs"]["page_size"] == 20
    stacks = sorted(p.name for p in (world.state_dir / ".pulumi" / "stacks").rglob("*.json"))
    assert stacks == ["dev.json", "dev.json"], stacks

    gone = world.acumatica_ds(
        "destroy", "--env", us, "--project", "bi-us", "--yes", "--format", "json"
    )
    assert gone.code == 0, gone.output
    assert gone.result["changes"]["delete"] == 1
    assert world.resources("dev", "bi-us") == {}
    assert world.resources("dev", "bi-eu")["erp-basic"]["outputs"]["page_size"] == 10
    assert world.secret_hits() == []

    # the local workspaces hold no state: a fresh runner (or an upgrade that moved them to
    # .workspaces/PROJECT/STACK) reads the stack, its encrypted secret included
    shutil.rmtree(world.state_dir / ".workspaces")
    again = world.acumatica_ds("preview", "--env", eu, "--format", "json")
    assert again.code == 0, again.output
    assert again.result["changes"]["same"] == 1, again.result


def test_a_bad_project_name_is_a_usage_error(world: World) -> None:
    path = write(world.root / "dev.yaml", basic_only(world))
    bad = world.acumatica_ds("preview", "--env", path, "--project", "bi eu", "--format", "json")
    assert bad.code == 2, bad.output
    assert "--project" in bad.stderr and "'bi eu'" in bad.stderr, bad.stderr
    assert "letters, digits, dashes, underscores or periods" in bad.stderr
    assert bad.result["error"]["kind"] == "usage"
    assert not (world.state_dir / ".workspaces").exists()  # nothing was started


def test_the_default_project_is_the_historic_one(world: World) -> None:
    path = write(world.root / "dev.yaml", basic_only(world))
    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert (preview.result["project"], preview.result["stack"]) == (DEFAULT_PROJECT, "dev")
    assert preview.result["changes"]["create"] == 1
    assert "preview dev: 1 data source(s)" in preview.stderr
