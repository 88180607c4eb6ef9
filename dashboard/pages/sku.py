"""SKU × warehouse drill-down: why the plan proposes what it proposes for one series.

Demand history with the days that started with an empty shelf shaded, the
forecast as a fan chart (the mean and its 50-99 % quantile bands), the stock
counts, the class and model, the backtest accuracy, the inventory position,
S and the plan line's reason, and the transfer-order lines carrying it (live
status). Reached from plan review's SKU links and the exceptions inbox
(``/dashboard/sku?warehouse_id=FW001&sku=K000012``); not in the nav.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html

from dashboard import context
from dashboard import sku_service as service
from dashboard.components import csv_download, kpi_card, money, no_plan, number, page_title
from warehouse import published

dash.register_page(__name__, path="/sku", name="SKU drill-down", nav=False, order=3)

#: Quantile bands of the fan, inner to outer, with their opacity.
_BANDS = (("q50", "q80", 0.45), ("q80", "q90", 0.32), ("q90", "q95", 0.22), ("q95", "q99", 0.13))
_FAN = "29, 78, 216"  # the accent, as RGB for the bands' transparency
#: Days of history shown at first (the whole window stays a zoom away).
_FIRST_VIEW_DAYS = 120


def layout(warehouse_id: str | None = None, sku: str | None = None, **_query: str) -> html.Div:
    """The page for ``warehouse_id`` × ``sku`` (a picker when either is missing)."""
    try:
        with context.snapshot() as snap:
            houses = published.warehouses(snap, kind="forward")
            found = (
                service.drilldown(snap, context.state().engine, warehouse_id, sku)
                if warehouse_id and sku
                else None
            )
            options = service.suggest(snap, sku) if sku else []
    except published.SnapshotError as error:
        return html.Div([page_title("SKU drill-down"), no_plan(error)])
    picker = _picker(houses, warehouse_id, sku, options)
    if found is None:
        message = (
            f"The published plan has no series {sku} at {warehouse_id}: it was neither "
            "forecast nor planned there and sold nothing in the history window."
            if warehouse_id and sku
            else "Pick a forward warehouse and a SKU (type part of its id or name)."
        )
        return html.Div(
            [
                page_title("SKU drill-down"),
                picker,
                html.Div(message, className="pf-notice", id="sku-missing"),
            ]
        )
    return html.Div([_title(found), picker, *_body(found)])


def _title(found: service.Drilldown) -> html.Div:
    item = found.item
    name = item.get("name") or ""
    detail = " · ".join(
        str(part)
        for part in (
            item.get("category"),
            item.get("brand"),
            f"unit cost {money(_float(item.get('unit_cost')))}" if item.get("unit_cost") else None,
            f"pack of {item['pack_size']}" if item.get("pack_size") else None,
            f"DC lead time {item['lead_time_days']} d"
            if item.get("lead_time_days") is not None
            else None,
        )
        if part
    )
    return page_title(
        f"{found.series.sku} {name} at {found.series.warehouse_id}",
        f"{detail}. The night of {found.as_of:%Y-%m-%d}: history from "
        f"{found.history_start:%Y-%m-%d}, forecast {found.series.forecast.height} days ahead.",
    )


def _picker(
    houses: Any, warehouse_id: str | None, sku: str | None, options: list[dict[str, str]]
) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("Forward warehouse", htmlFor="sku-warehouse"),
                    dcc.Dropdown(
                        id="sku-warehouse",
                        options=[
                            {
                                "label": f"{r['warehouse_id']} · {r['name']}",
                                "value": r["warehouse_id"],
                            }
                            for r in houses.iter_rows(named=True)
                        ],
                        value=warehouse_id,
                        clearable=False,
                    ),
                ],
                className="pf-filter",
            ),
            html.Div(
                [
                    html.Label("SKU", htmlFor="sku-pick"),
                    dcc.Dropdown(
                        id="sku-pick",
                        options=options,
                        value=sku,
                        placeholder="Type a SKU id or a name …",
                        clearable=False,
                    ),
                ],
                className="pf-filter",
                style={"minWidth": "420px"},
            ),
            dcc.Location(id="sku-location", refresh=True),
        ],
        className="pf-filters",
    )


def _body(found: service.Drilldown) -> list[Any]:
    plan = found.plan or {}
    backtest = found.backtest
    horizon = found.series.forecast
    forecast_units = float(horizon["mean"].sum()) if horizon.height else None
    cards = [
        kpi_card(
            "Demand class",
            found.series.demand_class or "–",
            detail=f"model {found.series.model or '–'} (chosen on the backtest)",
        ),
        kpi_card(
            "Inventory position",
            f"{number(plan.get('inventory_position'))} units",
            detail=f"on hand {number(plan.get('on_hand'))}, in transit "
            f"{number(plan.get('in_transit'))}, reserved {number(plan.get('reserved'))}",
        ),
        kpi_card(
            "S (order-up-to)",
            f"{number(plan.get('order_up_to'))} units",
            detail=_target(plan),
        ),
        kpi_card(
            "Tonight's action",
            str(plan.get("action") or "not planned"),
            detail=f"proposed {number(plan.get('proposed_quantity'))}, allocated "
            f"{number(plan.get('allocated_quantity'))} units{_cut(plan)}"
            if plan
            else None,
            tone="warn" if plan.get("cut_by") not in (None, "none") else "neutral",
        ),
        kpi_card(
            f"Forecast, next {horizon.height} days",
            f"{number(forecast_units, 1)} units",
            detail=f"mean {number(_per_day(forecast_units, horizon.height), 2)} units/day",
        ),
        kpi_card(
            "Days with an empty shelf",
            f"{found.stockout_days} days",
            detail="in the history window (shaded red below)",
            tone="bad" if found.stockout_days else "good",
        ),
        kpi_card(
            "Backtest WAPE",
            _percent(backtest.get("wape")) if backtest else "–",
            detail=f"bias {_signed(backtest.get('bias'))}, q80 covers "
            f"{_percent(backtest.get('coverage_q80'))}, "
            f"q95 {_percent(backtest.get('coverage_q95'))}"
            if backtest
            else "not backtested tonight",
        ),
    ]
    return [
        html.Div(cards, className="pf-kpis", id="sku-kpis"),
        html.Section(
            [
                html.H2("Why the plan says so"),
                html.P(
                    plan.get("reason") or "The night made no plan line for this series.",
                    id="sku-reason",
                ),
            ],
            className="pf-section",
        ),
        html.Section(
            [
                html.H2("Demand, forecast and stock"),
                dcc.Graph(
                    id="sku-chart",
                    figure=figure(found),
                    config={"displaylogo": False, "responsive": True},
                    style={"height": "560px"},
                ),
            ],
            className="pf-section",
        ),
        html.Section(
            [
                html.H2("Backtest accuracy"),
                _accuracy(backtest),
            ],
            className="pf-section",
        ),
        html.Section(
            [
                html.H2("Transfer-order lines"),
                html.Div(csv_download("sku-transfers"), className="pf-toolbar"),
                dag.AgGrid(
                    id="sku-transfers",
                    rowData=found.transfers.to_dicts(),
                    columnDefs=[
                        {"field": "transfer_id", "headerName": "Order", "flex": 2},
                        {"field": "status", "headerName": "Status (now)", "width": 130},
                        {"field": "needed_by", "headerName": "Needed by", "width": 120},
                        {
                            "field": "proposed_quantity",
                            "headerName": "Proposed (units)",
                            "width": 140,
                            "type": "rightAligned",
                        },
                        {
                            "field": "allocated_quantity",
                            "headerName": "Allocated (units)",
                            "width": 140,
                            "type": "rightAligned",
                        },
                        {
                            "field": "quantity",
                            "headerName": "To ship (units)",
                            "width": 130,
                            "type": "rightAligned",
                        },
                        {"field": "reason", "headerName": "Why", "flex": 3},
                    ],
                    defaultColDef={"resizable": True, "sortable": True, "filter": True},
                    dashGridOptions={"domLayout": "autoHeight"},
                ),
            ],
            className="pf-section",
        ),
    ]


def figure(found: service.Drilldown) -> dict[str, Any]:
    """Daily demand with empty-shelf days shaded and the forecast fan; stock counts below.

    A plain figure dict (two stacked panels sharing the day axis): building it
    through ``plotly.graph_objects`` validates every property and cost ~0.1 s.
    """
    history, forecast = found.series.history, found.series.forecast
    counts = found.series.stock_counts
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": _days(history["ds"].to_list()),
            "y": history["y"].to_list(),
            "name": "demand (units)",
            "marker": {"color": "#52606d"},
            "hovertemplate": "%{x|%Y-%m-%d}: %{y} units<extra></extra>",
        }
    ]
    if forecast.height:
        days = _days(forecast["ds"].to_list())
        for low, high, alpha in _BANDS:
            traces.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": forecast[low].to_list(),
                    "mode": "lines",
                    "line": {"width": 0},
                    "showlegend": False,
                    "hoverinfo": "skip",
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": forecast[high].to_list(),
                    "mode": "lines",
                    "line": {"width": 0},
                    "fill": "tonexty",
                    "fillcolor": f"rgba({_FAN}, {alpha})",
                    "name": f"{low[1:]}–{high[1:]} % quantiles",
                    "hovertemplate": f"{high}: %{{y:.0f}} units<extra></extra>",
                }
            )
        traces.append(
            {
                "type": "scatter",
                "x": days,
                "y": forecast["mean"].to_list(),
                "mode": "lines",
                "line": {"color": f"rgb({_FAN})", "width": 2.5},
                "name": "forecast mean",
                "hovertemplate": "mean %{y:.2f} units<extra></extra>",
            }
        )
    if found.stockouts.height:  # a legend entry for the shading
        traces.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "markers",
                "name": "started with an empty shelf",
                "marker": {"color": "rgba(185, 28, 28, 0.35)", "size": 12, "symbol": "square"},
            }
        )
    if counts.height:
        traces.append(
            {
                "type": "scatter",
                "x": _days(counts["as_of"].to_list()),
                "y": counts["available"].to_list(),
                "xaxis": "x2",
                "yaxis": "y2",
                "mode": "lines+markers",
                "line": {"shape": "hv", "color": "#15803d"},
                "marker": {"size": 4},
                "name": "available at count",
                "hovertemplate": "%{x|%Y-%m-%d}: %{y} units available<extra></extra>",
            }
        )
    half_day = timedelta(hours=12)
    shapes: list[dict[str, Any]] = [
        {
            "type": "rect",
            "xref": "x",
            "yref": f"{axis} domain",
            "x0": (span["from_day"] - half_day).isoformat(),
            "x1": (span["to_day"] + half_day).isoformat(),
            "y0": 0,
            "y1": 1,
            "fillcolor": "rgba(185, 28, 28, 0.14)",
            "line": {"width": 0},
            "layer": "below",
        }
        for span in found.stockouts.iter_rows(named=True)
        for axis in ("y", "y2")
    ]
    shapes += [
        {
            "type": "line",
            "xref": "x",
            "yref": f"{axis} domain",
            "x0": (found.as_of + half_day).isoformat(),
            "x1": (found.as_of + half_day).isoformat(),
            "y0": 0,
            "y1": 1,
            "line": {"dash": "dot", "color": "#9fb3c8"},
        }
        for axis in ("y", "y2")
    ]
    last = forecast["ds"].max() if forecast.height else None
    end = (last if isinstance(last, date) else found.as_of) + timedelta(days=1)
    shown = [(found.as_of - timedelta(days=_FIRST_VIEW_DAYS)).isoformat(), end.isoformat()]
    grid = {"showgrid": True, "gridcolor": "#eef2f6"}
    days_axis = {**grid, "range": shown, "type": "date"}
    units_axis = {**grid, "rangemode": "tozero"}
    return {
        "data": traces,
        "layout": {
            "xaxis": {**days_axis, "anchor": "y", "showticklabels": False},
            "xaxis2": {**days_axis, "anchor": "y2", "matches": "x"},
            "yaxis": {**units_axis, "domain": [0.32, 1], "title": {"text": "units a day"}},
            "yaxis2": {**units_axis, "domain": [0, 0.24], "title": {"text": "units"}},
            "shapes": shapes,
            "annotations": [
                {
                    "text": "On the shelf at each count (units)",
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.25,
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 13},
                }
            ],
            "margin": {"l": 55, "r": 20, "t": 70, "b": 30},
            "legend": {
                "orientation": "h",
                "yanchor": "bottom",
                "y": 1.02,
                "x": 0,
                "traceorder": "normal",
            },
            "bargap": 0.15,
            "plot_bgcolor": "#fff",
            "paper_bgcolor": "#fff",
            "hovermode": "x unified",
            "font": {"family": "system-ui, sans-serif", "size": 12},
        },
    }


def _days(values: list[Any]) -> list[str | None]:
    """Dates as ISO text (a figure dict goes to the browser as JSON)."""
    return [None if v is None else v.isoformat() for v in values]


def _accuracy(backtest: dict[str, Any] | None) -> Any:
    if not backtest:
        return html.P(
            "This series was not backtested tonight (too little history, or dormant).",
            className="pf-status",
        )
    metrics = [
        ("MASE", number(backtest.get("mase"), 2), "mean absolute error ÷ naive forecast's"),
        ("RMSSE", number(backtest.get("rmsse"), 2), "root mean squared scaled error"),
        ("WAPE", _percent(backtest.get("wape")), "absolute error ÷ demand"),
        ("Bias", _signed(backtest.get("bias")), "forecast − actual, share of demand"),
        ("Scaled pinball", number(backtest.get("spl"), 2), "quantile loss, scaled"),
    ]
    coverage = [
        (f"q{level}", _percent(backtest.get(f"coverage_q{level}")), f"nominal {level} %")
        for level in (50, 80, 90, 95, 99)
    ]
    rows = [
        html.Tr(
            [html.Td(name), html.Td(value, className="num"), html.Td(what, className="pf-status")]
        )
        for name, value, what in metrics + [(f"Coverage {q}", v, w) for q, v, w in coverage]
    ]
    return html.Table(
        [
            html.Thead(
                html.Tr([html.Th("Measure"), html.Th("Value", className="num"), html.Th("")])
            ),
            html.Tbody(rows),
        ],
        className="pf-table",
        id="sku-accuracy",
    )


def _cut(plan: dict[str, Any]) -> str:
    cause = plan.get("cut_by")
    return "" if cause in (None, "none") else f", cut by {str(cause).replace('_', ' ')}"


def _target(plan: dict[str, Any]) -> str | None:
    if not plan.get("target_kind"):
        return None
    kind = str(plan["target_kind"]).replace("_", " ")
    return (
        f"target {kind} {_percent(plan.get('service_target'))}; expects fill "
        f"{_percent(plan.get('expected_fill_rate'))}"
    )


def _percent(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def _signed(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:+.1f} %"


def _per_day(total: float | None, days: int) -> float | None:
    return None if total is None or not days else total / days


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dash.callback(
    Output("sku-pick", "options"),
    Input("sku-pick", "search_value"),
    State("sku-pick", "value"),
    State("sku-pick", "options"),
    prevent_initial_call=True,
)
def _search(text: str | None, chosen: str | None, current: list[dict[str, str]] | None) -> Any:
    if not text:
        raise dash.exceptions.PreventUpdate
    with context.snapshot() as snap:
        found = service.suggest(snap, text)
    kept = [o for o in current or [] if o.get("value") == chosen]
    return kept + [o for o in found if o["value"] != chosen]


@dash.callback(
    Output("sku-location", "href"),
    Input("sku-warehouse", "value"),
    Input("sku-pick", "value"),
    prevent_initial_call=True,
)
def _go(warehouse_id: str | None, sku: str | None) -> str:
    if not warehouse_id or not sku:
        raise dash.exceptions.PreventUpdate
    return dash.get_relative_path(f"/sku?warehouse_id={warehouse_id}&sku={sku}")
