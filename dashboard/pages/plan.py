"""Plan review: tonight's transfer and purchase orders, corrected with a reason and released.

Both grids are paged on the server (AG Grid's infinite row model): the orders
grid asks for blocks of orders, keyset-paged by id as ``GET /v1/transfer-
orders`` pages them (the browser keeps the cursor of each block it has seen);
the lines grid asks for blocks of the chosen order's lines, filtered and
sorted on the server. Every figure and step goes through
:mod:`dashboard.plan_service`, i.e. the planner endpoints' own functions.
"""

from __future__ import annotations

from typing import Any, cast

import dash
import dash_ag_grid as dag
import polars as pl
from dash import Input, Output, State, dcc, html

from api.problems import ApiError
from dashboard import context
from dashboard import plan_service as service
from dashboard.app import PREFIX
from dashboard.components import (
    CsvRequest,
    csv_download,
    csv_params_id,
    filter_frame,
    no_plan,
    page_title,
    register_csv_source,
)
from warehouse import published

dash.register_page(__name__, path="/plan", name="Plan review", order=2)

_STATUSES = ("proposed", "approved", "overridden", "released", "cancelled")
_KINDS = {"transfer": "Transfer orders (DC ↔ forward warehouses)", "purchase": "Purchase orders"}

_UNITS = {"function": "params.value == null ? '' : d3.format(',')(params.value)"}
_YUAN = {"function": "params.value == null ? '' : '¥' + d3.format(',.0f')(params.value)"}
_YUAN_CENTS = {"function": "params.value == null ? '' : '¥' + d3.format(',.2f')(params.value)"}
# Transfer ids read "<run>/<from>><to>/<day>"; the grid shows "DC01 → FW001".
_ROUTE = {
    "function": "params.value == null ? '' : "
    "params.value.split('/').slice(-2, -1)[0].replace('>', ' → ')"
}


def _num(field: str, header: str, width: int = 110, **extra: Any) -> dict[str, Any]:
    return {
        "field": field,
        "headerName": header,
        "width": width,
        "type": "rightAligned",
        "valueFormatter": _UNITS,
        **extra,
    }


def _filtered(column: dict[str, Any]) -> dict[str, Any]:
    """A lines-grid column the server filters and sorts (``filter_frame``)."""
    number = column.get("type") == "rightAligned"
    return {
        "filter": "agNumberColumnFilter" if number else "agTextColumnFilter",
        "sortable": True,
        **column,
    }


def _order_columns(kind: str) -> list[dict[str, Any]]:
    first: list[dict[str, Any]]
    if kind == "transfer":
        first = [
            {"field": "transfer_id", "headerName": "Order", "width": 170, "valueFormatter": _ROUTE},
            {"field": "status", "headerName": "Status", "width": 115},
            {"field": "needed_by", "headerName": "Needed by", "width": 115},
            _num("lines", "Lines", 90),
            _num("proposed_units", "Proposed (units)", 140),
            _num("allocated_units", "Allocated (units)", 140),
            _num("units", "To ship (units)", 130),
        ]
    else:
        first = [
            {"field": "supplier_id", "headerName": "Supplier", "width": 120},
            {"field": "dc_id", "headerName": "DC", "width": 80},
            {"field": "status", "headerName": "Status", "width": 115},
            {"field": "expected_on", "headerName": "Expected on", "width": 120},
            _num("lines", "Lines", 90),
            _num("proposed_units", "Proposed (units)", 140),
            _num("units", "To order (units)", 130),
            {**_num("value", "Value (CNY)", 140), "valueFormatter": _YUAN},
        ]
    return [
        *first,
        {"field": "status_reason", "headerName": "Last reason", "flex": 1, "minWidth": 160},
        {"field": "run_id", "headerName": "Night", "width": 250},
    ]


