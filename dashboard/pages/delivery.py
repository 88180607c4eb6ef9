"""Delivery: a warehouse's stores and its 5 km ring, the night's line-haul, the 30-minute replay.

Drawn from coordinates in metres around the warehouse (an equirectangular
projection: exact enough within a city, and no map tiles to fetch: it works
offline). Reads the published snapshot: stores, warehouses, tonight's store
coverage check, the line-haul routes and the latest dispatch replay (its KPIs,
and its delivery times per minute and local hour: the histogram and the busy
hours, drawn by :mod:`dashboard.delivery_charts`).
"""

from __future__ import annotations

import math
from typing import Any

import dash
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, State, dcc, html

from dashboard import context
from dashboard.components import as_float, kpi_card, no_plan, page_title, percent
from dashboard.delivery_charts import GRAPH_CONFIG, busy_hours, linehaul, metres, replay
from dashboard.filters import choices
from warehouse import published

dash.register_page(
    __name__, path="/delivery", name="Delivery", order=5, title="Delivery · partsflow planning"
)

_RING_M = 5000


def layout(warehouse_id: str | None = None, **_: str) -> html.Div:
    """The page: a warehouse picker, then its map, the line-haul and the replay."""
    try:
        with context.snapshot() as con:
            warehouses, _categories = choices(con)
    except published.SnapshotError as error:
        return html.Div([page_title("Delivery"), no_plan(error)])
    known = [option["value"] for option in warehouses]
    chosen = warehouse_id if warehouse_id in known else (known[0] if known else None)
    return html.Div(
        [
            page_title(
                "Delivery",
                "Each store within 5 km and 30 minutes of its forward warehouse: tonight's "
                "check, the line-haul that restocks the warehouses, and a replayed day of "
                "store deliveries.",
            ),
            html.Div(
                html.Div(
                    [
                        html.Label("Warehouse", htmlFor="dl-warehouse"),
                        dcc.Dropdown(
                            id="dl-warehouse", options=warehouses, value=chosen, clearable=False
                        ),
                    ],
                    className="pf-filter",
                ),
                className="pf-filters",
            ),
            html.Div(id="dl-cards", className="pf-kpis"),
            dcc.Loading(html.Div(id="dl-body"), type="dot", delay_show=300),
        ]
    )


@dash.callback(Output("dl-cards", "children"), Input("dl-warehouse", "value"))
def _show_cards(warehouse_id: str | None) -> Any:
    if not warehouse_id:
        return html.Div("No forward warehouse is published.", className="pf-notice")
    try:
        with context.snapshot() as con:
            coverage = published.store_coverage(con, warehouse_id=warehouse_id)
            routes = published.routes(con, "linehaul")
            dispatch = published.dispatch_kpis(con, warehouse_id)
    except published.SnapshotError as error:
        return no_plan(error)
    flagged = coverage.filter(~pl.col("ok")).height
    return _cards(coverage, flagged, dispatch, routes, warehouse_id)


# After the cards: the charts make the browser compile plotly.js, which would hold them back.
@dash.callback(
    Output("dl-body", "children"), Input("dl-cards", "children"), State("dl-warehouse", "value")
)
def _show(_cards: Any, warehouse_id: str | None) -> Any:
    if not warehouse_id:
        return html.Div("No forward warehouse is published.", className="pf-notice")
    try:
        with context.snapshot() as con:
            houses = published.warehouses(con)
            coverage = published.store_coverage(con, warehouse_id=warehouse_id)
            stores = published.stores(con, coverage["store_id"].to_list())
            routes = published.routes(con, "linehaul")
            dispatch = published.dispatch_kpis(con, warehouse_id)
            times = published.dispatch_delivery_times(con, warehouse_id)
    except published.SnapshotError as error:
        return no_plan(error)
    home = houses.filter(pl.col("warehouse_id") == warehouse_id)
    if home.is_empty():
        return html.Div(f"No warehouse {warehouse_id}.", className="pf-notice")
    return [
        html.Div(
            [
                html.Div(
                    [
                        html.H2(f"Stores served by {warehouse_id}"),
                        dcc.Graph(
                            id="dl-map",
                            figure=_store_map(home.row(0, named=True), houses, stores, coverage),
                            config=GRAPH_CONFIG,
                        ),
                    ],
                    className="pf-section",
                ),
                html.Div(
                    [
                        html.H2("A day of store deliveries, replayed"),
                        replay(dispatch, times),
                    ],
                    className="pf-section",
                ),
            ],
            className="pf-grid-2",
        ),
        html.Div(
            [html.H2("The replayed day's busy hours"), busy_hours(dispatch, times)],
            className="pf-section",
        ),
        html.Div(
            [html.H2("Tonight's line-haul from the DC"), linehaul(houses, routes, warehouse_id)],
            className="pf-section",
        ),
    ]


