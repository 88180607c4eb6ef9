"""A worker process for the SQLite race (spawned, so it imports this module by name)."""

from __future__ import annotations

from ops.engine import make_engine
from ops.orders import OutOfStockError, place_order
from tests.ops._store import order


def order_units(url: str, attempts: int) -> int:
    """Try to order one unit of A ``attempts`` times; return how many were confirmed."""
    engine = make_engine(url)
    confirmed = 0
    for _ in range(attempts):
        try:
            with engine.begin() as conn:
                place_order(conn, order(("A", 1)), by="race")
            confirmed += 1
        except OutOfStockError:
            pass
    engine.dispose()
    return confirmed
