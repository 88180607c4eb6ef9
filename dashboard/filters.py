"""The warehouse and category pickers pages share, filled from the published snapshot."""

from __future__ import annotations

import threading
from typing import Any

from dash import dcc, html

from dashboard.context import Snapshot
from warehouse import published

_cache: dict[str, tuple[list[dict[str, str]], list[dict[str, str]]]] = {}
_lock = threading.Lock()


def choices(con: Snapshot) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The forward warehouses and the SKU categories as dropdown options (kept per night)."""
    run_id = published.published_run(con).run_id
    with _lock:
        if run_id in _cache:
            return _cache[run_id]
    houses = published.warehouses(con, kind="forward")
    warehouses = [
        {"label": f"{row['warehouse_id']} · {row['name']}", "value": row["warehouse_id"]}
        for row in houses.iter_rows(named=True)
    ]
    names = sorted(set(published.skus(con)["category"].drop_nulls().to_list()))
    categories = [{"label": name, "value": name} for name in names]
    with _lock:
        _cache.clear()  # one night at a time
        _cache[run_id] = (warehouses, categories)
    return warehouses, categories


def filter_bar(
    prefix: str,
    con: Snapshot,
    *,
    warehouse_id: str | None = None,
    category: str | None = None,
    with_category: bool = True,
    extra: list[Any] | None = None,
) -> html.Div:
    """Dropdowns ``<prefix>-warehouse`` and ``<prefix>-category`` (empty: all)."""
    warehouses, categories = choices(con)
    known = {option["value"] for option in warehouses}
    parts: list[Any] = [
        html.Div(
            [
                html.Label("Warehouse", htmlFor=f"{prefix}-warehouse"),
                dcc.Dropdown(
                    id=f"{prefix}-warehouse",
                    options=warehouses,
                    value=warehouse_id if warehouse_id in known else None,
                    placeholder="All forward warehouses",
                ),
            ],
            className="pf-filter",
        )
    ]
    if with_category:
        parts.append(
            html.Div(
                [
                    html.Label("Category", htmlFor=f"{prefix}-category"),
                    dcc.Dropdown(
                        id=f"{prefix}-category",
                        options=categories,
                        value=category,
                        placeholder="All categories",
                    ),
                ],
                className="pf-filter",
            )
        )
    return html.Div([*parts, *(extra or [])], className="pf-filters")
