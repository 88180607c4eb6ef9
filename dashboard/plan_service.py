"""Plan review's service side: the planner endpoints' own functions, called in process.

API.md: every figure and change of the dashboard goes through the API's
service layer. Plan review calls the very functions behind ``/v1/transfer-
orders`` and ``/v1/purchase-orders`` (:mod:`api.routes.planner_orders`):
lists keyset-paged by id through ``ops.workflow.list_orders``, one order
through ``ops.workflow.get_order`` with its lines' plan details from the
published snapshot, and each step (approve, release, cancel, a line's
override) in its own transaction with the endpoint's checks, audit entry and
refusal message. Who is the signed-in planner's key name, as for a request
with that key. The audit trail is ``ops.audit.history``.

Nothing here imports Dash: the page (``dashboard.pages.plan``) turns these
plain values into grids, and tests call them directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from api.problems import ApiError
from api.routes import planner_orders as routes
from api.snapshot import LiveView
from dashboard.context import Snapshot
from ops import KeyIdentity, audit, reading
from ops import workflow as store

Kind = Literal["transfer", "purchase"]
Step = Literal["approve", "release", "cancel"]

#: Times are shown in the network's own time zone (its days are Shanghai days).
LOCAL = ZoneInfo("Asia/Shanghai")
#: Orders per block of the orders grid (AG Grid's infinite model asks block by block).
BLOCK = 100
#: The most orders a walk to a far block or a CSV reads (a bound, not a policy).
MAX_ORDERS = 100_000

#: The id column of each kind's orders.
KEYS: Mapping[Kind, str] = {"transfer": "transfer_id", "purchase": "po_id"}

_STEPS: Mapping[tuple[Kind, Step], Callable[..., BaseModel]] = {
    ("transfer", "approve"): routes.approve_transfer_order,
    ("transfer", "release"): routes.release_transfer_order,
    ("transfer", "cancel"): routes.cancel_transfer_order,
    ("purchase", "approve"): routes.approve_purchase_order,
    ("purchase", "release"): routes.release_purchase_order,
    ("purchase", "cancel"): routes.cancel_purchase_order,
}


@dataclass(frozen=True)
class OrderPage:
    """Orders by id (the list endpoint's items) and the cursor of the next page (None: last)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Outcome:
    """What one step did to one order: done, or refused and why (the endpoint's message)."""

    order_id: str
    ok: bool
    message: str
    status: str | None = None


@dataclass(frozen=True)
class Reviewer:
    """Who reviews, and what with: the planner, the ops store, the live snapshot view."""

    planner: KeyIdentity
    engine: Engine
    view: LiveView

    def __post_init__(self) -> None:
        if self.planner.role != "planner":
            raise PermissionError("plan review needs a planner key")


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a grid shows: one warehouse, one status, one night (None: any)."""

    warehouse_id: str | None = None
    status: str | None = None
    run_id: str | None = None


def order_page(
    who: Reviewer,
    kind: Kind,
    filters: OrderFilter = OrderFilter(),  # frozen: one shared default is safe
    *,
    cursor: str | None = None,
    limit: int = BLOCK,
) -> OrderPage:
    """One page of orders as ``GET /v1/{kind}-orders`` lists it (keyset by id).

    Raises
    ------
    ApiError
        An unknown warehouse or a cursor not given out (the endpoint's 422).
    """
    lister = routes.list_transfer_orders if kind == "transfer" else routes.list_purchase_orders
    page = lister(
        who.planner,
        who.view,
        who.engine,
        filters.warehouse_id,
        filters.status,  # type: ignore[arg-type]
        limit,
        cursor,
        filters.run_id,
    )
    return OrderPage([item.model_dump(mode="json") for item in page.items], page.next_cursor)


def rows_block(
    who: Reviewer,
    kind: Kind,
    block: range,
    cursors: Mapping[str, str | None],
    filters: OrderFilter,
) -> tuple[list[dict[str, Any]], int | None, dict[str, str | None]]:
    """Rows ``block.start`` to ``block.stop`` of the filtered orders, for AG Grid's
    infinite model.

    ``cursors`` maps a row index (as text) to the cursor that starts there, as
    earlier blocks found them (the browser keeps it); a block the grid asks for
    out of order is reached by paging from the nearest known cursor. Returns
    the rows, the row count once the last page is read (else None) and the
    cursors with this block's end added.
    """
    start, end = block.start, block.stop
    known = {int(k): v for k, v in cursors.items()} | {0: None}
    found = dict(cursors)
    nearest = max(k for k in known if k <= start)
    cursor = known[nearest]
    position = nearest
    while position < start:  # walk to the block: ids only matter, pages of up to 500
        step = min(500, start - position)
        page = order_page(who, kind, filters, cursor=cursor, limit=step)
        position += len(page.rows)
        cursor = page.next_cursor
        if cursor is None:
            return [], position, found
        found[str(position)] = cursor
    page = order_page(who, kind, filters, cursor=cursor, limit=end - start)
    if page.next_cursor is None:
        return page.rows, start + len(page.rows), found
    found[str(start + len(page.rows))] = page.next_cursor
    return page.rows, None, found


def all_orders(who: Reviewer, kind: Kind, filters: OrderFilter) -> pl.DataFrame:
    """Every order of the filter (up to :data:`MAX_ORDERS`), for a CSV."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(rows) < MAX_ORDERS:
        page = order_page(who, kind, filters, cursor=cursor, limit=500)
        rows.extend(page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break
    return pl.DataFrame(rows, infer_schema_length=None)


def order(who: Reviewer, snap: Snapshot, kind: Kind, order_id: str) -> dict[str, Any]:
    """One order as ``GET /v1/{kind}-orders/{id}`` answers it (transfer lines with their plan
    details: action, position, S, cut, decision).

    Raises
    ------
    ApiError
        No such order (404).
    """
    found: BaseModel
    if kind == "transfer":
        found = routes.read_transfer_order(who.planner, who.engine, snap, order_id)
    else:
        found = routes.read_purchase_order(who.planner, who.engine, order_id)
    body: dict[str, Any] = found.model_dump(mode="json")
    return body


def lines_frame(body: Mapping[str, Any], kind: Kind, forward: Iterable[str]) -> pl.DataFrame:
    """An order's lines as a frame, with the warehouse whose series each line plans
    (``series_warehouse_id``) and, for a purchase, the line's value (¥).

    ``forward`` are the forward warehouses: a replenishment plans its destination's
    series, a pull-back (to the DC) its source's.
    """
    lines = pl.DataFrame(body["lines"], infer_schema_length=None)
    if lines.is_empty():
        return lines
    if kind == "transfer":
        to = body["to_warehouse_id"]
        series = to if to in set(forward) else body["from_warehouse_id"]
        return lines.with_columns(series_warehouse_id=pl.lit(series))
    return lines.with_columns(
        value=pl.col("quantity") * pl.col("unit_cost"),
        series_warehouse_id=pl.lit(body["dc_id"]),
    )


def step(
    who: Reviewer,
    snap: Snapshot,
    kind: Kind,
    action: Step,
    order_ids: Iterable[str],
    reason: str | None = None,
) -> list[Outcome]:
    """Approve, release or cancel each order in its own transaction, as the endpoint does.

    One refusal does not stop the others: each outcome says what was done or why
    not (a release beyond the DC's free stock names the short SKUs).
    """
    call = _STEPS[(kind, action)]
    body = routes.StepRequest(reason=(reason or "").strip() or None)
    outcomes = []
    for order_id in order_ids:
        arguments: tuple[Any, ...] = (who.planner, who.engine)
        if kind == "transfer":
            arguments = (*arguments, snap)
        try:
            done = call(*arguments, order_id, body)
        except ApiError as error:
            outcomes.append(Outcome(order_id, False, error.detail))
            continue
        status = str(getattr(done, "status", ""))
        outcomes.append(Outcome(order_id, True, f"{order_id}: {status}", status))
    return outcomes


def override(
    who: Reviewer,
    snap: Snapshot,
    kind: Kind,
    order_id: str,
    sku: str,
    quantity: object,
    reason: str | None,
) -> Outcome:
    """Set one line's quantity with a reason (``PATCH .../lines/{sku}``); refused without one."""
    try:
        body = routes.LineOverride(quantity=quantity, reason=reason or "")  # type: ignore[arg-type]
    except ValidationError as error:
        return Outcome(order_id, False, _validation_message(order_id, error))
    try:
        if kind == "transfer":
            done: BaseModel = routes.override_transfer_line(
                who.planner, who.engine, snap, order_id, sku, body
            )
        else:
            done = routes.override_purchase_line(who.planner, who.engine, order_id, sku, body)
    except ApiError as error:
        return Outcome(order_id, False, error.detail)
    status = str(getattr(done, "status", ""))
    return Outcome(
        order_id, True, f"{order_id}: {sku} set to {body.quantity} ({body.reason})", status
    )


def audit_trail(engine: Engine, kind: Kind, order_id: str) -> list[dict[str, Any]]:
    """Every change of the order: who, when (Shanghai time), what, before, after, why."""
    entity = store.BOOKS[kind].orders.name.removesuffix("s")
    with reading(engine) as conn:
        entries = audit.history(conn, entity, order_id)
    return [
        {
            "at": local_time(entry.at),
            "who": entry.who,
            "action": entry.action,
            "before": describe(entry.before),
            "after": describe(entry.after),
            "why": entry.why or "",
        }
        for entry in entries
    ]


def describe(figures: Mapping[str, Any] | None) -> str:
    """An audit entry's before or after in words: ``status proposed; K1 5, K2 0``."""
    if not figures:
        return ""
    parts = []
    if figures.get("status"):
        parts.append(f"status {figures['status']}")
    quantities = figures.get("quantities") or {}
    if quantities:
        parts.append(", ".join(f"{sku} {q:,}" for sku, q in sorted(quantities.items())))
    others = {k: v for k, v in figures.items() if k not in {"status", "quantities"}}
    parts.extend(f"{k} {v}" for k, v in sorted(others.items()))
    return "; ".join(parts)


def local_time(moment: datetime | str | None) -> str:
    """``2026-12-06 15:30`` in Shanghai time (empty for None)."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def _validation_message(order_id: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        if field == "reason":
            problems.append("an override needs a reason")
        elif field == "quantity":
            problems.append(f"the quantity must be a whole number 0-{store.MAX_LINE_QUANTITY:,}")
        else:
            problems.append(f"{field}: {item['msg']}")
    return f"{order_id}: " + "; ".join(problems)
