"""Exceptions: the ranked inbox, each item's reason and detail, acknowledge or snooze.

Items come from :func:`dashboard.inbox.build_items` over the published
snapshot; decisions are :func:`ops.exceptions.decide` (recorded with an audit
entry). An acknowledged item, or a snoozed one until its snooze ends, is
left out until its figures change (a new item id).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import dash
import dash_ag_grid as dag
import polars as pl
from dash import Input, Output, State, dcc, html

from dashboard import context, inbox
from dashboard.components import csv_download, no_plan, page_title
from dashboard.filters import filter_bar
from ops import exceptions as decisions
from ops import reading
from warehouse import published

dash.register_page(
    __name__, path="/exceptions", name="Exceptions", order=1, title="Exceptions · partsflow"
)

#: Items sent to the browser at most (the most urgent first); filters narrow the rest.
SHOWN = 500

_COLUMNS = [
    {"field": "severity", "headerName": "Severity", "width": 105, "filter": True,
     "cellClassRules": {f"pf-cell-{s}": f"params.value == '{s}'" for s in inbox.SEVERITIES}},
    {"field": "kind", "headerName": "Kind", "width": 170, "filter": True},
    {"field": "warehouse_id", "headerName": "Warehouse", "width": 110, "filter": True},
    {"field": "subject", "headerName": "Item", "width": 130, "filter": True},
    # One line a row, the whole reason on hover and in the detail: rows of measured
    # height (autoHeight) cost the browser ~0.3 s more on a page of the inbox.
    {"field": "reason", "headerName": "Why", "flex": 1, "minWidth": 360, "filter": True,
     "tooltipField": "reason"},
    {"field": "open", "headerName": "", "width": 90, "cellRenderer": "markdown",
     "linkTarget": "_self"},
]  # fmt: skip


_SNOOZE_DAYS = [{"label": f"{d} day{'s' * (d > 1)}", "value": d} for d in (1, 3, 7, 14)]


def layout(warehouse_id: str | None = None, category: str | None = None, **_: str) -> html.Div:
    """The page: filters, the inbox, its actions and the detail of the clicked item."""
    try:
        with context.snapshot() as con:
            bar = filter_bar(
                "ex",
                con,
                warehouse_id=warehouse_id,
                category=category,
                extra=[
                    html.Div(
                        [
                            html.Label("Severity", htmlFor="ex-severity"),
                            dcc.Dropdown(
                                id="ex-severity",
                                options=[{"label": s, "value": s} for s in inbox.SEVERITIES],
                                placeholder="Any severity",
                            ),
                        ],
                        className="pf-filter",
                    )
                ],
            )
    except published.SnapshotError as error:
        return html.Div([page_title("Exceptions"), no_plan(error)])
    return html.Div(
        [
            page_title(
                "Exceptions",
                "What needs a planner today, most urgent first. Acknowledge an item you have "
                "dealt with, or snooze it; it comes back when its figures change.",
            ),
            bar,
            html.Div(
                [
                    html.Button("Acknowledge", id="ex-ack", className="pf-button", n_clicks=0),
                    dcc.Dropdown(
                        id="ex-snooze-days",
                        options=_SNOOZE_DAYS,
                        value=1,
                        clearable=False,
                        style={"width": "110px"},
                    ),
                    html.Button(
                        "Snooze", id="ex-snooze", className="pf-button pf-button-quiet", n_clicks=0
                    ),
                    dcc.Input(
                        id="ex-reason",
                        placeholder="Reason (optional)",
                        maxLength=decisions.MAX_REASON,
                        style={"width": "280px"},
                    ),
                    html.Span(id="ex-status", className="pf-status", role="status"),
                    html.Span(style={"flex": 1}),
                    csv_download("ex-grid", filename="exceptions.csv"),
                ],
                className="pf-toolbar",
            ),
            html.Div(id="ex-count", className="pf-status"),
            dag.AgGrid(
                id="ex-grid",
                columnDefs=_COLUMNS,
                rowData=[],
                getRowId="params.data.item_id",
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={
                    "rowSelection": {"mode": "multiRow", "enableClickSelection": False},
                    "pagination": True,
                    "paginationPageSize": 50,
                    "animateRows": False,
                },
                className="ag-theme-alpine",
                style={"height": "560px"},
            ),
            html.Div(id="ex-detail", style={"marginTop": "1rem"}),
            dcc.Store(id="ex-refresh", data=0),
        ]
    )


#: Items built per (night, warehouse, category), the last few: the night's figures do not
#: change, only the decisions do, and those are read fresh on every request.
_built: OrderedDict[tuple[str, str | None, str | None], pl.DataFrame] = OrderedDict()
_built_lock = threading.Lock()


def _items(warehouse_id: str | None, category: str | None) -> pl.DataFrame:
    """Every item for the filter, less those a decision hides now."""
    live = context.live()
    key = (live.data.run_id if live else "", warehouse_id, category)
    with _built_lock:
        items = _built.get(key)
    if items is None or not key[0]:
        items = _build(warehouse_id, category)
        with _built_lock:
            _built[key] = items
            while len(_built) > 16:
                _built.popitem(last=False)
    with reading(context.state().engine) as conn:
        hidden = decisions.hidden(conn, items["item_id"].to_list())
    return inbox.without(items, hidden)


def _build(warehouse_id: str | None, category: str | None) -> pl.DataFrame:
    with context.snapshot() as con:
        lines = published.attention_lines(con, warehouse_id=warehouse_id, category=category)
        accuracy = pl.concat(
            [
                published.forecast_accuracy(con, "warehouse", limit=10_000).rows,
                published.forecast_accuracy(con, "category", limit=10_000).rows,
            ]
        )
        coverage = published.store_coverage(con, warehouse_id=warehouse_id, flagged_only=True)
        runs = published.run_history(con)
    if warehouse_id:
        accuracy = accuracy.filter(
            (pl.col("scope") == "warehouse") & (pl.col("key") == warehouse_id)
        )
    if category:
        accuracy = accuracy.filter((pl.col("scope") == "category") & (pl.col("key") == category))
    if warehouse_id or category:
        runs = runs.clear()  # a failed run is everyone's, shown unfiltered only
    return inbox.build_items(lines, accuracy, coverage, runs, root=dash.get_relative_path("/"))


@dash.callback(
    Output("ex-grid", "rowData"),
    Output("ex-count", "children"),
    Input("ex-warehouse", "value"),
    Input("ex-category", "value"),
    Input("ex-severity", "value"),
    Input("ex-refresh", "data"),
)
def _show(
    warehouse_id: str | None, category: str | None, severity: str | None, _refresh: int
) -> tuple[list[dict[str, Any]], str]:
    try:
        items = _items(warehouse_id, category)
    except published.SnapshotError as error:
        return [], str(error)
    if severity:
        items = items.filter(pl.col("severity") == severity)
    counts = items["severity"].value_counts()
    by = {row["severity"]: row["count"] for row in counts.iter_rows(named=True)}
    summary = ", ".join(f"{by.get(s, 0):,} {s}" for s in inbox.SEVERITIES)
    shown = items.head(SHOWN)
    note = f"{items.height:,} open items ({summary})"
    if items.height > SHOWN:
        note += f"; the {SHOWN} most urgent are listed, filter to see the others"
    rows = shown.with_columns(open=pl.format("[Open]({})", "link")).to_dicts()
    return rows, note


@dash.callback(
    Output("ex-status", "children"),
    Output("ex-refresh", "data"),
    Input("ex-ack", "n_clicks"),
    Input("ex-snooze", "n_clicks"),
    State("ex-grid", "selectedRows"),
    State("ex-snooze-days", "value"),
    State("ex-reason", "value"),
    State("ex-refresh", "data"),
    prevent_initial_call=True,
)
def _decide(
    _ack: int,
    _snooze: int,
    selected: list[dict[str, Any]] | None,
    days: int | None,
    reason: str | None,
    refresh: int,
) -> tuple[str, int]:
    if not selected:
        return "Select one or more items first (the boxes on the left).", refresh
    snooze = dash.ctx.triggered_id == "ex-snooze"
    now = datetime.now(UTC)
    until = now + timedelta(days=days or 1) if snooze else None
    who = context.planner()
    try:
        with context.state().engine.begin() as conn:
            for row in selected:
                decisions.decide(
                    conn,
                    row["item_id"],
                    "snooze" if snooze else "acknowledge",
                    who=who.name,
                    until=until,
                    reason=reason,
                    now=now,
                )
    except decisions.ExceptionDecisionError as error:
        return str(error), refresh
    done = f"Snoozed until {until:%d %b %H:%M} UTC" if until else "Acknowledged"
    return f"{done}: {len(selected)} item{'s' * (len(selected) > 1)}.", refresh + 1


@dash.callback(
    Output("ex-detail", "children"),
    Input("ex-grid", "cellClicked"),
    State("ex-grid", "rowData"),
    prevent_initial_call=True,
)
def _detail(clicked: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> Any:
    if not clicked or not rows:
        raise dash.exceptions.PreventUpdate
    item = next((r for r in rows if r["item_id"] == clicked.get("rowId")), None)
    if item is None:
        raise dash.exceptions.PreventUpdate
    parts: list[Any] = [
        html.H2(f"{item['kind']} · {item['subject']}"),
        html.P(item["reason"], id="ex-detail-reason"),
    ]
    if item["item_id"].split(":")[0] in ("stock_out", "cut", "dead", "ageing"):
        with context.snapshot() as con:
            line = published.plan_line(con, item["warehouse_id"], item["subject"])
        if not line.is_empty():
            parts.append(html.P(["The plan says: ", html.Em(line["reason"][0])]))
    with reading(context.state().engine) as conn:
        history = decisions.history(conn, item["item_id"])
    if history:
        parts.append(
            html.Ul(
                [
                    html.Li(
                        f"{d.at:%d %b %H:%M} {d.who}: {d.action}"
                        + (f" until {d.until:%d %b %H:%M}" if d.until else "")
                        + (f" ({d.reason})" if d.reason else "")
                    )
                    for d in history
                ]
            )
        )
    parts.append(dcc.Link("Open the detail →", href=item["link"], className="pf-button"))
    return html.Div(parts, className="pf-section")