def _cards(
    coverage: pl.DataFrame,
    flagged: int,
    dispatch: pl.DataFrame,
    routes: pl.DataFrame,
    warehouse_id: str,
) -> list[html.Div]:
    cards = [
        kpi_card("Stores served", f"{coverage.height:,}", ident="dl-stores"),
        kpi_card(
            "Outside 5 km / 30 min",
            f"{flagged:,}",
            detail="tonight's coverage check",
            tone="bad" if flagged else "good",
            ident="dl-flagged",
        ),
        kpi_card(
            "Farthest store",
            f"{as_float(coverage['distance_m'].max()) / 1000:.1f} km",
            detail=f"{as_float(coverage['reach_s'].max()) / 60:.0f} min at the busy hour",
        ),
    ]
    visits = routes.filter(pl.col("location_id") == warehouse_id)
    cards.append(
        kpi_card(
            "Line-haul stops tonight",
            f"{visits.height:,}",
            detail=f"{visits['load'].sum():,.0f} l delivered" if visits.height else None,
        )
    )
    rolling = dispatch.filter(pl.col("dispatcher") == "rolling")
    if not rolling.is_empty():
        row = rolling.row(0, named=True)
        cards.append(
            kpi_card(
                "30-minute on-time",
                percent(row["on_time_rate"]),
                detail=f"{row['on_time']:,} of {row['orders']:,} orders, {row['riders']} riders",
                tone="good" if row["on_time_rate"] >= 0.99 else "warn",
                ident="dl-ontime",
            )
        )
    return cards


def _store_map(
    home: dict[str, Any], houses: pl.DataFrame, stores: pl.DataFrame, coverage: pl.DataFrame
) -> go.Figure:
    placed = stores.join(coverage, on="store_id", how="inner", suffix="_check")
    xs, ys = (
        zip(*(metres(r["lat"], r["lon"], home) for r in placed.iter_rows(named=True)), strict=False)
        if placed.height
        else ((), ())
    )
    placed = placed.with_columns(x=pl.Series(list(xs)), y=pl.Series(list(ys)))
    figure = go.Figure()
    angle = [2 * math.pi * i / 120 for i in range(121)]
    figure.add_trace(
        go.Scatter(
            x=[_RING_M * math.cos(a) for a in angle],
            y=[_RING_M * math.sin(a) for a in angle],
            mode="lines",
            line={"color": "#9fb3c8", "dash": "dash"},
            name="5 km",
            hoverinfo="skip",
        )
    )
    for ok, name, colour in (
        (True, "within the promise", "#1d4ed8"),
        (False, "outside", "#b91c1c"),
    ):
        part = placed.filter(pl.col("ok") == ok)
        figure.add_trace(
            go.Scatter(
                x=part["x"].to_list(),
                y=part["y"].to_list(),
                mode="markers",
                marker={"size": 9, "color": colour, "line": {"width": 1, "color": "#fff"}},
                name=f"stores {name}",
                text=[
                    f"{r['store_id']} · {r['name']}<br>{r['distance_m'] / 1000:.1f} km, "
                    f"{r['reach_s'] / 60:.0f} min" + (f"<br>{r['issues']}" if r["issues"] else "")
                    for r in part.iter_rows(named=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    others = houses.filter(pl.col("warehouse_id") != home["warehouse_id"])
    near = [
        (r["warehouse_id"], *metres(r["lat"], r["lon"], home)) for r in others.iter_rows(named=True)
    ]
    near = [w for w in near if math.hypot(w[1], w[2]) <= 3 * _RING_M]
    figure.add_trace(
        go.Scatter(
            x=[0.0, *(w[1] for w in near)],
            y=[0.0, *(w[2] for w in near)],
            mode="markers+text",
            marker={"size": 14, "symbol": "square", "color": ["#102a43"] + ["#9fb3c8"] * len(near)},
            text=[home["warehouse_id"], *(w[0] for w in near)],
            textposition="top center",
            name="warehouses",
            hovertemplate="%{text}<extra></extra>",
        )
    )
    reach = max([_RING_M * 1.15, *(abs(v) for v in (*xs, *ys))])
    figure.update_layout(
        height=460,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        plot_bgcolor="#fff",
        legend={"orientation": "h", "y": -0.12},
        xaxis={"range": [-reach, reach], "title": "metres east", "gridcolor": "#eef1f4",
               "zeroline": False},
        yaxis={"range": [-reach, reach], "title": "metres north", "gridcolor": "#eef1f4",
               "zeroline": False, "scaleanchor": "x", "scaleratio": 1},
    )  # fmt: skip
    return figure
