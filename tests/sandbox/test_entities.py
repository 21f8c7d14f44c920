"""Entity list reads: paging, $select, $expand, $custom, and the 401/403/404/500 answers.

``$filter`` has its own tests (test_filter.py), as do single records, writes and swagger.json.
"""

from __future__ import annotations

import httpx
import pytest
from tests.support.sandbox import Control, SandboxFactory, login, logout

BASE = "/entity/Default"


def test_unauthenticated_read_is_401(client: httpx.Client) -> None:
    response = client.get(f"{BASE}/24.200.001/StockItem")
    assert response.status_code == 401
    assert "message" in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/entity/Default/21.200.001/StockItem",
        "/entity/Nope/24.200.001/StockItem",
        "/entity/Default/24.200.001/NoSuchEntity",
        "/entity/Default/24.200.001/StockItem/extra/segments",
    ],
)
def test_unknown_endpoint_version_or_entity_is_404(session: httpx.Client, path: str) -> None:
    assert session.get(path).status_code == 404


def test_records_are_deterministic(session: httpx.Client, make_sandbox: SandboxFactory) -> None:
    first = session.get(f"{BASE}/24.200.001/Customer", params={"$top": 5}).json()
    other = make_sandbox()
    with httpx.Client(base_url=other.url) as client, Control(other.url) as control:
        assert login(client).status_code == 204
        second = client.get(f"{BASE}/24.200.001/Customer", params={"$top": 5}).json()
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0
    assert first == second
    ids_22 = [
        r["id"] for r in session.get(f"{BASE}/22.200.001/Customer", params={"$top": 5}).json()
    ]
    assert ids_22 == [r["id"] for r in first]


def test_record_shape(session: httpx.Client) -> None:
    record = session.get(f"{BASE}/24.200.001/StockItem", params={"$top": 1}).json()[0]
    assert list(record)[:3] == ["id", "rowNumber", "note"]
    assert record["rowNumber"] == 1
    assert record["custom"] == {}
    assert record["_links"]["self"].endswith(record["id"])
    assert record["InventoryID"] == {"value": "ITEM000001"}
    assert isinstance(record["DefaultPrice"]["value"], float)
    assert isinstance(record["IsAKit"]["value"], bool)


def test_units_of_measure_change_shape_between_versions(session: httpx.Client) -> None:
    v24 = session.get(f"{BASE}/24.200.001/UnitsOfMeasure", params={"$top": 1}).json()[0]
    v23 = session.get(f"{BASE}/23.200.001/UnitsOfMeasure", params={"$top": 1}).json()[0]
    v20 = session.get(f"{BASE}/20.200.001/UnitsOfMeasure", params={"$top": 1}).json()[0]
    v25 = session.get(f"{BASE}/25.200.001/UnitsOfMeasure", params={"$top": 1}).json()[0]
    assert {"UnitID", "Description"} <= set(v24)
    assert "FromUOM" not in v24
    assert {"FromUOM", "ToUOM", "ConversionFactor", "MultiplyOrDivide"} <= set(v23)
    assert "UnitID" not in v23
    assert set(v20) == set(v23)
    assert set(v25) == set(v24)


def test_paging_with_top_and_skip(session: httpx.Client) -> None:
    url = f"{BASE}/24.200.001/UnitsOfMeasure"
    everything = session.get(url).json()
    assert len(everything) == 25
    pages = [session.get(url, params={"$top": 10, "$skip": skip}).json() for skip in (0, 10, 20)]
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [r["id"] for page in pages for r in page] == [r["id"] for r in everything]
    assert pages[1][0]["rowNumber"] == 1
    assert session.get(url, params={"$top": 10, "$skip": 25}).json() == []
    assert session.get(url, params={"$skip": 1000}).json() == []
    large = session.get(f"{BASE}/24.200.001/StockItem", params={"$top": 3, "$skip": 2497}).json()
    assert [r["InventoryID"]["value"] for r in large] == ["ITEM002498", "ITEM002499", "ITEM002500"]


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_malformed_top_is_400(session: httpx.Client, value: str) -> None:
    response = session.get(f"{BASE}/24.200.001/StockItem", params={"$top": value})
    assert response.status_code == 400
    assert "$top" in response.json()["message"]


