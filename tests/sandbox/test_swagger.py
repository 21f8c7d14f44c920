"""Issue 14.1: ``GET /entity/{Endpoint}/{Version}/swagger.json``, a valid OpenAPI 3.0 document
in Acumatica's shape, generated from the entities the sandbox serves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from tests.support.definitions import top_level_entities
from tests.support.sandbox import Control, SandboxFactory, login, logout, reference_definitions

from acumatica_datasource.sandbox import Sandbox

WRAPPERS = (
    "StringValue",
    "DecimalValue",
    "DoubleValue",
    "IntValue",
    "ShortValue",
    "LongValue",
    "ByteValue",
    "BooleanValue",
    "DateTimeValue",
    "GuidValue",
)


def _swagger(site: Sandbox, version: str = "24.200.001") -> dict[str, Any]:
    response = httpx.get(f"{site.url}/entity/Default/{version}/swagger.json", timeout=60.0)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def test_built_in_document_is_valid_openapi_in_acumaticas_shape(site: Sandbox) -> None:
    document = _swagger(site)
    validate(document)  # raises on an invalid document
    assert document["openapi"].startswith("3.0")
    assert document["info"]["title"] == "Default/24.200.001"
    assert document["servers"][0]["url"] == f"{site.url}/entity/Default/24.200.001"
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert tags.keys() == {"UnitsOfMeasure", "FinancialYear", "StockItem", "Customer"}
    assert tags["StockItem"] == "Stock Items (IN202500)"
    paths = document["paths"]
    operations = {
        (path, method): operation["operationId"]
        for path, methods in paths.items()
        for method, operation in methods.items()
    }
    assert operations[("/StockItem", "get")] == "StockItem_GetList"
    assert operations[("/StockItem", "put")] == "StockItem_PutEntity"
    assert operations[("/StockItem/{id}", "get")] == "StockItem_GetById"
    assert operations[("/StockItem/{id}", "delete")] == "StockItem_DeleteById"
    assert operations[("/StockItem/{ids}", "get")] == "StockItem_GetByKeys"
    assert operations[("/StockItem/{ids}", "delete")] == "StockItem_DeleteByKeys"
    assert operations[("/StockItem/$adHocSchema", "get")] == "StockItem_GetAdHocSchema"
    assert operations[("/StockItem/{ids}/files/{filename}", "put")] == "StockItem_PutFile"
    assert operations[("/StockItem/{actionName}", "post")] == "StockItem_InvokeAction_CustomAction"
    parameters = document["components"]["parameters"]
    names = {parameter["name"] for parameter in parameters.values()}
    assert {"$select", "$filter", "$expand", "$custom", "$skip", "$top"} <= names
    get_list = paths["/StockItem"]["get"]
    assert [p["$ref"].rsplit("/", 1)[-1] for p in get_list["parameters"]] == [
        "select",
        "filter",
        "expand",
        "custom",
        "skip",
        "top",
    ]
    schemas = document["components"]["schemas"]
    for wrapper in WRAPPERS:
        assert set(schemas[wrapper]["properties"]) == {"value", "error"}
    assert schemas["DateTimeValue"]["properties"]["value"]["format"] == "date-time"
    assert schemas["GuidValue"]["properties"]["value"]["format"] == "uuid"
    assert {"id", "rowNumber", "note", "custom", "files"} <= set(schemas["Entity"]["properties"])
    assert "CustomStringField" in schemas
    assert "FileLink" in schemas


def test_schemas_describe_exactly_the_served_records(site: Sandbox, control: Control) -> None:
    schemas = _swagger(site)["components"]["schemas"]
    with httpx.Client(base_url=site.url) as client:
        assert login(client).status_code == 204
        for entity in ("UnitsOfMeasure", "FinancialYear", "StockItem", "Customer"):
            record = client.get(f"/entity/Default/24.200.001/{entity}", params={"$top": 1}).json()
            part = schemas[entity]["allOf"]
            assert part[0] == {"$ref": "#/components/schemas/Entity"}
            declared = part[1]["properties"]
            fields = {key for key in record[0] if key not in ("id", "rowNumber", "note")}
            fields -= {"custom", "_links"}
            scalars = {name for name, spec in declared.items() if spec["$ref"].endswith("Value")}
            assert fields == scalars, entity
        assert logout(client).status_code == 204
    assert schemas["Customer"]["allOf"][1]["properties"]["MainContact"] == {
        "$ref": "#/components/schemas/CustomerContact"
    }


def test_each_version_has_its_own_document(site: Sandbox) -> None:
    v22 = _swagger(site, "22.200.001")["components"]["schemas"]["UnitsOfMeasure"]
    v24 = _swagger(site, "24.200.001")["components"]["schemas"]["UnitsOfMeasure"]
    assert "FromUOM" in v22["allOf"][1]["properties"]
    assert "UnitID" in v24["allOf"][1]["properties"]
    missing = httpx.get(f"{site.url}/entity/Default/21.200.001/swagger.json")
    assert missing.status_code == 404


@pytest.mark.slow
def test_document_with_every_defined_entity_is_valid(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(definitions=reference_definitions())
    document = _swagger(site)
    validate(document)
    served = {tag["name"] for tag in document["tags"]}
    assert served == set(top_level_entities("24.200.001"))
    operation_ids = {
        operation["operationId"]
        for methods in document["paths"].values()
        for operation in methods.values()
    }
    assert "SalesOrder_InvokeAction_CancelSalesOrder" in operation_ids
    body = document["paths"]["/SalesOrder/CancelSalesOrder"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["schemas"][schema]["properties"]["entity"] == {
        "$ref": "#/components/schemas/SalesOrder"
    }
    details = document["components"]["schemas"]["SalesOrder"]["allOf"][1]["properties"]["Details"]
    assert details == {"type": "array", "items": {"$ref": "#/components/schemas/SalesOrderDetail"}}
