"""The field-level changes of a data source in the result objects (``diff``): what an update
changes, field by field, with secret values never shown (issue 15)."""

from __future__ import annotations

from acumatica_datasource.cli.engine_events import _field_changes
from acumatica_datasource.cli.render import render
from acumatica_datasource.cli.result import SECRET, DataSourceResult, FieldChange, StackResult
from acumatica_datasource.resource.outputs import fingerprint

RECORDED = {
    "description": "ERP",
    "data_source_id": "erp",
    "page_size": 100,
    "url": "https://acme.acumatica.com",
    "authentication": {
        "strategy": "basic",
        "username": "nectari",
        "password": {"vault": {"path": "acumatica/dev", "key": "password"}},
    },
    "extra_connection_properties": {"Branch": "HQ"},
    "callback_url": None,
    "verification": {"status": "ok"},
}


def changed(**fields: object) -> dict[str, object]:
    return {**RECORDED, **fields}


def test_an_update_lists_each_changed_field_with_old_and_new() -> None:
    new = changed(page_size=200, extra_connection_properties={"Branch": "EU", "Locale": "de"})
    changes = _field_changes(RECORDED, new)
    assert [c.as_dict() for c in changes] == [
        {"path": "page_size", "old": 100, "new": 200, "kind": "update"},
        {"path": "extra_connection_properties.Branch", "old": "HQ", "new": "EU", "kind": "update"},
        {"path": "extra_connection_properties.Locale", "old": None, "new": "de", "kind": "add"},
    ]
    assert [c.text() for c in changes] == [
        "page_size: 100 => 200",
        "extra_connection_properties.Branch: HQ => EU",
        "extra_connection_properties.Locale: (unset) => de",
    ]


def test_a_secret_reference_is_shown_and_a_secret_value_is_not() -> None:
    moved = changed(
        authentication={
            **RECORDED["authentication"],  # type: ignore[dict-item]
            "password": {"vault": {"path": "acumatica/dev", "key": "password-2"}},
        }
    )
    (change,) = _field_changes(RECORDED, moved)
    assert change.text() == "authentication.password.vault.key: password => password-2"

    # a Pulumi secret (Python programs) is recorded as a fingerprint: both sides are secret
    stamp = {"pulumi_secret": fingerprint("Old-Secret-Value")}
    recorded = changed(authentication={**moved["authentication"], "password": stamp})  # type: ignore[dict-item]
    inline = changed(authentication={**moved["authentication"], "password": "New-Secret-Value"})  # type: ignore[dict-item]
    (change,) = _field_changes(recorded, inline)
    assert change.as_dict() == {
        "path": "authentication.password",
        "old": SECRET,
        "new": SECRET,
        "kind": "update",
    }
    assert change.text() == "authentication.password: [secret] => [secret]"
    # a credential among the extra connection properties is a secret field too
    proxy = changed(extra_connection_properties={"Branch": "HQ", "ProxyPassword": "Proxy-Value"})
    (added,) = _field_changes(RECORDED, proxy)
    assert (added.path, added.old, added.new, added.kind) == (
        "extra_connection_properties.ProxyPassword",
        None,
        SECRET,
        "add",
    )


def test_the_summary_and_the_json_carry_the_diff() -> None:
    source = DataSourceResult("erp", "ERP", action="update", status="planned")
    source.diff = [FieldChange("page_size", "update", 100, 200)]
    result = StackResult("preview", "dev", data_sources=[source])
    assert "      page_size: 100 => 200" in render(result, "text").splitlines()
    assert "| `page_size`: `100` → `200` |" in render(result, "markdown")
    (listed,) = result.as_dict()["data_sources"]
    assert listed["diff"] == [{"path": "page_size", "old": 100, "new": 200, "kind": "update"}]
