"""The read side of the published plan: every reader of the snapshot goes through here.

The HTTP API and the planners' dashboard never open the working database
(DESIGN.md): they open the published snapshot with :func:`open_snapshot` and
call these functions on it. Each takes the open, read-only connection and
returns polars frames with a schema named beside the function (tests check
it) or small frozen dataclasses. Long lists are keyset-paged
(:class:`Page`: pass ``next_after`` back as ``after``).

What the snapshot holds is listed in :mod:`warehouse.published.build`;
:func:`warehouse.plan.publish_snapshot` builds it.
"""

from warehouse.published._sql import Page
from warehouse.published.attention import AGEING_DAYS, ATTENTION_LINES, attention_lines
from warehouse.published.availability import (
    ARRIVALS,
    LATEST_STOCK,
    SERVING_WAREHOUSES,
    latest_stock,
    released_arrivals,
    serving_warehouses,
)
from warehouse.published.exceptions import EXCEPTION_KINDS, EXCEPTIONS, plan_exceptions
from warehouse.published.fitment import (
    FITTING_PARTS,
    MAINTENANCE_SCHEDULE,
    VEHICLE_MODELS,
    fitting_parts,
    maintenance_schedule,
    vehicle_models,
)
from warehouse.published.forecasts import FORECAST_ROWS, forecasts
from warehouse.published.history import (
    ACCURACY_HISTORY,
    HISTORY_NIGHTS,
    KPI_HISTORY,
    PLAN_KPIS,
    RUN_HISTORY,
    accuracy_history,
    plan_kpis,
    run_history,
)
from warehouse.published.latest import LATEST_NAME, LatestRun, latest_run, record_latest_run
from warehouse.published.master import SKUS, STORES, WAREHOUSES, skus, stores, warehouses
from warehouse.published.network import (
    ACCURACY_ROWS,
    ALLOCATIONS,
    DISPATCH_DELIVERY_TIMES,
    DISPATCH_KPIS,
    POLICY_REPLAYS,
    ROUTES,
    STORE_COVERAGE,
    allocations,
    dispatch_delivery_times,
    dispatch_kpis,
    forecast_accuracy,
    policy_replays,
    routes,
    store_coverage,
)
from warehouse.published.plan_lines import PLAN_LINES, PlanFilter, plan_line, plan_lines
from warehouse.published.purchases import (
    PURCHASE_ORDER_LINES,
    PURCHASE_ORDER_LIST,
    PURCHASE_PLAN_LINES,
    PurchaseOrder,
    purchase_order,
    purchase_orders,
    purchase_plan,
)
from warehouse.published.series import (
    SERIES_FORECAST,
    SERIES_HISTORY,
    SERIES_STOCK_COUNTS,
    SERIES_TRANSFERS,
    Series,
    series,
)
from warehouse.published.snapshot import (
    SNAPSHOT_FORMAT,
    SNAPSHOT_NAME,
    NoPublishedPlanError,
    PublishedRun,
    SnapshotError,
    open_snapshot,
    published_run,
)
from warehouse.published.transfers import (
    TRANSFER_ORDER_HISTORY,
    TRANSFER_ORDER_LINES,
    TRANSFER_ORDER_LIST,
    TransferOrder,
    transfer_order,
    transfer_orders,
)

__all__ = [
    "ACCURACY_HISTORY",
    "ACCURACY_ROWS",
    "AGEING_DAYS",
    "ALLOCATIONS",
    "ARRIVALS",
    "ATTENTION_LINES",
    "DISPATCH_DELIVERY_TIMES",
    "DISPATCH_KPIS",
    "EXCEPTIONS",
    "EXCEPTION_KINDS",
    "FITTING_PARTS",
    "FORECAST_ROWS",
    "HISTORY_NIGHTS",
    "KPI_HISTORY",
    "LATEST_NAME",
    "LATEST_STOCK",
    "MAINTENANCE_SCHEDULE",
    "PLAN_KPIS",
    "PLAN_LINES",
    "POLICY_REPLAYS",
    "PURCHASE_ORDER_LINES",
    "PURCHASE_ORDER_LIST",
    "PURCHASE_PLAN_LINES",
    "ROUTES",
    "RUN_HISTORY",
    "SERIES_FORECAST",
    "SERIES_HISTORY",
    "SERIES_STOCK_COUNTS",
    "SERIES_TRANSFERS",
    "SERVING_WAREHOUSES",
    "SKUS",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_NAME",
    "STORES",
    "STORE_COVERAGE",
    "TRANSFER_ORDER_HISTORY",
    "TRANSFER_ORDER_LINES",
    "TRANSFER_ORDER_LIST",
    "VEHICLE_MODELS",
    "WAREHOUSES",
    "LatestRun",
    "NoPublishedPlanError",
    "Page",
    "PlanFilter",
    "PublishedRun",
    "PurchaseOrder",
    "Series",
    "SnapshotError",
    "TransferOrder",
    "accuracy_history",
    "allocations",
    "attention_lines",
    "dispatch_delivery_times",
    "dispatch_kpis",
    "fitting_parts",
    "forecast_accuracy",
    "forecasts",
    "latest_run",
    "latest_stock",
    "maintenance_schedule",
    "open_snapshot",
    "plan_exceptions",
    "plan_kpis",
    "plan_line",
    "plan_lines",
    "policy_replays",
    "published_run",
    "purchase_order",
    "purchase_orders",
    "purchase_plan",
    "record_latest_run",
    "released_arrivals",
    "routes",
    "run_history",
    "series",
    "serving_warehouses",
    "skus",
    "store_coverage",
    "stores",
    "transfer_order",
    "transfer_orders",
    "vehicle_models",
    "warehouses",
]