def _line_columns(kind: str) -> list[dict[str, Any]]:
    quantity = {
        **_num("quantity", "Quantity (units) ✎", 140),
        "editable": True,
        "cellEditor": "agNumberCellEditor",
        "cellEditorParams": {"min": 0, "precision": 0},
        "cellStyle": {"backgroundColor": "#eef4ff", "fontWeight": "600"},
    }
    sku = {
        "field": "sku_link",
        "headerName": "SKU",
        "width": 110,
        "cellRenderer": "markdown",
        "filter": "agTextColumnFilter",
        "headerTooltip": "Opens the SKU × warehouse drill-down",
    }
    if kind == "transfer":
        columns = [
            _num("line_no", "#", 70),
            sku,
            {"field": "action", "headerName": "Action", "width": 110},
            _num("inventory_position", "Position (units)", 135),
            _num("order_up_to", "S (units)", 100),
            _num("proposed_quantity", "Proposed", 115),
            _num("allocated_quantity", "Allocated", 115),
            quantity,
            {"field": "cut_by", "headerName": "Cut by", "width": 100},
            {"field": "reason", "headerName": "Why (the plan)", "flex": 1, "minWidth": 280},
            {"field": "decision", "headerName": "Allocation", "width": 200},
        ]
        return [_filtered(c) for c in columns]
    columns = [
        _num("line_no", "#", 70),
        sku,
        _num("proposed_quantity", "Proposed", 115),
        quantity,
        {**_num("unit_cost", "Unit cost", 110), "valueFormatter": _YUAN_CENTS},
        {**_num("value", "Value (CNY)", 130), "valueFormatter": _YUAN},
        {"field": "reason", "headerName": "Why (the plan)", "flex": 1, "minWidth": 280},
    ]
    return [_filtered(c) for c in columns]