def test_select_keeps_the_system_fields(session: httpx.Client) -> None:
    record = session.get(
        f"{BASE}/24.200.001/StockItem",
        params={"$top": 1, "$select": "InventoryID, Description"},
    ).json()[0]
    assert set(record) == {
        "id",
        "rowNumber",
        "note",
        "custom",
        "_links",
        "InventoryID",
        "Description",
    }


def test_select_unknown_field_fails(session: httpx.Client) -> None:
    response = session.get(f"{BASE}/24.200.001/StockItem", params={"$select": "Nope"})
    assert response.status_code == 500
    body = response.json()
    assert "Nope" in body["exceptionMessage"]
    assert body["exceptionType"] == "Microsoft.OData.ODataException"


def test_filter_eq_and(session: httpx.Client) -> None:
    ea = session.get(f"{BASE}/24.200.001/UnitsOfMeasure", params={"$filter": "UnitID eq 'EA'"})
    assert ea.status_code == 200
    assert [r["UnitID"]["value"] for r in ea.json()] == ["EA"]
    box = session.get(
        f"{BASE}/22.200.001/UnitsOfMeasure",
        params={"$filter": "FromUOM eq 'BOX' and ToUOM eq 'EA'"},
    ).json()
    assert [(r["FromUOM"]["value"], r["ToUOM"]["value"]) for r in box] == [("BOX", "EA")]
    none = session.get(
        f"{BASE}/22.200.001/UnitsOfMeasure",
        params={"$filter": "FromUOM eq 'BOX' and ToUOM eq 'KG'"},
    ).json()
    assert none == []
    customer = session.get(
        f"{BASE}/24.200.001/Customer", params={"$filter": "CustomerID eq 'C000042'"}
    ).json()
    assert [r["CustomerID"]["value"] for r in customer] == ["C000042"]
    quoted = session.get(
        f"{BASE}/24.200.001/Customer", params={"$filter": "CustomerName eq 'O''Brien'"}
    )
    assert quoted.json() == []


def test_filter_then_paging(session: httpx.Client) -> None:
    url = f"{BASE}/24.200.001/StockItem"
    active = session.get(url, params={"$filter": "ItemStatus eq 'Active'"}).json()
    assert len(active) == 2250
    page = session.get(url, params={"$filter": "ItemStatus eq 'Active'", "$top": 5, "$skip": 5})
    assert [r["id"] for r in page.json()] == [r["id"] for r in active[5:10]]


def test_expand_and_custom_name_real_members(session: httpx.Client) -> None:
    expanded = session.get(
        f"{BASE}/24.200.001/Customer", params={"$top": 1, "$expand": "MainContact"}
    )
    assert expanded.status_code == 200
    assert set(expanded.json()[0]["MainContact"]) >= {"id", "Email", "DisplayName"}
    unknown = session.get(f"{BASE}/24.200.001/Customer", params={"$expand": "Nope"})
    assert unknown.status_code == 500
    assert unknown.json()["exceptionType"] == "Microsoft.OData.ODataException"
    custom = session.get(f"{BASE}/24.200.001/Customer", params={"$custom": "Document.UsrField"})
    assert custom.status_code == 500
    assert "Document.UsrField" in custom.json()["exceptionMessage"]


def test_denied_entity_is_403(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(
        tenant={
            "users": [{"name": "admin", "password": "secret1", "denied_entities": ["StockItem"]}]
        }
    )
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        assert client.get(f"{BASE}/24.200.001/StockItem").status_code == 403
        assert client.get(f"{BASE}/24.200.001/Customer", params={"$top": 1}).status_code == 200
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_setup_not_complete_is_500_setup_not_entered(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(tenant={"setup_complete": False})
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        response = client.get(f"{BASE}/24.200.001/FinancialYear")
        assert response.status_code == 500
        assert response.json()["exceptionType"] == "PX.Data.PXSetupNotEnteredException"
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_zero_records_and_custom_counts(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(tenant={"records": {"StockItem": 0, "Customer": 3}})
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        assert client.get(f"{BASE}/24.200.001/StockItem").json() == []
        assert len(client.get(f"{BASE}/24.200.001/Customer").json()) == 3
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_paths_are_case_insensitive(session: httpx.Client) -> None:
    response = session.get("/entity/default/24.200.001/stockitem", params={"$top": 1})
    assert response.status_code == 200
