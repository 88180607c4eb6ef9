"""Small builders the store tests share: stock to reserve, keys, order requests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from ops.keys import KeyIdentity, create_key
from ops.orders import LineRequest, OrderRequest
from ops.reservations import StockBase, load_bases

RUN = "run-1"
STORE = "S0001"
DELIVER_BY = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def stock(
    engine: Engine,
    units: Mapping[tuple[str, str], int],
    run: str = RUN,
    counted_at: datetime | None = None,
) -> None:
    """Load ``units`` per (warehouse, SKU) as run ``run``'s bases, counted an hour ago."""
    counted_at = counted_at or an_hour_ago()
    with engine.begin() as conn:
        load_bases(
            conn,
            run,
            [
                StockBase(warehouse, sku, base, counted_at)
                for (warehouse, sku), base in units.items()
            ],
        )


def order(*lines: tuple[str, int], warehouse: str = "FW01", store: str = STORE) -> OrderRequest:
    """An order of (sku, quantity) lines, all from ``warehouse``."""
    return OrderRequest(
        store_id=store,
        lines=tuple(LineRequest(sku, quantity, warehouse, DELIVER_BY) for sku, quantity in lines),
        reference="bay 3",
    )


def store_key(engine: Engine, store: str = STORE) -> KeyIdentity:
    """A store key's identity (its token is not needed where this is used)."""
    with engine.begin() as conn:
        return create_key(conn, "store", store_id=store).key.identity


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)
