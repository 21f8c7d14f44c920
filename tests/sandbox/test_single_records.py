"""Issue 14.3: single records by id and by key values, and the answer for a missing one."""

from __future__ import annotations

import httpx
import pytest
from tests.support.sandbox import (
    Control,
    SandboxFactory,
    login,
    logout,
    reference_definitions,
)

from acumatica_datasource.sandbox import Sandbox

BASE = "/entity/Default/24.200.001"
NO_ENTITY = "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException"


def _without_row_number(record: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in record.items() if key != "rowNumber"}


def test_get_by_id_and_links_self_resolve(session: httpx.Client, site: Sandbox) -> None:
    listed = session.get(f"{BASE}/StockItem", params={"$top": 3, "$skip": 40}).json()
    for record in listed:
        by_id = session.get(f"{BASE}/StockItem/{record['id']}")
        assert by_id.status_code == 200
        assert _without_row_number(by_id.json()) == _without_row_number(record)
        assert by_id.json()["rowNumber"] == 1
        self_link = record["_links"]["self"]
        assert self_link == f"{BASE}/StockItem/{record['id']}"
        assert session.get(site.url + self_link).json() == by_id.json()


def test_get_by_keys(session: httpx.Client) -> None:
    item = session.get(f"{BASE}/StockItem/ITEM000042").json()
    assert item["InventoryID"] == {"value": "ITEM000042"}
    assert session.get(f"{BASE}/StockItem/item000042").json()["id"] == item["id"]
    unit = session.get("/entity/Default/22.200.001/UnitsOfMeasure/BOX/EA").json()
    assert (unit["FromUOM"]["value"], unit["ToUOM"]["value"]) == ("BOX", "EA")
    customer = session.get(f"{BASE}/Customer/C000007").json()
    assert customer["CustomerID"] == {"value": "C000007"}


def test_select_and_expand_on_a_single_record(session: httpx.Client) -> None:
    record = session.get(
        f"{BASE}/Customer/C000003",
        params={"$select": "CustomerID,MainContact/Email", "$expand": "MainContact"},
    ).json()
    assert set(record) == {
        "id",
        "rowNumber",
        "note",
        "CustomerID",
        "MainContact",
        "custom",
        "_links",
    }
    assert set(record["MainContact"]) == {"id", "rowNumber", "note", "Email", "custom"}
    assert record["MainContact"]["Email"]["value"].startswith("ap3@")


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/StockItem/NOSUCHITEM",
        f"{BASE}/StockItem/00000000-0000-0000-0000-000000000000",
        "/entity/Default/22.200.001/UnitsOfMeasure/BOX/KG",
    ],
)
def test_a_missing_record_is_no_entity_satisfies_the_condition(
    session: httpx.Client, path: str
) -> None:
    response = session.get(path)
    assert response.status_code == 500
    body = response.json()
    assert body["exceptionType"] == NO_ENTITY
    assert body["exceptionMessage"] == "No entity satisfies the condition."
    assert session.delete(path).status_code == 500


def test_key_count_must_match_the_entity(session: httpx.Client) -> None:
    assert session.get(f"{BASE}/StockItem/ITEM000001/extra").status_code == 404
    assert session.get("/entity/Default/22.200.001/UnitsOfMeasure/BOX").status_code == 404


def test_single_records_need_a_session(client: httpx.Client) -> None:
    assert client.get(f"{BASE}/StockItem/ITEM000001").status_code == 401


def test_composite_keys_of_defined_entities(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(definitions=reference_definitions())
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        order = client.get(f"{BASE}/SalesOrder/SO/SO000003", params={"$expand": "Details"})
        assert order.status_code == 200
        body = order.json()
        assert (body["OrderType"]["value"], body["OrderNbr"]["value"]) == ("SO", "SO000003")
        assert len(body["Details"]) == 3
        by_id = client.get(f"{BASE}/SalesOrder/{body['id']}", params={"$expand": "Details"})
        assert by_id.json() == body
        assert client.get(f"{BASE}/SalesOrder/SO/SO999999").json()["exceptionType"] == NO_ENTITY
        assert client.get(f"{BASE}/SalesOrder/SO000003").status_code == 404
        bill = client.get(f"{BASE}/Bill/Bill/B000002").json()
        assert bill["ReferenceNbr"] == {"value": "B000002"}
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0
