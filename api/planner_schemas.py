"""Response bodies of the planner's read endpoints: the published plan, as the night wrote it.

Kept apart from :mod:`api.schemas` (the store systems' bodies) to keep each
module small; the same rules hold: times ISO 8601 with offset, quantities
integers, lists ``{"items", "next_cursor"}``.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel

from api.schemas import Timestamp

WorkflowStatus = Literal["proposed", "approved", "overridden", "released", "cancelled"]


def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts, with NaN and infinities as null (JSON has neither)."""
    return [
        {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
        for row in frame.iter_rows(named=True)
    ]


class StatusStep(BaseModel):
    """One status an order went through, as of publishing."""

    seq: int
    status: str
    reason: str | None
    changed_by: str
    changed_at: Timestamp


class _TransferHeader(BaseModel):
    transfer_id: str
    run_id: str | None
    from_warehouse_id: str
    to_warehouse_id: str
    created_at: Timestamp
    needed_by: date
    status: str
    status_reason: str | None


class TransferOrderSummary(_TransferHeader):
    """A transfer order in a list: its header and the totals of its lines."""

    lines: int
    proposed_units: int
    allocated_units: int
    units: int


class TransferLine(BaseModel):
    """A line with the plan line behind it (null for another night's order)."""

    line_no: int
    sku: str
    proposed_quantity: int
    allocated_quantity: int | None
    quantity: int
    reason: str | None
    action: str | None
    inventory_position: int | None
    order_up_to: int | None
    cut_by: str | None
    decision: str | None


class TransferOrderPublic(_TransferHeader):
    """``GET /v1/transfer-orders/{id}``: the header, its lines and its status history."""

    lines: list[TransferLine]
    status_history: list[StatusStep]


class TransferOrderList(BaseModel):
    """A page of transfer orders, by id."""

    items: list[TransferOrderSummary]
    next_cursor: str | None


class _PurchaseHeader(BaseModel):
    po_id: str
    run_id: str | None
    supplier_id: str
    dc_id: str
    created_at: Timestamp
    expected_on: date
    status: str
    status_reason: str | None


class PurchaseOrderSummary(_PurchaseHeader):
    """A DC's purchase order in a list (``value``: units × unit cost, CNY)."""

    lines: int
    proposed_units: int
    units: int
    value: float | None


class PurchaseLine(BaseModel):
    """A purchase order line with its reason."""

    line_no: int
    sku: str
    proposed_quantity: int
    quantity: int
    unit_cost: float | None
    reason: str | None


class PurchaseOrderPublic(_PurchaseHeader):
    """``GET /v1/purchase-orders/{id}``: the header, its lines and its status history."""

    lines: list[PurchaseLine]
    status_history: list[StatusStep]


class PurchaseOrderList(BaseModel):
    """A page of purchase orders, by id."""

    items: list[PurchaseOrderSummary]
    next_cursor: str | None


class DemandDay(BaseModel):
    """Completed demand of one day (units)."""

    ds: date
    y: int


class StockCount(BaseModel):
    """An end-of-day count: free on the shelf and in transit."""

    as_of: date
    available: int | None
    in_transit: int | None


class ForecastDay(BaseModel):
    """Tonight's forecast of one day: mean and quantiles."""

    ds: date
    mean: float | None
    q50: float | None
    q80: float | None
    q90: float | None
    q95: float | None
    q99: float | None


class SeriesPublic(BaseModel):
    """``GET /v1/warehouses/{warehouse_id}/series/{sku}``.

    ``position`` is the inventory position, ``order_up_to`` the level S,
    ``reason`` the plan line's; ``plan_line`` the whole line; ``backtest`` the
    series' accuracy row (null when not backtested tonight).
    """

    warehouse_id: str
    sku: str
    plan_run_id: str
    demand_class: str | None
    model: str | None
    history: list[DemandDay]
    stock_counts: list[StockCount]
    forecast: list[ForecastDay]
    backtest: dict[str, Any] | None
    action: str | None
    position: int | None
    order_up_to: int | None
    reason: str | None
    plan_line: dict[str, Any] | None
    transfers: list[dict[str, Any]]


class KpisPublic(BaseModel):
    """``GET /v1/kpis``: the published night's summary, network accuracy and allocations."""

    plan_run_id: str
    as_of: date
    published_at: Timestamp
    summary: dict[str, Any]
    accuracy: dict[str, Any] | None
    allocations: list[dict[str, Any]]


class ExceptionItem(BaseModel):
    """A plan line a planner should look at, with every kind it is."""

    series_id: str
    warehouse_id: str
    sku: str
    category: str | None
    kinds: list[Literal["cut", "stock_out", "cover_cap", "pull_back"]]
    action: str | None
    on_hand: int | None
    reserved: int | None
    inventory_position: int | None
    order_up_to: int | None
    proposed_quantity: int | None
    allocated_quantity: int | None
    pull_back_quantity: int | None
    cover_days: float | None
    cut_by: str | None
    reason: str | None


class ExceptionList(BaseModel):
    """A page of exceptions, by series id."""

    items: list[ExceptionItem]
    next_cursor: str | None
