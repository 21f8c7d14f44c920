"""Issue 14.6: ``PUT`` (create or update by key) and ``DELETE`` by id or keys, in memory."""

from __future__ import annotations

import httpx
from tests.support.sandbox import Control, SandboxFactory, login, logout, reference_definitions

BASE = "/entity/Default/24.200.001"
NO_ENTITY = "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException"


def test_put_creates_then_updates_by_key(session: httpx.Client) -> None:
    body = {
        "InventoryID": {"value": "NEW-ITEM"},
        "Description": {"value": "A new widget"},
        "DefaultPrice": {"value": 12.5},
        "IsAKit": {"value": True},
        "Unknown": {"value": "ignored"},
    }
    created = session.put(f"{BASE}/StockItem", json=body)
    assert created.status_code == 200
    record = created.json()
    assert record["InventoryID"] == {"value": "NEW-ITEM"}
    assert record["DefaultPrice"] == {"value": 12.5}
    assert record["ItemClass"] == {}  # not given: null
    assert "Unknown" not in record
    everything = session.get(f"{BASE}/StockItem").json()
    assert len(everything) == 2501
    assert everything[-1]["id"] == record["id"]
    updated = session.put(
        f"{BASE}/StockItem",
        json={"InventoryID": {"value": "new-item"}, "Description": {"value": "Renamed"}},
    )
    assert updated.json()["id"] == record["id"]
    assert updated.json()["Description"] == {"value": "Renamed"}
    assert updated.json()["DefaultPrice"] == {"value": 12.5}
    again = session.get(f"{BASE}/StockItem/NEW-ITEM").json()
    assert again["Description"] == {"value": "Renamed"}
    assert len(session.get(f"{BASE}/StockItem").json()) == 2501


def test_put_updates_a_generated_record_by_id(session: httpx.Client) -> None:
    original = session.get(f"{BASE}/Customer/C000005").json()
    response = session.put(
        f"{BASE}/Customer",
        params={"$select": "CustomerID,CustomerName"},
        json={"id": original["id"], "CustomerName": {"value": "Renamed Inc."}},
    )
    assert response.status_code == 200
    assert set(response.json()) == {
        "id",
        "rowNumber",
        "note",
        "CustomerID",
        "CustomerName",
        "custom",
        "_links",
    }
    assert session.get(f"{BASE}/Customer/C000005").json()["CustomerName"] == {
        "value": "Renamed Inc."
    }
    found = session.get(f"{BASE}/Customer", params={"$filter": "CustomerName eq 'renamed inc.'"})
    assert [record["id"] for record in found.json()] == [original["id"]]
    missing = session.put(f"{BASE}/Customer", json={"id": "6f1c7a52-0000-0000-0000-000000000000"})
    assert missing.json()["exceptionType"] == NO_ENTITY


def test_insert_only_and_update_only_headers(session: httpx.Client) -> None:
    existing = {"InventoryID": {"value": "ITEM000001"}}
    assert (
        session.put(f"{BASE}/StockItem", json=existing, headers={"If-None-Match": "*"}).status_code
        == 412
    )
    new = {"InventoryID": {"value": "BRAND-NEW"}}
    assert session.put(f"{BASE}/StockItem", json=new, headers={"If-Match": "*"}).status_code == 412
    assert session.get(f"{BASE}/StockItem/BRAND-NEW").status_code == 500
    assert (
        session.put(f"{BASE}/StockItem", json=existing, headers={"If-Match": "*"}).status_code
        == 200
    )


def test_badly_typed_values_answer_422_per_field(session: httpx.Client) -> None:
    response = session.put(
        f"{BASE}/StockItem",
        json={
            "InventoryID": {"value": "TYPED"},
            "DefaultPrice": {"value": "cheap"},
            "IsAKit": {"value": "yes"},
            "LastModifiedDateTime": {"value": "yesterday"},
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert "error" in body["DefaultPrice"]
    assert "error" in body["IsAKit"]
    assert "error" in body["LastModifiedDateTime"]
    assert "error" not in body["InventoryID"]
    assert session.get(f"{BASE}/StockItem/TYPED").status_code == 500
    assert session.put(f"{BASE}/StockItem", content=b"[1]").status_code == 400


def test_delete_by_keys_and_by_id(session: httpx.Client, control: Control) -> None:
    assert session.delete(f"{BASE}/StockItem/ITEM000002").status_code == 204
    gone = session.get(f"{BASE}/StockItem/ITEM000002")
    assert gone.status_code == 500
    assert gone.json()["exceptionType"] == NO_ENTITY
    third = session.get(f"{BASE}/StockItem/ITEM000003").json()
    assert session.delete(f"{BASE}/StockItem/{third['id']}").status_code == 204
    assert session.delete(f"{BASE}/StockItem/{third['id']}").status_code == 500
    page = session.get(f"{BASE}/StockItem", params={"$top": 2}).json()
    assert [record["InventoryID"]["value"] for record in page] == ["ITEM000001", "ITEM000004"]
    assert len(session.get(f"{BASE}/StockItem").json()) == 2498
    control.reset()  # the writes last until the site is reset
    assert login(session).status_code == 204
    assert len(session.get(f"{BASE}/StockItem").json()) == 2500


def test_writes_are_per_tenant(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(
        tenants=[
            {"name": "ACME", "users": [{"name": "admin", "password": "secret1"}]},
            {"name": "Globex", "users": [{"name": "admin", "password": "secret1"}]},
        ]
    )
    with httpx.Client(base_url=site.url) as acme, httpx.Client(base_url=site.url) as globex:
        assert login(acme, tenant="ACME").status_code == 204
        assert login(globex, tenant="Globex").status_code == 204
        assert acme.delete(f"{BASE}/StockItem/ITEM000001").status_code == 204
        assert acme.get(f"{BASE}/StockItem/ITEM000001").status_code == 500
        assert globex.get(f"{BASE}/StockItem/ITEM000001").status_code == 200
        assert logout(acme).status_code == 204
        assert logout(globex).status_code == 204


def test_defined_entities_number_new_documents(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(definitions=reference_definitions())
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        order = client.put(
            f"{BASE}/SalesOrder",
            params={"$expand": "Details"},
            json={
                "OrderType": {"value": "SO"},
                "CustomerID": {"value": "C000001"},
                "Details": [{"InventoryID": {"value": "ITEM000001"}, "OrderQty": {"value": 3}}],
            },
        )
        assert order.status_code == 200
        body = order.json()
        assert body["OrderNbr"] == {"value": "SO000026"}
        assert [line["OrderQty"] for line in body["Details"]] == [{"value": 3}]
        assert client.get(f"{BASE}/SalesOrder/SO/SO000026").json()["id"] == body["id"]
        vendor = client.put(f"{BASE}/Vendor", json={"VendorName": {"value": "Supplies Co"}})
        assert vendor.json()["VendorID"] == {"value": "V000026"}
        assert client.delete(f"{BASE}/Vendor/V000026").status_code == 204
        assert len(client.get(f"{BASE}/Vendor").json()) == 25
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_actions_are_not_emulated(session: httpx.Client) -> None:
    response = session.post(f"{BASE}/StockItem/SomeAction", json={"entity": {}})
    assert response.status_code == 405
