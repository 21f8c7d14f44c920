"""The four hand-tuned entities every sandbox serves, with their deterministic records.

Each entity has a small hand-picked field list per endpoint version, chosen from the real
Default endpoint definitions (22.200.001, 23.200.001, 24.200.001): ``UnitsOfMeasure`` is a
unit (``UnitID``, ``Description``) from 24.200.001 on and a conversion (``FromUOM``, ``ToUOM``,
``ConversionFactor``, ``MultiplyOrDivide``) before; ``Customer`` gains ``Email``,
``PrimaryContactID`` and ``CustomerCategory`` in 23.200.001 and links its ``MainContact``;
``StockItem`` gains ``LastModifiedDateTime`` in 24.200.001. Other versions use the nearest
known shape. They override the entities of the same name that definition files bring.

Records are pure functions of (tenant, entity, index): ids are uuid5 values, so the same
record has the same id in every version and every run.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from acumatica_datasource.sandbox.model import (
    Contract,
    Entity,
    EntityType,
    ScalarType,
    nearest,
)

ENTITY_NAMES: Final = ("UnitsOfMeasure", "FinancialYear", "StockItem", "Customer")

NAMESPACE: Final = uuid.UUID("6f1c7a52-3d7e-5b8e-9a44-2c0d5e7f9b13")
EPOCH: Final = datetime(2022, 1, 3, 8, 0, 0, tzinfo=UTC)

Shape = Mapping[str, ScalarType]

_UOM_CONVERSION: Final[Shape] = {
    "FromUOM": "string",
    "ToUOM": "string",
    "ConversionFactor": "decimal",
    "MultiplyOrDivide": "string",
    "CreatedDateTime": "datetime",
    "LastModifiedDateTime": "datetime",
}
_UOM_UNIT: Final[Shape] = {"UnitID": "string", "Description": "string", "L3Code": "string"}
_FINANCIAL_YEAR: Final[Shape] = {
    "FirstFinancialYear": "string",
    "FinancialYearStartsOn": "datetime",
    "FirstPeriodStartDate": "datetime",
    "NbrOfFinancialPeriods": "short",
    "LengthOfFinancialPeriodInDays": "short",
    "PeriodType": "string",
    "UserDefinedPeriods": "bool",
    "HasAdjustmentPeriod": "bool",
    "BelongsToNextYear": "bool",
    "AdjustToPeriodStart": "bool",
    "DayOfWeek": "string",
    "PeriodsStartDayOfWeek": "string",
    "YearEndCalculationMethod": "string",
    "CreatedDateTime": "datetime",
    "LastModifiedDateTime": "datetime",
}
_STOCK_ITEM_22: Final[Shape] = {
    "InventoryID": "string",
    "Description": "string",
    "ItemClass": "string",
    "ItemStatus": "string",
    "ItemType": "string",
    "BaseUOM": "string",
    "SalesUOM": "string",
    "PurchaseUOM": "string",
    "DefaultPrice": "decimal",
    "LastCost": "decimal",
    "AverageCost": "decimal",
    "DefaultWarehouseID": "string",
    "ValuationMethod": "string",
    "PostingClass": "string",
    "TaxCategory": "string",
    "IsAKit": "bool",
    "LastModified": "datetime",
    "NoteID": "guid",
}
_STOCK_ITEM_24: Final[Shape] = {**_STOCK_ITEM_22, "LastModifiedDateTime": "datetime"}
_CUSTOMER_22: Final[Shape] = {
    "CustomerID": "string",
    "CustomerName": "string",
    "CustomerClass": "string",
    "Status": "string",
    "CurrencyID": "string",
    "Terms": "string",
    "PriceClassID": "string",
    "ShipVia": "string",
    "TaxZone": "string",
    "BAccountID": "int",
    "CreditLimit": "decimal",
    "CreatedDateTime": "datetime",
    "LastModifiedDateTime": "datetime",
    "NoteID": "guid",
}
_CUSTOMER_23: Final[Shape] = {
    **_CUSTOMER_22,
    "Email": "string",
    "PrimaryContactID": "int",
    "CustomerCategory": "string",
}

#: entity -> {reference version -> shape}; other versions use the numerically nearest one.
SHAPES: Final[Mapping[str, Mapping[str, Shape]]] = {
    "UnitsOfMeasure": {
        "22.200.001": _UOM_CONVERSION,
        "23.200.001": _UOM_CONVERSION,
        "24.200.001": _UOM_UNIT,
    },
    "FinancialYear": {
        "22.200.001": _FINANCIAL_YEAR,
        "23.200.001": _FINANCIAL_YEAR,
        "24.200.001": _FINANCIAL_YEAR,
    },
    "StockItem": {
        "22.200.001": _STOCK_ITEM_22,
        "23.200.001": _STOCK_ITEM_22,
        "24.200.001": _STOCK_ITEM_24,
    },
    "Customer": {
        "22.200.001": _CUSTOMER_22,
        "23.200.001": _CUSTOMER_23,
        "24.200.001": _CUSTOMER_23,
    },
}

#: The screen (graph and primary view) of each entity, used in ``_links``.
GRAPHS: Final[Mapping[str, str]] = {
    "UnitsOfMeasure": "PX.Objects.CS.CSUnitOfMeasureMaint/Unit",
    "FinancialYear": "PX.Objects.GL.FiscalYearSetupMaint/FiscalYearSetup",
    "StockItem": "PX.Objects.IN.InventoryItemMaint/Item",
    "Customer": "PX.Objects.AR.CustomerMaint/BAccount",
}
_SCREENS: Final[Mapping[str, str]] = {
    "UnitsOfMeasure": "Units of Measure (CS203100)",
    "FinancialYear": "Financial Year (GL101000)",
    "StockItem": "Stock Items (IN202500)",
    "Customer": "Customers (AR303000)",
}
_KEYS: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = {
    "UnitsOfMeasure": {
        "22.200.001": ("FromUOM", "ToUOM"),
        "23.200.001": ("FromUOM", "ToUOM"),
        "24.200.001": ("UnitID",),
    },
    "FinancialYear": dict.fromkeys(SHAPES["FinancialYear"], ("FirstFinancialYear",)),
    "StockItem": dict.fromkeys(SHAPES["StockItem"], ("InventoryID",)),
    "Customer": dict.fromkeys(SHAPES["Customer"], ("CustomerID",)),
}
#: ``Customer.MainContact``: the linked entity the guide's ``$filter`` example reads.
CUSTOMER_CONTACT: Final = EntityType(
    "CustomerContact",
    {"DisplayName": "string", "Email": "string", "Phone1": "string"},
)
REFERENCE_VERSIONS: Final = ("22.200.001", "23.200.001", "24.200.001")


def _entity(name: str, version: str) -> Entity:
    links = {"MainContact": CUSTOMER_CONTACT.name} if name == "Customer" else {}
    return Entity(
        type=EntityType(name, SHAPES[name][version], links),
        keys=_KEYS[name][version],
        screen=_SCREENS[name],
        graph=GRAPHS[name],
    )


@functools.cache
def builtin_contract(version: str) -> Contract:
    """The hand-tuned entities as served on endpoint ``version`` (nearest known shape)."""
    shape = nearest(REFERENCE_VERSIONS, version)
    entities = {name: _entity(name, shape) for name in ENTITY_NAMES}
    types = {name: entity.type for name, entity in entities.items()}
    return Contract(
        f"builtin/{shape}", entities, {**types, CUSTOMER_CONTACT.name: CUSTOMER_CONTACT}
    )


_UNITS: Final = (
    ("EA", "Each", 1.0),
    ("BOX", "Box", 12.0),
    ("CASE", "Case", 24.0),
    ("PACK", "Pack", 6.0),
    ("PAIR", "Pair", 2.0),
    ("DOZEN", "Dozen", 12.0),
    ("PIECE", "Piece", 1.0),
    ("SET", "Set", 4.0),
    ("ROLL", "Roll", 50.0),
    ("PALLET", "Pallet", 480.0),
    ("KG", "Kilogram", 1000.0),
    ("G", "Gram", 1.0),
    ("LB", "Pound", 16.0),
    ("OZ", "Ounce", 1.0),
    ("TON", "Ton", 2000.0),
    ("L", "Liter", 1000.0),
    ("ML", "Milliliter", 1.0),
    ("GAL", "Gallon", 3.785),
    ("M", "Meter", 100.0),
    ("CM", "Centimeter", 10.0),
    ("MM", "Millimeter", 1.0),
    ("FT", "Foot", 12.0),
    ("IN", "Inch", 1.0),
    ("HOUR", "Hour", 60.0),
    ("MINUTE", "Minute", 1.0),
)
_BASE_UNIT: Final[Mapping[str, str]] = {
    "G": "G",
    "KG": "G",
    "OZ": "OZ",
    "LB": "OZ",
    "TON": "LB",
    "ML": "ML",
    "L": "ML",
    "GAL": "L",
    "MM": "MM",
    "CM": "MM",
    "M": "CM",
    "IN": "IN",
    "FT": "IN",
    "MINUTE": "MINUTE",
    "HOUR": "MINUTE",
}
_WORDS: Final = (
    "Oak", "Steel", "Blue", "Classic", "Rapid", "Prime", "Nordic", "Solar", "Urban", "Delta",
    "Summit", "Coastal", "Granite", "Maple", "Vertex", "Harbor",
)  # fmt: skip
_NOUNS: Final = (
    "Widget", "Bracket", "Valve", "Panel", "Cable", "Fitting", "Sensor", "Bearing", "Filter",
    "Gasket", "Hinge", "Pump", "Switch", "Spring", "Clamp", "Motor",
)  # fmt: skip
_COMPANY_SUFFIXES: Final = ("Inc.", "LLC", "Ltd.", "Group", "Partners", "Supply", "Co.")


def record_id(tenant: str, entity: str, index: int) -> str:
    """The deterministic id of record ``index`` of ``entity`` in ``tenant``."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant.casefold()}/{entity}/{index}"))