def _infinite_grid(
    ident: str, columns: list[dict[str, Any]], grid: dict[str, Any], **options: Any
) -> dag.AgGrid:
    return dag.AgGrid(
        id=ident,
        rowModelType="infinite",
        columnDefs=columns,
        defaultColDef={
            "resizable": True,
            "sortable": False,
            "filter": False,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        dashGridOptions={
            "cacheBlockSize": service.BLOCK,
            "maxBlocksInCache": 50,
            "maxConcurrentDatasourceRequests": 1,
            "infiniteInitialRowCount": 1,
            "rowBuffer": 10,
            "tooltipShowDelay": 300,
            **options,
        },
        style={"height": "380px"},
        **grid,
    )


def layout(**query: str) -> html.Div:
    """The page: filters, the orders, the chosen order's lines and its audit trail."""
    try:
        with context.snapshot() as con:
            warehouses = published.warehouses(con)
            night = published.published_run(con)
    except published.SnapshotError as error:
        return html.Div([page_title("Plan review"), no_plan(error)])
    kind = query.get("kind") or "transfer"
    kind = kind if kind in _KINDS else "transfer"
    tonight = query.get("run_id", night.run_id) or None
    options = [
        {"label": f"{row['warehouse_id']} · {row['name']}", "value": row["warehouse_id"]}
        for row in warehouses.iter_rows(named=True)
    ]
    return html.Div(
        [
            page_title(
                "Plan review",
                "Tonight's orders as the nightly proposed them, with their live status. Tick "
                "orders to approve, release or cancel them; double-click a line's quantity to "
                "change it (a reason is required). Every step is checked and audited as "
                "through the API.",
            ),
            html.Div(
                [
                    _filter(
                        "Orders",
                        dcc.RadioItems(
                            id="plan-kind",
                            options=[{"label": v, "value": k} for k, v in _KINDS.items()],
                            value=kind,
                            inline=True,
                            inputStyle={"marginRight": ".3rem", "marginLeft": ".8rem"},
                        ),
                    ),
                    _filter(
                        "Night",
                        dcc.Dropdown(
                            id="plan-night",
                            options=[
                                {
                                    "label": f"tonight's ({night.as_of:%Y-%m-%d})",
                                    "value": night.run_id,
                                }
                            ],
                            # Tonight's orders unless asked: a month of nights lists
                            # thousands of released and superseded ones before them.
                            value=tonight,
                            placeholder="All nights",
                        ),
                    ),
                    _filter(
                        "Warehouse",
                        dcc.Dropdown(
                            id="plan-warehouse",
                            options=options,
                            value=query.get("warehouse_id"),
                            placeholder="All warehouses",
                        ),
                    ),
                    _filter(
                        "Status",
                        dcc.Dropdown(
                            id="plan-status",
                            options=[{"label": s, "value": s} for s in _STATUSES],
                            value=query.get("status"),
                            placeholder="Any status",
                        ),
                    ),
                ],
                className="pf-filters",
            ),
            html.Section(
                [
                    html.H2("Orders"),
                    html.Div(
                        [
                            dcc.Input(
                                id="plan-reason",
                                placeholder="Reason (required to override or cancel)",
                                debounce=False,
                                style={"width": "420px"},
                            ),
                            html.Button("Approve", id="plan-approve", className="pf-button"),
                            html.Button("Release", id="plan-release", className="pf-button"),
                            html.Button(
                                "Cancel", id="plan-cancel", className="pf-button pf-button-quiet"
                            ),
                            csv_download(
                                "plan-orders",
                                source="plan-orders",
                                params={
                                    "kind": kind,
                                    "warehouse_id": query.get("warehouse_id"),
                                    "status": query.get("status"),
                                    "run_id": tonight,
                                },
                            ),
                        ],
                        className="pf-toolbar",
                    ),
                    html.Div(id="plan-outcome", role="status"),
                    _infinite_grid(
                        "plan-orders",
                        _order_columns(kind),
                        {"getRowId": "params.data.transfer_id || params.data.po_id"},
                        rowSelection={"mode": "multiRow", "headerCheckbox": False},
                    ),
                ],
                className="pf-section",
            ),
            html.Section(
                [
                    html.H2("Lines", id="plan-lines-title"),
                    html.P(
                        "Click an order above to see its lines. S is the order-up-to level; "
                        "position = on hand + in transit − reserved.",
                        className="pf-status",
                    ),
                    html.Div(
                        csv_download("plan-lines", source="plan-lines", params={"kind": kind}),
                        className="pf-toolbar",
                    ),
                    _infinite_grid("plan-lines", _line_columns(kind), {}),
                ],
                className="pf-section",
            ),
            html.Section(
                [
                    html.H2("Audit trail"),
                    dag.AgGrid(
                        id="plan-audit",
                        columnDefs=[
                            {"field": "at", "headerName": "When (Shanghai)", "width": 150},
                            {"field": "who", "headerName": "Who", "width": 150},
                            {"field": "action", "headerName": "What", "width": 100},
                            {"field": "before", "headerName": "Before", "flex": 1},
                            {"field": "after", "headerName": "After", "flex": 1},
                            {"field": "why", "headerName": "Why", "flex": 1},
                        ],
                        rowData=[],
                        defaultColDef={"resizable": True, "wrapText": True, "autoHeight": True},
                        dashGridOptions={"domLayout": "autoHeight"},
                    ),
                ],
                className="pf-section",
            ),
            dcc.Store(id="plan-cursors", data={}),
            dcc.Store(id="plan-current", data=None),
            dcc.Store(id="plan-version", data=0),
            dcc.Store(id="plan-sink-orders"),
            dcc.Store(id="plan-sink-lines"),
        ]
    )


def _filter(label: str, control: Any) -> html.Div:
    return html.Div([html.Label(label), control], className="pf-filter")


def _reviewer() -> service.Reviewer:
    state = context.state()
    view = context.live()
    if view is None:
        raise dash.exceptions.PreventUpdate
    return service.Reviewer(context.planner(), state.engine, view)


# ---- the orders grid -----------------------------------------------------------------------


@dash.callback(
    Output("plan-orders", "getRowsResponse"),
    Output("plan-cursors", "data"),
    Input("plan-orders", "getRowsRequest"),
    State("plan-kind", "value"),
    State("plan-warehouse", "value"),
    State("plan-status", "value"),
    State("plan-night", "value"),
    State("plan-cursors", "data"),
    prevent_initial_call=True,
)
def _orders_block(
    request: dict[str, Any] | None,
    kind: service.Kind,
    warehouse_id: str | None,
    status: str | None,
    run_id: str | None,
    cursors: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    if not request:
        raise dash.exceptions.PreventUpdate
    key = [kind, warehouse_id, status, run_id]
    known = (cursors or {}).get("at", {}) if (cursors or {}).get("key") == key else {}
    start, end = int(request.get("startRow", 0)), int(request.get("endRow", service.BLOCK))
    rows, count, found = service.rows_block(
        _reviewer(),
        kind,
        range(start, end),
        known,
        service.OrderFilter(warehouse_id, status, run_id),
    )
    response: dict[str, Any] = {"rowData": rows}
    if count is not None:
        response["rowCount"] = count
    return response, {"key": key, "at": found}


# A new filter, kind or step: the grids ask for their blocks again (kept rows stay until then).
dash.clientside_callback(
    """
    function(kind, warehouse, status, night, version) {
        const trigger = (dash_clientside.callback_context.triggered[0] || {}).prop_id || '';
        for (const id of ['plan-orders', 'plan-lines']) {
            let api = null;
            try { api = dash_ag_grid.getApi(id); } catch (e) { continue; }
            if (trigger.startsWith('plan-version')) { api.refreshInfiniteCache(); }
            else if (id === 'plan-orders') { api.deselectAll(); api.purgeInfiniteCache(); }
        }
        return dash_clientside.no_update;
    }
    """,
    Output("plan-sink-orders", "data"),
    Input("plan-kind", "value"),
    Input("plan-warehouse", "value"),
    Input("plan-status", "value"),
    Input("plan-night", "value"),
    Input("plan-version", "data"),
    prevent_initial_call=True,
)


@dash.callback(
    Output("plan-orders", "columnDefs"),
    Output("plan-lines", "columnDefs"),
    Output("plan-current", "data", allow_duplicate=True),
    Output(csv_params_id("plan-orders"), "data"),
    Input("plan-kind", "value"),
    Input("plan-warehouse", "value"),
    Input("plan-status", "value"),
    Input("plan-night", "value"),
    prevent_initial_call=True,
)
def _filters_changed(
    kind: str, warehouse_id: str | None, status: str | None, run_id: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], None, dict[str, Any]]:
    params = {"kind": kind, "warehouse_id": warehouse_id, "status": status, "run_id": run_id}
    return _order_columns(kind), _line_columns(kind), None, params


@dash.callback(
    Output("plan-current", "data"),
    Input("plan-orders", "cellClicked"),
    State("plan-current", "data"),
    prevent_initial_call=True,
)
def _order_clicked(cell: dict[str, Any] | None, current: str | None) -> str:
    order_id = (cell or {}).get("rowId")
    if not order_id or order_id == current:
        raise dash.exceptions.PreventUpdate
    return str(order_id)


# ---- the steps -----------------------------------------------------------------------------


@dash.callback(
    Output("plan-outcome", "children"),
    Output("plan-version", "data"),
    Output("plan-reason", "value"),
    Input("plan-approve", "n_clicks"),
    Input("plan-release", "n_clicks"),
    Input("plan-cancel", "n_clicks"),
    State("plan-orders", "selectedRows"),
    State("plan-current", "data"),
    State("plan-reason", "value"),
    State("plan-kind", "value"),
    State("plan-version", "data"),
    prevent_initial_call=True,
)
def _step(
    _approve: int | None,
    _release: int | None,
    _cancel: int | None,
    selected: list[dict[str, Any]] | None,
    current: str | None,
    reason: str | None,
    kind: service.Kind,
    version: int | None,
) -> tuple[html.Div, int, Any]:
    action = cast(service.Step, str(dash.ctx.triggered_id).removeprefix("plan-"))
    key = service.KEYS[kind]
    ids = [str(row[key]) for row in selected or [] if row and row.get(key)]
    if not ids and current:
        ids = [current]
    if not ids:
        return _outcomes([], f"Tick the orders to {action} first."), version or 0, dash.no_update
    with context.snapshot() as snap:
        outcomes = service.step(_reviewer(), snap, kind, action, ids, reason)
    return _outcomes(outcomes), (version or 0) + 1, _spent(outcomes)


@dash.callback(
    Output("plan-outcome", "children", allow_duplicate=True),
    Output("plan-version", "data", allow_duplicate=True),
    Output("plan-reason", "value", allow_duplicate=True),
    Input("plan-lines", "cellValueChanged"),
    State("plan-current", "data"),
    State("plan-reason", "value"),
    State("plan-kind", "value"),
    State("plan-version", "data"),
    prevent_initial_call=True,
)
def _override(
    changes: list[dict[str, Any]] | dict[str, Any] | None,
    current: str | None,
    reason: str | None,
    kind: service.Kind,
    version: int | None,
) -> tuple[html.Div, int, Any]:
    change = (changes[-1] if changes else None) if isinstance(changes, list) else changes
    if not change or not current or change.get("colId") != "quantity":
        raise dash.exceptions.PreventUpdate
    sku = str((change.get("data") or {}).get("sku", ""))
    with context.snapshot() as snap:
        outcome = service.override(
            _reviewer(), snap, kind, current, sku, change.get("value"), reason
        )
    # A refusal reloads the line as stored, so the grid never shows what was not saved.
    return _outcomes([outcome]), (version or 0) + 1, _spent([outcome])


def _spent(outcomes: list[service.Outcome]) -> Any:
    """The reason box emptied once a step used its reason: the next decision needs its own."""
    return "" if any(o.ok for o in outcomes) else dash.no_update


def _outcomes(outcomes: list[service.Outcome], note: str | None = None) -> html.Div:
    items = [
        html.Li(
            ("✓ " if o.ok else "✗ refused: ") + o.message,
            className="pf-ok" if o.ok else "pf-refused",
            style={"color": "var(--pf-good)" if o.ok else "var(--pf-bad)"},
        )
        for o in outcomes
    ]
    if note:
        items.append(html.Li(note, className="pf-status"))
    return html.Div(html.Ul(items, style={"margin": ".3rem 0 .6rem"}), id="plan-outcome-list")


# ---- the chosen order: lines and audit trail -----------------------------------------------


@dash.callback(
    Output("plan-lines", "getRowsResponse"),
    Input("plan-lines", "getRowsRequest"),
    State("plan-current", "data"),
    State("plan-kind", "value"),
    prevent_initial_call=True,
)
def _lines_block(
    request: dict[str, Any] | None, current: str | None, kind: service.Kind
) -> dict[str, Any]:
    if not request:
        raise dash.exceptions.PreventUpdate
    if not current:
        return {"rowData": [], "rowCount": 0}
    lines = _with_links(_lines(kind, current))
    chosen = filter_frame(lines, request.get("filterModel"), request.get("sortModel") or [])
    start, end = int(request.get("startRow", 0)), int(request.get("endRow", service.BLOCK))
    return {"rowData": chosen.slice(start, end - start).to_dicts(), "rowCount": chosen.height}


def _with_links(lines: pl.DataFrame) -> pl.DataFrame:
    """Each line's SKU as a markdown link to its drill-down (``sku_link``)."""
    if lines.is_empty():
        return lines
    target = pl.format(
        "[{}]({}sku?warehouse_id={}&sku={})",
        pl.col("sku"),
        pl.lit(PREFIX),
        pl.col("series_warehouse_id"),
        pl.col("sku"),
    )
    return lines.with_columns(sku_link=target)


def _lines(kind: service.Kind, order_id: str) -> pl.DataFrame:
    who = _reviewer()
    with context.snapshot() as snap:
        try:
            body = service.order(who, snap, kind, order_id)
        except ApiError:
            return pl.DataFrame()
    return service.lines_frame(body, kind, who.view.data.forward)


dash.clientside_callback(
    """
    function(current) {
        try { dash_ag_grid.getApi('plan-lines').purgeInfiniteCache(); } catch (e) {}
        return dash_clientside.no_update;
    }
    """,
    Output("plan-sink-lines", "data"),
    Input("plan-current", "data"),
    prevent_initial_call=True,
)


@dash.callback(
    Output("plan-audit", "rowData"),
    Output("plan-lines-title", "children"),
    Output(csv_params_id("plan-lines"), "data"),
    Input("plan-current", "data"),
    Input("plan-version", "data"),
    State("plan-kind", "value"),
)
def _audit(
    current: str | None, _version: int | None, kind: service.Kind
) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    params = {"kind": kind, "order_id": current}
    if not current:
        return [], "Lines", params
    trail = service.audit_trail(context.state().engine, kind, current)
    return trail, f"Lines of {current}", params


# ---- CSV of the whole filtered set ---------------------------------------------------------


def _orders_csv(request: CsvRequest) -> pl.DataFrame:
    params = request.params
    frame = service.all_orders(
        _reviewer(),
        params.get("kind", "transfer"),
        service.OrderFilter(params.get("warehouse_id"), params.get("status"), params.get("run_id")),
    )
    return filter_frame(frame, request.filter_model, request.sort_model)


def _lines_csv(request: CsvRequest) -> pl.DataFrame:
    order_id = request.params.get("order_id")
    if not order_id:
        return pl.DataFrame()
    lines = _lines(request.params.get("kind", "transfer"), str(order_id))
    return filter_frame(lines, request.filter_model, request.sort_model)


register_csv_source("plan-orders", _orders_csv)
register_csv_source("plan-lines", _lines_csv)
