"""Renaming a data source without an id: ``previous_ids`` keeps its recorded state (a
replacement that shows the change of id and callback URL) instead of an unrelated deletion
and creation."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import World, environment

pytestmark = pytest.mark.engine


def test_a_rename_with_previous_ids_replaces_and_shows_the_callback_url(world: World) -> None:
    document = environment(world)
    for source in document["data_sources"]:
        del source["id"]  # ids from the descriptions: erp-basic, erp-oauth
    path = world.write_environment("dev", document)
    up = world.acumatica_ds("up", "--env", str(path), "--format", "json")
    assert up.code == 0, up.output

    for source, new in zip(document["data_sources"], ("ERP Main", "ERP OAuth Prod"), strict=True):
        source["previous_ids"] = [source["description"].lower().replace(" (", "-")[:-1]]
        source["description"] = new
    world.write_environment("dev", document)
    preview = world.acumatica_ds("preview", "--env", str(path))
    assert preview.code == 0, preview.output
    assert "+- replace  erp-main" in preview.stderr, preview.output
    assert "+- replace  erp-oauth-prod" in preview.stderr
    assert (
        "callback URL https://bi.example.com/oauth/callback/erp-oauth -> "
        "https://bi.example.com/oauth/callback/erp-oauth-prod: register the new one"
    ) in preview.stderr
    assert "+ create " not in preview.stderr and "- delete " not in preview.stderr
    # --target names the new id; the engine follows the alias to the recorded data source
    targeted = world.acumatica_ds(
        "preview", "--env", str(path), "--target", "erp-main", "--format", "json"
    )
    assert targeted.code == 0, targeted.output
    planned = {s["data_source_id"]: s for s in targeted.result["data_sources"]}
    assert (planned["erp-main"]["action"], planned["erp-main"]["status"]) == ("replace", "planned")
    assert planned["erp-oauth-prod"]["status"] == "skipped"
    assert targeted.result["changes"]["update"] == 1

    applied = world.acumatica_ds("up", "--env", str(path), "--format", "json")
    assert applied.code == 1, "the new callback URL is not registered: strict fails"
    outcome = {s["data_source_id"]: s for s in applied.result["data_sources"]}
    assert outcome["erp-main"]["verification"] == "ok"
    assert outcome["erp-oauth-prod"]["status"] == "failed"
    assert any("erp-oauth-prod" in m["text"] for m in outcome["erp-oauth-prod"]["messages"])
    assert set(world.resources("dev")) == {"erp-main", "erp-oauth"}

    unlisted = world.write_environment(
        "dev",
        {
            **document,
            "data_sources": [
                {k: v for k, v in s.items() if k != "previous_ids"}
                for s in document["data_sources"]
            ],
        },
    )
    plain = world.acumatica_ds("preview", "--env", str(unlisted))
    assert "+ create   erp-oauth-prod" in plain.stderr, plain.output
    assert "- delete   erp-oauth" in plain.stderr
    assert world.secret_hits() == []
