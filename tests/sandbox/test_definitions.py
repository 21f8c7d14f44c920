"""Issue 14.2: every top-level entity of the endpoint definitions the user names is served.

The reference definitions (Default 22.200.001, 23.200.001, 24.200.001) are read at test time
from ``../shared/reference/acumatica-endpoints``; the sandbox itself ships none of them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.definitions import check_record, top_level_entities
from tests.support.sandbox import (
    Control,
    SandboxFactory,
    login,
    logout,
    reference_definitions,
    sandbox_config_data,
)

import acumatica_datasource.sandbox as sandbox_package
from acumatica_datasource.sandbox import SandboxConfig, SandboxConfigError
from acumatica_datasource.sandbox import records as records_module

VERSIONS = ("22.200.001", "23.200.001", "24.200.001")


@pytest.fixture
def definitions() -> str:
    return reference_definitions()


@pytest.fixture
def signed_in(make_sandbox: SandboxFactory, definitions: str) -> Iterator[httpx.Client]:
    site = make_sandbox(definitions=definitions)
    with httpx.Client(base_url=site.url, timeout=30.0) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        yield client
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_every_top_level_entity_is_served_with_typed_fields(
    signed_in: httpx.Client, version: str
) -> None:
    entities = top_level_entities(version)
    assert len(entities) > 100
    checked = 0
    for entity in entities:
        response = signed_in.get(f"/entity/Default/{version}/{entity}", params={"$top": 2})
        assert response.status_code == 200, (entity, response.text[:300])
        records = response.json()
        assert len(records) == 2, entity
        for record in records:
            checked += check_record(version, entity, record)
    assert checked > 3000


def test_linked_and_detail_entities_follow_the_definitions(signed_in: httpx.Client) -> None:
    response = signed_in.get(
        "/entity/Default/24.200.001/SalesOrder",
        params={"$top": 3, "$expand": "Details,BillToContact,Shipments"},
    )
    orders = response.json()
    assert [len(order["Details"]) for order in orders] == [1, 2, 3]
    for order in orders:
        assert set(order["BillToContact"]) >= {"id", "Email"}
        check_record("24.200.001", "SalesOrder", order)
    plain = signed_in.get("/entity/Default/24.200.001/SalesOrder", params={"$top": 1}).json()[0]
    assert "Details" not in plain
    assert "BillToContact" not in plain


def test_records_are_deterministic_and_the_hand_tuned_entities_stay(
    signed_in: httpx.Client, make_sandbox: SandboxFactory
) -> None:
    with_definitions = signed_in.get(
        "/entity/Default/24.200.001/StockItem", params={"$top": 3}
    ).json()
    vendors = signed_in.get("/entity/Default/24.200.001/Vendor", params={"$top": 3}).json()
    site = make_sandbox()
    with httpx.Client(base_url=site.url) as other:
        assert login(other).status_code == 204
        built_in = other.get("/entity/Default/24.200.001/StockItem", params={"$top": 3}).json()
        assert other.get("/entity/Default/24.200.001/Vendor").status_code == 404
        assert logout(other).status_code == 204
    assert with_definitions == [{**r, "_links": r["_links"]} for r in built_in]
    again = signed_in.get("/entity/Default/24.200.001/Vendor", params={"$top": 3}).json()
    assert vendors == again
    assert [v["VendorID"]["value"] for v in vendors] == ["V000001", "V000002", "V000003"]


def test_record_counts_are_configurable(make_sandbox: SandboxFactory, definitions: str) -> None:
    site = make_sandbox(
        definitions=definitions, default_records=3, tenant={"records": {"Vendor": 40}}
    )
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        assert len(client.get("/entity/Default/24.200.001/Vendor").json()) == 40
        assert len(client.get("/entity/Default/24.200.001/Bill").json()) == 3
        assert len(client.get("/entity/Default/24.200.001/StockItem").json()) == 2500
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_generation_is_lazy_and_bounded(make_sandbox: SandboxFactory, definitions: str) -> None:
    site = make_sandbox(definitions=definitions, tenant={"records": {"Vendor": 10_000}})
    records_module._GENERATED._items.clear()  # the bounded cache of generated records
    with httpx.Client(base_url=site.url, timeout=120.0) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        page = client.get(
            "/entity/Default/24.200.001/Vendor", params={"$top": 2, "$skip": 9_998}
        ).json()
        assert [v["VendorID"]["value"] for v in page] == ["V009999", "V010000"]
        assert len(records_module._GENERATED._items) == 2  # only the page was generated
        found = client.get(
            "/entity/Default/24.200.001/Vendor", params={"$filter": "VendorID eq 'V001234'"}
        )
        assert [v["VendorID"]["value"] for v in found.json()] == ["V001234"]
        assert len(records_module._GENERATED._items) <= records_module._GENERATED.size
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_a_sites_own_swagger_json_is_a_definition_file(
    tmp_path: Path, make_sandbox: SandboxFactory, definitions: str
) -> None:
    # a user downloads swagger.json from their site: the endpoint comes from info.title
    shutil.copy(Path(definitions) / "Default_24.200.001.json", tmp_path / "swagger.json")
    site = make_sandbox(definitions=str(tmp_path))
    with httpx.Client(base_url=site.url) as client:
        assert login(client).status_code == 204
        assert client.get("/entity/Default/24.200.001/Vendor", params={"$top": 1}).json()
        assert logout(client).status_code == 204


def test_bad_definitions_are_config_problems(tmp_path: Path) -> None:
    def problems(**overrides: object) -> dict[str, str]:
        with pytest.raises(SandboxConfigError) as caught:
            SandboxConfig.from_mapping(sandbox_config_data(**overrides))
        return {problem.path: problem.message for problem in caught.value.problems}

    missing = problems(definitions=str(tmp_path / "nope"))
    assert "not a directory" in missing["definitions"]
    assert "no *.json" in problems(definitions=str(tmp_path))["definitions"]
    (tmp_path / "notes.json").write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    assert (
        "cannot tell the endpoint and version" in problems(definitions=str(tmp_path))["definitions"]
    )
    (tmp_path / "notes.json").rename(tmp_path / "Default_1.0.json")
    assert "not an endpoint definition" in problems(definitions=str(tmp_path))["definitions"]
    (tmp_path / "Default_1.0.json").write_text("{", encoding="utf-8")
    assert "not JSON" in problems(definitions=str(tmp_path))["definitions"]
    unknown = problems(tenant={"records": {"SalesOrdr": 3}})
    assert "unknown entity" in unknown["tenants[0].records.SalesOrdr"]


def test_served_entity_names_need_the_definitions(definitions: str) -> None:
    config = SandboxConfig.from_mapping(
        sandbox_config_data(definitions=definitions, tenant={"records": {"SalesOrder": 3}})
    )
    assert config.tenants[0].records["SalesOrder"] == 3
    with pytest.raises(SandboxConfigError, match="did you mean 'SalesOrder'"):
        SandboxConfig.from_mapping(
            sandbox_config_data(definitions=definitions, tenant={"records": {"SalesOrdr": 3}})
        )


def test_the_sandbox_ships_no_definition_data() -> None:
    package = Path(sandbox_package.__file__).parent
    files = [path for path in package.rglob("*") if path.is_file()]
    assert files
    assert {path.suffix for path in files} <= {".py", ".pyc"}
    assert max(path.stat().st_size for path in files if path.suffix == ".py") < 64 * 1024
