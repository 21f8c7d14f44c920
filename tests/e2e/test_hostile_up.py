"""Pathological JSON through the real engine (issue 12, point 11): during ``up`` a data source
whose site answers a page of 200,000 nested ``[`` fails on its own with a clear message; the
provider prints no traceback, the other data sources are created and every session is closed.
"""

from __future__ import annotations

import copy

import pytest
from tests.e2e.conftest import World, environment
from tests.support.hostile import PAGE_PATH, fixed, running_hostile_site

pytestmark = pytest.mark.engine


def test_up_survives_a_pathological_page(world: World) -> None:
    with running_hostile_site() as hostile:
        hostile.answer("GET", PAGE_PATH, fixed(b"[" * 200_000))
        document = environment(world)
        nested = copy.deepcopy(document["data_sources"][0])
        nested.update(description="Nested", id="nested", url=hostile.url)
        document["data_sources"].append(nested)
        path = world.write_environment("dev", document)

        up = world.acumatica_ds("up", "--env", str(path), "--format", "json")

        assert up.code == 1, up.output
        for text in ("Traceback", "internal error", "RecursionError"):
            assert text not in up.output, up.output
        sources = {s["data_source_id"]: s for s in up.result["data_sources"]}
        assert sources["nested"]["status"] == "failed", sources["nested"]
        reasons = " ".join(m["text"] for m in sources["nested"]["messages"])
        assert "nested too deeply" in reasons and "UnitsOfMeasure" in reasons, reasons
        for other in ("erp-basic", "erp-oauth"):
            assert sources[other]["status"] == "created", sources[other]
            assert sources[other]["verification"] == "ok", sources[other]
        assert set(world.resources("dev")) == {"erp-basic", "erp-oauth"}
        assert hostile.open_sessions == 0, "the failed verification left a session open"
    assert world.secret_hits() == []
