"""What a preview could not check reaches its JSON (issue 15): with Vault down, the rotation
check of each data source is skipped with a warning, in the data source's ``messages``, and
the run's ``messages`` say which data sources a rotation may have been missed for."""

from __future__ import annotations

from tests.e2e.conftest import World, environment


def test_a_rotation_that_could_not_be_checked_is_a_warning_in_the_json(world: World) -> None:
    document = environment(world)
    document["data_sources"] = document["data_sources"][:1]
    path = str(world.write_environment("dev", document))
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 0, up.output

    world.vault.stop()
    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert preview.result["status"] == "succeeded"
    (source,) = preview.result["data_sources"]
    assert source["status"] == "unchanged"
    warnings = [m["text"] for m in source["messages"] if m["severity"] == "warning"]
    assert len(warnings) == 1, source["messages"]
    assert "could not check whether a secret was rotated" in warnings[0]
    assert "vault:secret/acumatica/e2e#password" in warnings[0]
    (summary,) = preview.result["messages"]
    assert summary["severity"] == "warning"
    assert summary["text"].startswith(
        "could not check whether a secret was rotated for 1 data source(s) (erp-basic)"
    )
    text = world.acumatica_ds("preview", "--env", path)
    assert text.code == 0, text.output
    assert "warning: could not check whether a secret was rotated for 1" in text.stdout
