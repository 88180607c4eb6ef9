"""The operational store: live state the API and the planners change all day.

Part orders and their stock reservations, returns, the planners' transfer and
purchase order decisions with their history, API keys (hashed), idempotency
records and the audit log.

Why a package of its own and not part of ``warehouse/``:

* **Another engine.** ``warehouse.duckdb`` is DuckDB, built for the nightly's
  scans and allowing one writing process. This store is SQLite in WAL mode by
  default (many processes, one writer at a time, short transactions) or
  PostgreSQL for several nodes, through SQLAlchemy Core and Alembic.
* **Other writers.** The API's workers, the CLI's planner commands and the
  nightly's publish step write here concurrently, all day, in transactions of
  milliseconds; the nightly alone writes ``warehouse.duckdb``, for minutes.
* **The API must never open warehouse.duckdb** (API.md): it imports this
  package, so this package imports nothing of ``warehouse/`` (an
  import-linter contract checks it), and the two cannot be mixed up by a
  stray import.

Modules: :mod:`ops.schema` (tables), :mod:`ops.engine` (connect, migrate),
:mod:`ops.keys`, :mod:`ops.idempotency`, :mod:`ops.reservations`,
:mod:`ops.orders`, :mod:`ops.order_status`, :mod:`ops.order_lists`,
:mod:`ops.returns`, :mod:`ops.audit`.
"""

from ops.engine import DEFAULT_URL, make_async_engine, make_engine, reading, upgrade
from ops.idempotency import (
    IdempotencyKeyReusedError,
    IdempotentRequest,
    Outcome,
    StoredResponse,
    run_once,
    run_once_in,
)
from ops.keys import (
    ApiKey,
    KeyIdentity,
    NewKey,
    UnknownKeyError,
    create_key,
    list_keys,
    revoke_key,
    verify,
)
from ops.order_lists import OrderPage, OrderPosition, confirmed_since, list_orders
from ops.order_status import (
    OrderStatusError,
    OrderTimeError,
    advance_order,
    cancel_order,
)
from ops.orders import (
    LineRequest,
    OrderNotFoundError,
    OrderRequest,
    OutOfStockError,
    PartOrder,
    get_order,
    order_json,
    place_order,
)
from ops.reservations import (
    NoStockLoadedError,
    Short,
    StockBase,
    active_load,
    active_run,
    free_stock,
    load_bases,
)
from ops.returns import (
    RETURN_WINDOW,
    PartReturn,
    ReturnRefusedError,
    ReturnRequest,
    order_returns,
    place_return,
    return_json,
)

__all__ = [
    "DEFAULT_URL",
    "RETURN_WINDOW",
    "ApiKey",
    "IdempotencyKeyReusedError",
    "IdempotentRequest",
    "KeyIdentity",
    "LineRequest",
    "NewKey",
    "NoStockLoadedError",
    "OrderNotFoundError",
    "OrderPage",
    "OrderPosition",
    "OrderRequest",
    "OrderStatusError",
    "OrderTimeError",
    "OutOfStockError",
    "Outcome",
    "PartOrder",
    "PartReturn",
    "ReturnRefusedError",
    "ReturnRequest",
    "Short",
    "StockBase",
    "StoredResponse",
    "UnknownKeyError",
    "active_load",
    "active_run",
    "advance_order",
    "cancel_order",
    "confirmed_since",
    "create_key",
    "free_stock",
    "get_order",
    "list_keys",
    "list_orders",
    "load_bases",
    "make_async_engine",
    "make_engine",
    "order_json",
    "order_returns",
    "place_order",
    "place_return",
    "reading",
    "return_json",
    "revoke_key",
    "run_once",
    "run_once_in",
    "upgrade",
    "verify",
]
