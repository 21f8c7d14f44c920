"""Issue 14: the Acumatica clients people already use run unmodified against the sandbox.

``easy-acumatica`` (0.6.1) and ``grp-mcp`` (0.80.10) are test-only dependencies. Each runs
its README's flow as a user would, nothing patched: sign in, a list read in pages, a record
by its key, a ``$filter`` with ``gt`` on a date, sign out; then the records are compared
with what the sandbox serves to raw httpx, and no session may stay open.

* easy-acumatica: ``AcumaticaClient(base_url, username, password, tenant)`` signs in with a
  cookie session (Basic strategy), reads ``GET /entity``, builds its services and models
  from ``swagger.json`` and probes the Generic Inquiry OData ``$metadata``; ``logout()``.
* grp-mcp: an MCP server; as its README says, an MCP client starts ``grp-mcp`` with
  ``GRP_MCP_CONNECTIONS`` naming a ``connections.json`` profile, and calls its tools. Its
  contract-REST plane signs in with the OAuth 2.0 password grant of a Resource Owner
  Password application (``/identity/connect/token``); ``release_sessions`` logs out. (Its
  cookie sign-in serves only the Customization Web API and screen planes, which are not
  part of Acumatica's contract-based REST API the sandbox emulates.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.sandbox import (
    PASSWORD,
    PASSWORD_CLIENT_ID,
    PASSWORD_CLIENT_SECRET,
    REFERENCE_DEFINITIONS,
    TENANT,
    USER,
    Control,
    SandboxFactory,
    login,
    logout,
)

from acumatica_datasource.sandbox import Sandbox

SINCE = datetime(2023, 6, 1, tzinfo=UTC)


@pytest.fixture
def client_site(make_sandbox: SandboxFactory) -> Sandbox:
    """The default site, with every defined entity when the reference definitions exist."""
    if REFERENCE_DEFINITIONS.is_dir():
        return make_sandbox(definitions=str(REFERENCE_DEFINITIONS))
    return make_sandbox()


def _served(site: Sandbox, version: str, path: str, **params: Any) -> Any:
    """What raw httpx reads from the sandbox (the ground truth for the clients)."""
    with httpx.Client(base_url=site.url, timeout=30.0) as client:
        assert login(client).status_code == 204
        result = client.get(f"/entity/Default/{version}/{path}", params=params).json()
        assert logout(client).status_code == 204
    return result


def _records(found: Any) -> Any:
    """Records without ``rowNumber`` (a page's numbers start at 1 on every page)."""
    if isinstance(found, list):
        return [_records(item) for item in found]
    return {key: value for key, value in found.items() if key != "rowNumber"}


def _recent_ids(site: Sandbox, version: str) -> list[str]:
    records = _served(site, version, "StockItem")
    return [
        record["id"]
        for record in records
        if datetime.fromisoformat(record["LastModifiedDateTime"]["value"]) > SINCE
    ]


def test_easy_acumatica_readme_flow(
    client_site: Sandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from easy_acumatica import AcumaticaClient
    from easy_acumatica.odata import F, QueryOptions

    caplog.set_level(logging.WARNING)
    client = AcumaticaClient(
        base_url=client_site.url,
        username=USER,
        password=PASSWORD,
        tenant=TENANT,
        cache_dir=tmp_path,  # where it saves the OData metadata it downloads
    )
    try:
        version = client.endpoint_version
        assert version == "25.200.001"  # the newest Default endpoint the site lists
        assert "StockItem" in client.list_services()
        first = client.stock_item.get_list(options=QueryOptions(top=10, skip=0))
        second = client.stock_item.get_list(options=QueryOptions(top=10, skip=10))
        expected = _served(client_site, version, "StockItem", **{"$top": 20})
        assert _records(first + second) == _records(expected)
        item = client.stock_item.get_by_keys(InventoryID="ITEM000042")
        assert item["InventoryID"] == {"value": "ITEM000042"}
        assert item == _served(client_site, version, "StockItem/ITEM000042")
        recent = client.stock_item.get_list(
            options=QueryOptions(filter=F.LastModifiedDateTime > SINCE.replace(tzinfo=None))
        )
        assert [record["id"] for record in recent] == _recent_ids(client_site, version)
        assert 0 < len(recent) < 2500
    finally:
        assert client.logout() == 204
        client.close()
    with Control(client_site.url) as control:
        assert control.open_sessions() == 0
        paths = [entry["path"] for entry in control.requests()]
    assert f"/entity/Default/{version}/swagger.json" in paths
    assert f"/t/{TENANT}/api/odata/gi/$metadata" in paths
    assert [record for record in caplog.records if record.name.startswith("easy_acumatica")] == []
    assert "Error" not in capsys.readouterr().out


def _connections(tmp_path: Path, site: Sandbox) -> Path:
    path = tmp_path / "connections.json"
    profile = {
        "base_url": site.url,
        "client_id": PASSWORD_CLIENT_ID,
        "client_secret": PASSWORD_CLIENT_SECRET,
        "username": USER,
        "password": PASSWORD,
        "tenant": TENANT,
        "endpoint_version": "24.200.001",
    }
    path.write_text(json.dumps({"default": "sandbox", "instances": {"sandbox": profile}}))
    return path


async def _grp_mcp_flow(site: Sandbox, workdir: Path) -> dict[str, Any]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    server = StdioServerParameters(
        command=str(Path(sys.executable).parent / "grp-mcp"),
        env={**os.environ, "GRP_MCP_CONNECTIONS": str(_connections(workdir, site))},
        cwd=str(workdir),
    )
    results: dict[str, Any] = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()

        async def call(tool: str, many: bool = False, **arguments: Any) -> Any:
            result = await session.call_tool(tool, arguments)
            assert not result.isError, (tool, result.content)
            # FastMCP sends a list result as one text item per element
            values = [json.loads(item.text) for item in result.content]  # type: ignore[union-attr]
            return values if many else values[0]

        results["connection"] = await call("test_connection")
        results["page"] = await call("get_entity", True, entity="StockItem", top=10, skip=10)
        results["all"] = await call("fetch_all_entities", entity="UnitsOfMeasure", page_size=10)
        results["item"] = await call("get_entity", entity="StockItem", record_id="ITEM000042")
        results["recent"] = await call(
            "get_entity",
            True,
            entity="StockItem",
            filter=f"LastModifiedDateTime gt datetimeoffset'{SINCE.isoformat()}'",
        )
        with Control(site.url) as control:
            results["sessions_before_release"] = control.open_sessions()
        results["released"] = await call("release_sessions")
    return results


@pytest.mark.slow
def test_grp_mcp_readme_flow(client_site: Sandbox, tmp_path: Path) -> None:
    results = asyncio.run(_grp_mcp_flow(client_site, tmp_path))
    version = "24.200.001"
    assert results["connection"]["ok"] is True
    assert results["page"] == _served(
        client_site, version, "StockItem", **{"$top": 10, "$skip": 10}
    )
    assert results["all"]["count"] == 25  # three pages of 10 through $top/$skip
    assert _records(results["all"]["records"]) == _records(
        _served(client_site, version, "UnitsOfMeasure")
    )
    assert results["item"] == _served(client_site, version, "StockItem/ITEM000042")
    assert [record["id"] for record in results["recent"]] == _recent_ids(client_site, version)
    assert results["sessions_before_release"] == 1
    assert results["released"]["released"] == ["sandbox"]
    with Control(client_site.url) as control:
        assert control.open_sessions() == 0
        requests = [(entry["method"], entry["path"]) for entry in control.requests()]
    assert ("POST", "/identity/connect/token") in requests
    assert ("GET", f"/entity/Default/{version}/swagger.json") in requests
    assert ("POST", "/entity/auth/logout") in requests
