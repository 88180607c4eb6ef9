"""What each landing kind looks like: one declarative spec per kind.

The specs transcribe ``docs/DATA_FORMATS.md``: columns, their types and rules,
the key, enumerations, references to other master data, and the few rules
that span columns of one row (:mod:`pipelines.ingest.row_rules`). Validation
(``validate.py``) and loading (``ingest.py``) read these specs; there is no
per-kind if-chain elsewhere beyond choosing the loading strategy named here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

import polars as pl

from pipelines.ingest.row_rules import (
    an_interval,
    dc_has_no_parent,
    first_of_month,
    forward_has_parent,
    reserved_within_on_hand,
    years_ordered,
)


class ColType(StrEnum):
    """The value types a landing column can have."""

    STR = "str"
    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Reference:
    """A set of known keys a column must belong to (``unknown <label> 'x'``)."""

    label: str
    table: str
    column: str
    # Restrict the known keys to rows whose ``filter_column`` equals ``filter_value``.
    filter_column: str | None = None
    filter_value: str | None = None


STORE = Reference("store", "stores", "store_id")
SKU = Reference("sku", "skus", "sku")
VEHICLE_MODEL = Reference("vehicle model", "vehicle_models", "vehicle_model_id")
WAREHOUSE = Reference("warehouse", "warehouses", "warehouse_id")
FORWARD_WAREHOUSE = Reference("forward warehouse", "warehouses", "warehouse_id", "kind", "forward")
DC = Reference("DC", "warehouses", "warehouse_id", "kind", "dc")
SUPPLIER = Reference("supplier", "suppliers", "supplier_id")


@dataclass(frozen=True)
class Column:
    """One landing column.

    ``required``: the column must be present in the file (else the file is
    refused). ``nullable``: an empty value is allowed. ``gt``/``ge``/``le``
    bound numbers (and ``between`` reads better in messages when both ends
    are set).
    """

    name: str
    type: ColType = ColType.STR
    required: bool = True
    nullable: bool = False
    enum: tuple[str, ...] = ()
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    ref: Reference | None = None
    default: bool | None = None  # value of an absent or empty optional column


# A row rule: an expression over the typed columns giving a reason or null.
RowRule = Callable[[], pl.Expr]
Loader = Literal["master", "order_lines", "returns", "stock"]
LANDING_FORMATS = ("csv", "parquet", "ndjson")


@dataclass(frozen=True)
class KindSpec:
    """A landing kind: its columns, key, target table and loading strategy."""

    name: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    loader: Loader
    rules: tuple[RowRule, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def content_columns(self) -> tuple[str, ...]:
        """The non-key columns, compared to decide unchanged vs different."""
        return tuple(c.name for c in self.columns if c.name not in self.key)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_LAT = Column("lat", ColType.FLOAT, ge=-90, le=90)
_LON = Column("lon", ColType.FLOAT, ge=-180, le=180)
_MONEY = {"type": ColType.DECIMAL, "ge": 0}

SPECS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec(
            "warehouses",
            "warehouses",
            (
                Column("warehouse_id"),
                Column("name"),
                Column("kind", enum=("dc", "forward")),
                _LAT,
                _LON,
                Column("shelf_capacity_l", ColType.FLOAT, gt=0),
                Column("parent_warehouse_id", nullable=True, ref=DC),
                Column("opened_on", ColType.DATE),
            ),
            key=("warehouse_id",),
            loader="master",
            rules=(dc_has_no_parent, forward_has_parent),
        ),
        KindSpec(
            "vehicle_models",
            "vehicle_models",
            (
                Column("vehicle_model_id"),
                Column("make"),
                Column("model"),
                Column("segment"),
                Column("powertrain", enum=("ice", "hev", "phev", "bev")),
                Column("year_from", ColType.INT, ge=1950, le=2100),
                Column("year_to", ColType.INT, required=False, nullable=True, ge=1950, le=2100),
            ),
            key=("vehicle_model_id",),
            loader="master",
            rules=(years_ordered,),
        ),
        KindSpec(
            "skus",
            "skus",
            (
                Column("sku"),
                Column("name"),
                Column(
                    "category",
                    enum=(
                        "tyres",
                        "engine_oil",
                        "filters",
                        "batteries",
                        "brake_pads",
                        "wipers",
                        "bulbs",
                        "nev_parts",
                        "service_packages",
                    ),
                ),
                Column("part_type"),
                Column("brand"),
                Column("pack_size", ColType.INT, gt=0),
                Column("unit_volume_l", ColType.FLOAT, gt=0),
                Column("unit_cost", ColType.DECIMAL, ge=0),
                Column("unit_price", ColType.DECIMAL, ge=0),
                Column("lead_time_days", ColType.INT, ge=0, le=365),
                Column("is_nev", ColType.BOOL),
                Column("do_not_stock", ColType.BOOL, required=False, nullable=True, default=False),
            ),
            key=("sku",),
            loader="master",
        ),
        KindSpec(
            "suppliers",
            "suppliers",
            (
                Column("supplier_id"),
                Column("name"),
                Column("lead_time_days", ColType.INT, ge=1, le=180),
                Column("order_cycle_days", ColType.INT, ge=1, le=90),
            ),
            key=("supplier_id",),
            loader="master",
        ),
        KindSpec(
            "sku_supply",
            "sku_supply",
            (
                Column("sku", ref=SKU),
                Column("supplier_id", ref=SUPPLIER),
                Column("case_pack", ColType.INT, gt=0),
                Column("moq", ColType.INT, gt=0),
                Column("sales_multiple", ColType.INT, gt=0),
            ),
            key=("sku",),
            loader="master",
        ),
        KindSpec(
            "stores",
            "stores",
            (
                Column("store_id"),
                Column("name"),
                _LAT,
                _LON,
                Column("warehouse_id", ref=FORWARD_WAREHOUSE),
                Column("opened_on", ColType.DATE),
                Column("is_franchise", ColType.BOOL),
            ),
            key=("store_id",),
            loader="master",
        ),
        KindSpec(
            "fitment",
            "fitment",
            (
                Column("sku", ref=SKU),
                Column("vehicle_model_id", ref=VEHICLE_MODEL),
                Column(
                    "position",
                    enum=(
                        "any",
                        "front",
                        "rear",
                        "front_left",
                        "front_right",
                        "rear_left",
                        "rear_right",
                        "engine",
                        "cabin",
                    ),
                ),
                Column("quantity", ColType.INT, gt=0),
            ),
            key=("sku", "vehicle_model_id", "position"),
            loader="master",
        ),
        KindSpec(
            "maintenance_schedules",
            "maintenance_schedules",
            (
                Column("vehicle_model_id", ref=VEHICLE_MODEL),
                Column("part_type"),
                Column("interval_km", ColType.INT, required=False, nullable=True, gt=0),
                Column("interval_months", ColType.INT, required=False, nullable=True, gt=0),
            ),
            key=("vehicle_model_id", "part_type"),
            loader="master",
            rules=(an_interval,),
        ),
        KindSpec(
            "store_vehicles",
            "store_vehicles",
            (
                Column("store_id", ref=STORE),
                Column("vehicle_model_id", ref=VEHICLE_MODEL),
                Column("month", ColType.DATE),
                Column("vehicles", ColType.INT, ge=0),
                Column("annual_km", ColType.INT, gt=0),
            ),
            key=("store_id", "vehicle_model_id", "month"),
            loader="master",
            rules=(first_of_month,),
        ),
        KindSpec(
            "order_lines",
            "order_lines",
            (
                Column("order_id"),
                Column("line_no", ColType.INT, gt=0),
                Column("ordered_at", ColType.TIMESTAMP),
                Column("store_id", ref=STORE),
                Column("sku", ref=SKU),
                Column("quantity", ColType.INT, gt=0),
                Column("unit_price", ColType.DECIMAL, ge=0),
                Column("channel", enum=("store", "online")),
                Column("status", enum=("completed", "cancelled")),
                Column("warehouse_id", required=False, nullable=True),
                Column("vehicle_model_id", required=False, nullable=True, ref=VEHICLE_MODEL),
            ),
            key=("order_id", "line_no"),
            loader="order_lines",
        ),
        KindSpec(
            "returns",
            "returns",
            (
                Column("return_id"),
                Column("order_id"),
                Column("line_no", ColType.INT, gt=0),
                Column("store_id", ref=STORE),
                Column("sku", ref=SKU),
                Column("quantity", ColType.INT, gt=0),
                Column("returned_at", ColType.TIMESTAMP),
                Column("reason", enum=("wrong_fitment", "unused", "defective", "other")),
            ),
            key=("return_id",),
            loader="returns",
        ),
        KindSpec(
            "stock",
            "stock_levels",
            (
                Column("warehouse_id", ref=WAREHOUSE),
                Column("sku", ref=SKU),
                Column("as_of", ColType.DATE),
                Column("on_hand", ColType.INT, ge=0),
                Column("reserved", ColType.INT, ge=0),
                Column("in_transit", ColType.INT, ge=0),
            ),
            key=("warehouse_id", "sku", "as_of"),
            loader="stock",
            rules=(reserved_within_on_hand,),
        ),
    )
}

# The order a folder is loaded in: everything a kind references comes first.
DEPENDENCY_ORDER: tuple[str, ...] = (
    "warehouses",
    "vehicle_models",
    "skus",
    "suppliers",
    "sku_supply",
    "stores",
    "fitment",
    "maintenance_schedules",
    "store_vehicles",
    "order_lines",
    "returns",
    "stock",
)
assert set(DEPENDENCY_ORDER) == set(SPECS)

_SUFFIX_FORMATS = {".csv": "csv", ".parquet": "parquet", ".ndjson": "ndjson", ".jsonl": "ndjson"}


def kind_from_name(path: Path) -> str | None:
    """The kind a file name's prefix names (``order_lines_2026-10.csv``), or None."""
    stem = path.name
    for name in sorted(SPECS, key=len, reverse=True):
        if stem == name or (stem.startswith(name) and stem[len(name)] in "_.-"):
            return name
    return None


def format_from_name(path: Path) -> str | None:
    """``csv``, ``parquet`` or ``ndjson`` from the file suffix, or None."""
    return _SUFFIX_FORMATS.get(path.suffix.lower())


def spec_for(kind: str) -> KindSpec:
    """The spec of ``kind``; raises KeyError naming the known kinds."""
    try:
        return SPECS[kind]
    except KeyError:
        known = ", ".join(DEPENDENCY_ORDER)
        raise KeyError(f"unknown kind {kind!r} (known: {known})") from None
