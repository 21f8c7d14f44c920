"""Issue 14.4: ``$filter`` as Acumatica's Integration Development Guide documents it.

Each filter's answer is compared with the same condition computed here over the unfiltered
records, so the test checks the meaning, not only that the syntax is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.support.sandbox import Control, SandboxFactory, login, logout

BASE = "/entity/Default/24.200.001"
Record = dict[str, Any]


@pytest.fixture
def session(make_sandbox: SandboxFactory) -> Iterator[httpx.Client]:
    site = make_sandbox(
        custom_fields={"StockItem": {"ItemSettings.UsrRepairItemType": "string"}},
        tenant={"records": {"StockItem": 300, "Customer": 60}},
    )
    with httpx.Client(base_url=site.url, timeout=30.0) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        yield client
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def _value(record: Record, field: str) -> Any:
    return record[field]["value"]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _ids(records: list[Record]) -> list[str]:
    return [record["id"] for record in records]


def _check(
    client: httpx.Client, entity: str, expression: str, expected: Callable[[Record], bool]
) -> list[Record]:
    everything = client.get(f"{BASE}/{entity}").json()
    response = client.get(f"{BASE}/{entity}", params={"$filter": expression})
    assert response.status_code == 200, (expression, response.text)
    found = response.json()
    wanted = [record for record in everything if expected(record)]
    assert _ids(found) == _ids(wanted), expression
    return found


def test_comparison_operators_on_each_type(session: httpx.Client) -> None:
    price = lambda r: _value(r, "DefaultPrice")  # noqa: E731
    assert _check(session, "StockItem", "DefaultPrice gt 300", lambda r: price(r) > 300)
    assert _check(session, "StockItem", "DefaultPrice ge 300.5m", lambda r: price(r) >= 300.5)
    assert _check(session, "StockItem", "DefaultPrice lt 20.0d", lambda r: price(r) < 20)
    _check(session, "StockItem", "DefaultPrice le 0", lambda r: price(r) <= 0)
    assert _check(
        session,
        "StockItem",
        "InventoryID ge 'item000290'",
        lambda r: r["InventoryID"]["value"] >= "ITEM000290",
    )
    assert _check(session, "StockItem", "IsAKit eq true", lambda r: _value(r, "IsAKit"))
    assert _check(session, "StockItem", "IsAKit ne true", lambda r: not _value(r, "IsAKit"))
    assert _check(
        session, "Customer", "BAccountID lt 1010", lambda r: _value(r, "BAccountID") < 1010
    )
    assert _check(
        session,
        "Customer",
        "CustomerID ne 'C000001'",
        lambda r: _value(r, "CustomerID") != "C000001",
    )


def test_dates_as_datetimeoffset_literals_plain_and_url_encoded(session: httpx.Client) -> None:
    since = datetime(2023, 6, 1, 12, 30, tzinfo=UTC)

    def after(record: Record) -> bool:
        return _when(_value(record, "LastModifiedDateTime")) > since

    plain = "LastModifiedDateTime gt datetimeoffset'2023-06-01T14:30:00.000+02:00'"
    found = _check(session, "StockItem", plain, after)
    assert 0 < len(found) < 300
    # the guide's example encodes the literal's text itself (%3A, %2B) inside the query value
    encoded = f"LastModifiedDateTime gt datetimeoffset'{quote('2023-06-01T14:30:00.000+02:00')}'"
    assert "%3A" in encoded
    assert _ids(_check(session, "StockItem", encoded, after)) == _ids(found)
    # OData v3 datetime'...' without an offset is UTC
    v3 = "LastModifiedDateTime gt datetime'2023-06-01T12:30:00'"
    assert _ids(_check(session, "StockItem", v3, after)) == _ids(found)
    before = "LastModifiedDateTime le datetimeoffset'2023-06-01T12:30:00Z'"
    _check(session, "StockItem", before, lambda r: not after(r))


def test_guid_and_null_literals(session: httpx.Client) -> None:
    record = session.get(f"{BASE}/StockItem", params={"$top": 1, "$skip": 9}).json()[0]
    note_id = _value(record, "NoteID")
    found = _check(
        session,
        "StockItem",
        f"NoteID eq guid'{note_id.upper()}'",
        lambda r: _value(r, "NoteID") == note_id,
    )
    assert len(found) == 1
    _check(session, "Customer", "PriceClassID eq null", lambda r: not _value(r, "PriceClassID"))
    _check(session, "Customer", "PriceClassID ne null", lambda r: bool(_value(r, "PriceClassID")))


def test_and_or_not_and_parentheses(session: httpx.Client) -> None:
    def status(record: Record) -> str:
        return str(_value(record, "ItemStatus"))

    def kit(record: Record) -> bool:
        return bool(_value(record, "IsAKit"))

    expression = "(ItemStatus eq 'Inactive' or IsAKit eq true) and not (DefaultPrice lt 100)"
    _check(
        session,
        "StockItem",
        expression,
        lambda r: (status(r) == "Inactive" or kit(r)) and not _value(r, "DefaultPrice") < 100,
    )
    _check(
        session,
        "StockItem",
        "ItemStatus eq 'Inactive' or IsAKit eq true and DefaultPrice lt 100",
        lambda r: status(r) == "Inactive" or (kit(r) and _value(r, "DefaultPrice") < 100),
    )


def test_string_functions(session: httpx.Client) -> None:
    def description(record: Record) -> str:
        return str(_value(record, "Description")).casefold()

    _check(
        session,
        "StockItem",
        "substringof('valve', Description)",
        lambda r: "valve" in description(r),
    )
    _check(
        session,
        "StockItem",
        "startswith(Description, 'oak')",
        lambda r: description(r).startswith("oak"),
    )
    _check(
        session,
        "StockItem",
        "endswith(InventoryID, '7')",
        lambda r: _value(r, "InventoryID").endswith("7"),
    )
    _check(
        session,
        "StockItem",
        "substringof('Panel', Description) eq false and IsAKit",
        lambda r: "panel" not in description(r) and _value(r, "IsAKit"),
    )


def test_linked_entity_paths(session: httpx.Client) -> None:
    customers = session.get(f"{BASE}/Customer", params={"$expand": "MainContact"}).json()
    email = customers[4]["MainContact"]["Email"]["value"]
    found = session.get(f"{BASE}/Customer", params={"$filter": f"MainContact/Email eq '{email}'"})
    assert _ids(found.json()) == [customers[4]["id"]]
    assert "MainContact" not in found.json()[0]


def test_custom_fields(session: httpx.Client) -> None:
    everything = session.get(
        f"{BASE}/StockItem", params={"$custom": "ItemSettings.UsrRepairItemType"}
    ).json()
    custom = everything[3]["custom"]["ItemSettings"]["UsrRepairItemType"]
    assert custom["type"] == "CustomStringField"
    wanted = [
        r["id"] for r in everything if r["custom"]["ItemSettings"]["UsrRepairItemType"] == custom
    ]
    found = session.get(
        f"{BASE}/StockItem",
        params={"$filter": f"cf.String(f='ItemSettings.UsrRepairItemType') eq '{custom['value']}'"},
    )
    assert _ids(found.json()) == wanted
    schema = session.get(f"{BASE}/StockItem/$adHocSchema").json()
    assert schema["custom"]["ItemSettings"]["UsrRepairItemType"]["type"] == "CustomStringField"


@pytest.mark.parametrize(
    ("expression", "exception_type"),
    [
        ("cf.String(f='ItemSettings.UsrNope') eq 'x'", "PX.Data.PXException"),
        ("tolower(InventoryID) eq 'item000001'", "Microsoft.OData.ODataException"),
        ("contains(Description, 'Oak')", "Microsoft.OData.ODataException"),
        ("DefaultPrice add 1 gt 5", "Microsoft.OData.ODataException"),
        ("InventoryID eq 'A' and", "Microsoft.OData.ODataException"),
        ("(InventoryID eq 'A'", "Microsoft.OData.ODataException"),
        ("InventoryID eq A", "Microsoft.OData.ODataException"),
        ("InventoryID == 'A'", "Microsoft.OData.ODataException"),
        ("Nope eq 'A'", "Microsoft.OData.ODataException"),
        ("DefaultPrice eq 'cheap'", "Microsoft.OData.ODataException"),
        ("LastModifiedDateTime gt datetimeoffset'yesterday'", "Microsoft.OData.ODataException"),
        ("NoteID eq guid'not-a-guid'", "Microsoft.OData.ODataException"),
    ],
)
def test_unsupported_or_wrong_syntax_answers_like_acumatica(
    session: httpx.Client, expression: str, exception_type: str
) -> None:
    response = session.get(f"{BASE}/StockItem", params={"$filter": expression})
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"message", "exceptionMessage", "exceptionType", "stackTrace"}
    assert body["exceptionType"] == exception_type
    assert "sandbox" not in response.text.casefold()
