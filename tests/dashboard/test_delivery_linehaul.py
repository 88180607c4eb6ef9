"""The Delivery page's line-haul map: hundreds of trips drawn in two traces, not one each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
import polars as pl
from dash import dcc

from dashboard.delivery_charts import linehaul
from optimization.routing.linehaul import ROUTE_ROWS

HOUSES = pl.DataFrame(
    {
        "warehouse_id": ["DC01", "FW001", "FW002", "FW003"],
        "kind": ["dc", "forward", "forward", "forward"],
        "lat": [31.20, 31.23, 31.18, 31.25],
        "lon": [121.40, 121.45, 121.48, 121.38],
    }
)


def _routes(trips: int) -> pl.DataFrame:
    """``trips`` DC → FW → DC shuttles, cycling through the three warehouses."""
    start = datetime(2026, 12, 6, 20, tzinfo=UTC)
    rows = []
    for t in range(trips):
        fw = f"FW00{t % 3 + 1}"
        for seq, place in enumerate(("DC01", fw, "DC01")):
            rows.append(
                ("linehaul", f"R{t:03d}", f"V{t % 40:02d}", seq, f"{place}#{seq}", place,
                 start + timedelta(minutes=30 * seq), 100.0, 4000 * seq)
            )  # fmt: skip
    return pl.DataFrame(rows, schema=ROUTE_ROWS, orient="row")


def _figure(component: Any) -> go.Figure:
    (graph,) = [c for c in component.children if isinstance(c, dcc.Graph)]
    return go.Figure(getattr(graph, "figure"))  # noqa: B009 (Dash sets it at run time)


def test_seven_hundred_trips_are_two_route_traces_and_every_stop_is_drawn() -> None:
    component = linehaul(HOUSES, _routes(737), "FW002")
    figure = _figure(component)
    mine, others = figure.data[1], figure.data[0]
    assert len(figure.data) == 3  # other routes, this warehouse's routes, the sites
    assert mine.line.width == 3 and others.line.width == 1
    # Each trip's three stops and a break: 246 trips stop at FW002, 491 do not.
    assert len(mine.x) == 246 * 4 and len(others.x) == 491 * 4
    assert sum(x is None for x in mine.x) == 246
    assert "R001: FW002" in mine.text
    assert "737 trips tonight; the 246 stopping at FW002" in component.children[0].children


def test_a_warehouse_no_trip_stops_at_draws_only_the_others() -> None:
    figure = _figure(linehaul(HOUSES, _routes(2), "FW003"))
    assert len(figure.data) == 2
    assert figure.data[0].line.width == 1