def stamp(moment: datetime) -> str:
    """A date-time as the API renders it: ISO 8601 with milliseconds and offset."""
    return moment.isoformat(timespec="milliseconds")


def _values(tenant: str, entity: str, index: int, rng: random.Random) -> dict[str, object]:
    """Every field any shape of ``entity`` has, for record ``index``."""
    created = EPOCH + timedelta(days=rng.randrange(0, 700), seconds=rng.randrange(0, 86_400))
    modified = created + timedelta(days=rng.randrange(0, 300), seconds=rng.randrange(0, 86_400))
    note_id = str(uuid.uuid5(NAMESPACE, f"{tenant.casefold()}/{entity}/{index}/note"))
    common: dict[str, object] = {
        "CreatedDateTime": stamp(created),
        "LastModifiedDateTime": stamp(modified),
        "NoteID": note_id,
    }
    if entity == "UnitsOfMeasure":
        if index < len(_UNITS):
            unit, description, factor = _UNITS[index]
        else:
            unit, description, factor = f"U{index + 1:04d}", f"Unit {index + 1}", 1.0
        base = _BASE_UNIT.get(unit, "EA" if unit != "EA" else "PIECE")
        return {
            **common,
            "UnitID": unit,
            "Description": description,
            "L3Code": unit[:3],
            "FromUOM": unit,
            "ToUOM": base,
            "ConversionFactor": factor,
            "MultiplyOrDivide": "Multiply",
        }
    if entity == "FinancialYear":
        year = 2021 + index
        start = datetime(year, 1, 1, tzinfo=UTC)
        return {
            **common,
            "FirstFinancialYear": str(year),
            "FinancialYearStartsOn": stamp(start),
            "FirstPeriodStartDate": stamp(start),
            "NbrOfFinancialPeriods": 12,
            "LengthOfFinancialPeriodInDays": 30,
            "PeriodType": "Month",
            "UserDefinedPeriods": False,
            "HasAdjustmentPeriod": index % 2 == 1,
            "BelongsToNextYear": False,
            "AdjustToPeriodStart": False,
            "DayOfWeek": "Sunday",
            "PeriodsStartDayOfWeek": "Sunday",
            "YearEndCalculationMethod": "Last Day of Financial Period",
        }
    if entity == "StockItem":
        cost = round(rng.uniform(1, 500), 2)
        return {
            **common,
            "InventoryID": f"ITEM{index + 1:06d}",
            "Description": f"{rng.choice(_WORDS)} {rng.choice(_NOUNS)} {index + 1}",
            "ItemClass": rng.choice(("STOCKITEM", "HARDWARE", "PARTS", "SUPPLIES")),
            "ItemStatus": "Active" if index % 10 else "Inactive",
            "ItemType": rng.choice(("Finished Good", "Component Part", "Subassembly")),
            "BaseUOM": "EA",
            "SalesUOM": "EA",
            "PurchaseUOM": rng.choice(("EA", "BOX", "CASE")),
            "DefaultPrice": round(cost * 1.4, 2),
            "LastCost": cost,
            "AverageCost": round(cost * rng.uniform(0.9, 1.1), 2),
            "DefaultWarehouseID": rng.choice(("WHOLESALE", "RETAIL", "MAIN")),
            "ValuationMethod": rng.choice(("Average", "FIFO", "Standard")),
            "PostingClass": "STOCKITEM",
            "TaxCategory": "TAXABLE",
            "IsAKit": index % 17 == 0,
            "LastModified": stamp(modified),
        }
    # Customer
    name = f"{rng.choice(_WORDS)} {rng.choice(_NOUNS)}s {rng.choice(_COMPANY_SUFFIXES)}"
    slug = name.split(maxsplit=1)[0].lower()
    return {
        **common,
        "CustomerID": f"C{index + 1:06d}",
        "CustomerName": name,
        "CustomerClass": rng.choice(("DEFAULT", "LOCAL", "INTL", "WHOLESALE")),
        "Status": "Active" if index % 12 else "On Hold",
        "CurrencyID": rng.choice(("USD", "USD", "USD", "EUR", "CAD")),
        "Terms": rng.choice(("30D", "NET15", "COD")),
        "PriceClassID": rng.choice(("", "RETAIL", "WHOLESALE")),
        "ShipVia": rng.choice(("FEDEX", "UPS", "LOCAL")),
        "TaxZone": rng.choice(("", "CA", "NY", "EXEMPT")),
        "BAccountID": 1000 + index,
        "CreditLimit": float(rng.choice((0, 5000, 10000, 25000, 50000))),
        "Email": f"ap{index + 1}@{slug}.example.com",
        "PrimaryContactID": 50_000 + index,
        "CustomerCategory": rng.choice(("Individual", "Organization")),
    }


@functools.lru_cache(maxsize=256)
def records(tenant: str, entity: str, shape: str, count: int) -> tuple[Mapping[str, object], ...]:
    """All records of ``entity`` in ``tenant`` with the fields of reference ``shape``.

    Each record maps ``id``, ``note`` and every field of the shape to a plain value.
    """
    fields = SHAPES[entity][shape]
    result: list[Mapping[str, object]] = []
    for index in range(count):
        rng = random.Random(f"{tenant.casefold()}/{entity}/{index}")  # noqa: S311 - test data
        values = _values(tenant, entity, index, rng)
        record: dict[str, object] = {
            "id": record_id(tenant, entity, index),
            "note": f"Generated record {index + 1}" if index % 7 == 0 else "",
        }
        for name in fields:
            record[name] = values[name]
        result.append(record)
    return tuple(result)
