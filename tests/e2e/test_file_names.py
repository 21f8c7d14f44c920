"""A stage file copied from another stage and not fully edited (``prod.yaml`` still saying
``environment: dev``, issue 15): ``preview``/``up``/``refresh``/``destroy`` warn, ``promote``
refuses it (a usage error, exit 2) before anything is applied."""

from __future__ import annotations

from pathlib import Path

import yaml
from tests.e2e.conftest import World, environment

WHY = "prod.yaml is named for stage 'prod' but says environment: dev (copied from another stage?)"


def copied_to_prod(world: World) -> tuple[Path, Path]:
    document = environment(world)
    document["data_sources"] = document["data_sources"][:1]
    text = yaml.safe_dump(document, sort_keys=False)
    dev, prod = world.root / "dev.yaml", world.root / "prod.yaml"
    dev.write_text(text)
    prod.write_text(text)  # still says environment: dev
    return dev, prod


def test_promote_refuses_a_file_whose_name_and_environment_disagree(world: World) -> None:
    dev, prod = copied_to_prod(world)
    for format_ in ("text", "json"):
        refused = world.acumatica_ds("promote", str(dev), str(prod), "--format", format_)
        assert refused.code == 2, refused.output
        assert f"{prod}:1: environment: {WHY}" in refused.stderr, refused.stderr
        assert "correct environment or rename the file" in refused.stderr
        assert "Nothing was applied" in refused.stderr
    error = refused.result["error"]
    assert error["kind"] == "usage"
    assert error["problems"] == [
        {
            "file": str(prod),
            "line": 1,
            "path": "environment",
            "message": WHY + ": correct environment or rename the file",
            "rule": "invalid-value",
        }
    ]
    assert not (world.state_dir / ".workspaces").exists()  # no stack was touched


def test_up_warns_about_it(world: World) -> None:
    _, prod = copied_to_prod(world)
    up = world.acumatica_ds("up", "--env", str(prod), "--format", "json")
    assert up.code == 0, up.output
    assert up.result["stack"] == "dev"
    assert f"warning: {prod}:1: environment: {WHY}" in up.stderr
    assert {
        "severity": "warning",
        "text": f"{prod}:1: environment: {WHY}: correct environment or rename the file",
    } in up.result["messages"]
