"""Issue 14.5: the pages clients probe at start-up: the sign-in page and the Generic Inquiry
OData endpoints."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from tests.support.sandbox import (
    PASSWORD,
    USER,
    Control,
    SandboxFactory,
    login,
    logout,
    password_token,
)

from acumatica_datasource.sandbox import Sandbox

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
INQUIRY = {
    "name": "ItemList",
    "fields": {"InventoryID": "string", "Qty": "decimal", "Updated": "datetime"},
    "rows": [
        {"InventoryID": f"A{n:03d}", "Qty": n * 1.5, "Updated": f"2024-01-{n:02d}T00:00:00+00:00"}
        for n in range(1, 8)
    ],
}


def test_login_page_of_a_single_company_site(client: httpx.Client) -> None:
    page = client.get("/Frames/Login.aspx")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="txtSingleCompany" value="ACME"' in page.text
    assert "cmbCompany" not in page.text


def test_login_page_of_a_multi_company_site(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(tenants=[{"name": "ACME"}, {"name": "Globex"}])
    page = httpx.get(f"{site.url}/Frames/Login.aspx")
    assert '<option value="ACME">' in page.text
    assert '<option value="Globex">' in page.text
    assert "txtSingleCompany" not in page.text


def test_generic_inquiries_are_none_by_default(site: Sandbox, control: Control) -> None:
    root = f"{site.url}/t/ACME/api/odata/gi"
    service = httpx.get(root, auth=(USER, PASSWORD))
    assert service.status_code == 200
    assert service.json()["value"] == []
    metadata = httpx.get(f"{root}/$metadata", auth=(USER, PASSWORD))
    assert metadata.status_code == 200
    tree = ET.fromstring(metadata.text)
    container = tree.find(f".//{EDM}EntityContainer[@Name='Default']")
    assert container is not None
    assert container.findall(f"{EDM}EntitySet") == []


def test_configured_inquiry_feed_pages_with_top_and_skip(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(tenant={"generic_inquiries": [INQUIRY]})
    root = f"{site.url}/t/ACME/api/odata/gi"
    with httpx.Client(auth=(USER, PASSWORD)) as client, Control(site.url) as control:
        sets = client.get(root).json()["value"]
        assert sets == [{"name": "ItemList", "kind": "EntitySet", "url": "ItemList"}]
        tree = ET.fromstring(client.get(f"{root}/$metadata").text)
        entity_set = tree.find(f".//{EDM}EntityContainer[@Name='Default']/{EDM}EntitySet")
        assert entity_set is not None and entity_set.get("Name") == "ItemList"
        kind = tree.find(f".//{EDM}EntityType[@Name='ItemList']")
        assert kind is not None
        types = {prop.get("Name"): prop.get("Type") for prop in kind.findall(f"{EDM}Property")}
        assert types == {
            "InventoryID": "Edm.String",
            "Qty": "Edm.Decimal",
            "Updated": "Edm.DateTimeOffset",
        }
        page = client.get(f"{root}/ItemList", params={"$top": 3, "$skip": 2}).json()
        assert [row["InventoryID"] for row in page["value"]] == ["A003", "A004", "A005"]
        assert page["@odata.context"].endswith("$metadata#ItemList")
        filtered = client.get(f"{root}/ItemList", params={"$filter": "Qty gt 9"}).json()
        assert [row["InventoryID"] for row in filtered["value"]] == ["A007"]
        assert client.get(f"{root}/Nope").status_code == 404
        assert control.open_sessions() == 0  # OData requests hold no API-user slot


@pytest.mark.parametrize("auth", [None, (USER, "wrong")])
def test_inquiries_need_credentials(site: Sandbox, auth: tuple[str, str] | None) -> None:
    response = httpx.get(f"{site.url}/t/ACME/api/odata/gi", auth=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_inquiries_accept_a_bearer_token_and_a_session(site: Sandbox, control: Control) -> None:
    with httpx.Client(base_url=site.url) as client:
        token = password_token(client).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/t/ACME/api/odata/gi", headers=bearer).status_code == 200
        assert login(client).status_code == 204
        assert client.get("/t/ACME/api/odata/gi").status_code == 200
        assert logout(client).status_code == 204
        assert client.post("/entity/auth/logout", headers=bearer, content=b"").status_code == 204
