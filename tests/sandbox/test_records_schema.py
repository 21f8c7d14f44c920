"""Every record of the hand-tuned entities checked against the real endpoint definitions.

The definitions (Default 22.200.001, 23.200.001, 24.200.001) are reference data in
``../shared/reference/acumatica-endpoints/`` beside the repository; they are read here at test
time and never copied into the project.
"""

from __future__ import annotations

import httpx
import pytest
from tests.support.definitions import check_record, properties
from tests.support.sandbox import Control, SandboxFactory, login, logout, reference_definitions

ENTITIES = ("UnitsOfMeasure", "FinancialYear", "StockItem", "Customer")
# served version -> the reference definition its records must satisfy
VERSIONS = {
    "22.200.001": "22.200.001",
    "23.200.001": "23.200.001",
    "24.200.001": "24.200.001",
    "20.200.001": "22.200.001",
    "25.200.001": "24.200.001",
}


@pytest.fixture(autouse=True)
def _reference() -> None:
    reference_definitions()


@pytest.mark.parametrize("served", list(VERSIONS))
def test_every_record_matches_the_endpoint_definition(
    make_sandbox: SandboxFactory, served: str
) -> None:
    reference = VERSIONS[served]
    site = make_sandbox()
    with httpx.Client(base_url=site.url, timeout=30.0) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        for entity in ENTITIES:
            records = client.get(f"/entity/Default/{served}/{entity}").json()
            assert records, entity
            for record in records:
                check_record(reference, entity, record)
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_units_of_measure_fields_follow_the_version() -> None:
    # the reference itself has the UnitsOfMeasure change DESIGN.md describes
    assert "UnitID" in properties("24.200.001", "UnitsOfMeasure")
    assert "UnitID" not in properties("23.200.001", "UnitsOfMeasure")
    assert "FromUOM" in properties("22.200.001", "UnitsOfMeasure")
