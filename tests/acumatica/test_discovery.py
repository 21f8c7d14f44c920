"""Endpoint discovery: parsing, numeric version choice, the per-run cache."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from tests.support.site import Leaks, Site, make_client

from acumatica_datasource.acumatica import (
    DiscoveryCache,
    ProtocolError,
    SiteInfo,
    probe_key_field,
    version_key,
)


def test_discovery_parses_build_and_endpoints(site: Site) -> None:
    with make_client(site.url) as client:
        info = client.discover()
    assert info.build_version == "24.210.0013"
    assert info.database_version == "24.210.0013"
    assert info.versions() == (
        "20.200.001",
        "22.200.001",
        "23.200.001",
        "24.200.001",
        "25.200.001",
    )
    assert info.choose_version(None) == "25.200.001"
    assert info.choose_version("23.200.001") == "23.200.001"
    assert site.paths() == [("GET", "/entity")]


def test_highest_version_is_chosen_numerically(make_site: Callable[..., Site]) -> None:
    site = make_site(endpoints={"Default": ["9.900.001", "24.200.001", "100.100.001", "24.20.1"]})
    with make_client(site.url) as client:
        info = client.discover()
    assert info.versions() == ("9.900.001", "24.20.1", "24.200.001", "100.100.001")
    assert info.choose_version(None) == "100.100.001"


def test_missing_endpoint_version_lists_the_available_ones() -> None:
    info = SiteInfo.from_json(
        {
            "version": {"acumaticaBuildVersion": "23.105.0016"},
            "endpoints": [
                {"name": "Default", "version": "23.200.001"},
                {"name": "Default", "version": "22.200.001"},
                {"name": "eCommerce", "version": "23.200.001"},
            ],
        }
    )
    with pytest.raises(LookupError) as info_error:
        info.choose_version("24.200.001")
    message = str(info_error.value)
    assert "24.200.001" in message and "EndpointVersion" in message
    assert "available: 22.200.001, 23.200.001" in message
    with pytest.raises(LookupError, match="lists no Default endpoint"):
        SiteInfo.from_json({"endpoints": []}).choose_version(None)


def test_a_site_that_is_not_acumatica_is_a_protocol_error(site: Site, leaks: Leaks) -> None:
    site.control.fault(path="/entity", status=200, body="<html>welcome</html>")
    with make_client(site.url) as client, leaks.raises(ProtocolError) as info:
        client.discover()
    assert site.url in str(info.value) and "url" in str(info.value)


def test_a_wrong_base_url_names_url(site: Site, leaks: Leaks) -> None:
    with make_client(site.url + "/nothing-here") as client, leaks.raises(ProtocolError) as info:
        client.discover()
    assert "url" in str(info.value) and "base URL" in str(info.value)


def test_version_key_and_probe_fields() -> None:
    assert version_key("24.200.001") > version_key("9.900.001")
    assert probe_key_field("UnitsOfMeasure", "24.200.001") == "UnitID"
    assert probe_key_field("UnitsOfMeasure", "25.200.001") == "UnitID"
    assert probe_key_field("UnitsOfMeasure", "23.200.001") == "FromUOM"
    assert probe_key_field("StockItem", "20.200.001") == "InventoryID"
    assert probe_key_field("SalesOrder", "24.200.001") is None


def test_discovery_is_cached_per_site_even_in_parallel(site: Site) -> None:
    cache = DiscoveryCache()
    results: list[SiteInfo] = []
    barrier = threading.Barrier(6)

    def discover() -> None:
        with make_client(site.url, discovery=cache) as client:
            barrier.wait()
            results.append(client.discover())

    threads = [threading.Thread(target=discover) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len({id(r) for r in results}) == 1
    assert site.paths() == [("GET", "/entity")]
    cache.clear()
    with make_client(site.url, discovery=cache) as client:
        client.discover()
    assert site.paths() == [("GET", "/entity"), ("GET", "/entity")]


def test_a_failed_discovery_is_not_cached(site: Site) -> None:
    cache = DiscoveryCache()
    site.control.fault(path="/entity", status=500, body={"message": "boom"})
    with make_client(site.url, discovery=cache) as client:
        with pytest.raises(Exception, match="boom"):
            client.discover()
        assert client.discover().build_version == "24.210.0013"
