"""Endpoint discovery: what ``GET {site}/entity`` says about a site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ENDPOINT = "Default"


def version_key(version: str) -> tuple[int, ...]:
    """Sort key comparing versions numerically (``24.200.001`` > ``9.900.001``)."""
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


@dataclass(frozen=True)
class SiteInfo:
    """Build and endpoints of a site."""

    build_version: str | None
    database_version: str | None
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> SiteInfo:
        """Parse the discovery document; raise ``ValueError`` when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
            raise ValueError("no endpoints list")  # noqa: TRY004 - callers expect ValueError
        found = data.get("version")
        version: dict[str, Any] = found if isinstance(found, dict) else {}
        endpoints: dict[str, list[str]] = {}
        for item in data["endpoints"]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                endpoints.setdefault(item["name"], []).append(str(item.get("version", "")))
        return cls(
            build_version=_text(version.get("acumaticaBuildVersion")),
            database_version=_text(version.get("databaseVersion")),
            endpoints={
                name: tuple(sorted(set(versions), key=version_key))
                for name, versions in endpoints.items()
            },
        )

    def versions(self, endpoint: str = DEFAULT_ENDPOINT) -> tuple[str, ...]:
        """The versions of an endpoint, oldest first."""
        return self.endpoints.get(endpoint, ())

    def choose_version(self, requested: str | None, endpoint: str = DEFAULT_ENDPOINT) -> str:
        """``requested`` when the site has it, else the highest; ``LookupError`` otherwise."""
        versions = self.versions(endpoint)
        if requested is not None:
            if requested in versions:
                return requested
            available = ", ".join(versions) or "none"
            raise LookupError(
                f"the site has no {endpoint} endpoint version {requested} (EndpointVersion in "
                f"extra_connection_properties); available: {available}"
            )
        if not versions:
            raise LookupError(f"the site lists no {endpoint} endpoint")
        return versions[-1]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


PROBE_KEY_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    # entity -> ((first version with this key, key field), ...), newest first
    "UnitsOfMeasure": (("24.200.001", "UnitID"), ("0", "FromUOM")),
    "FinancialYear": (("0", "FirstFinancialYear"),),
    "StockItem": (("0", "InventoryID"),),
    "Customer": (("0", "CustomerID"),),
}
"""Key fields to ``$select`` in the paged test request; they differ between versions."""


def probe_key_field(entity: str, version: str) -> str | None:
    """The key field of a probe entity in an endpoint version, when known."""
    for since, name in PROBE_KEY_FIELDS.get(entity, ()):
        if version_key(version) >= version_key(since):
            return name
    return None
