"""The Delivery page's charts: the replayed day's delivery times and busy hours, the line-haul.

Pure functions from published frames (one warehouse's ``dispatch_kpis`` and
``dispatch_delivery_times``, the night's ``routes``: ``warehouse.published``) to
Dash components and Plotly figures; no callbacks, no snapshot access: the page
(:mod:`dashboard.pages.delivery`) reads the frames and places what these return.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
import polars as pl
from dash import dcc, html

from dashboard.components import as_float, number, percent
from optimization.delivery.day_replay import DELIVERY_CAP_MIN
from optimization.delivery.dispatch import DeliveryTimes

#: The Plotly config of every graph on the Delivery page.
GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}
_PROMISE_MIN = DeliveryTimes().promise_s // 60
#: The dispatchers in the order they are drawn, with their colours.
_DISPATCHERS = {"rolling": "#1d4ed8", "naive": "#d97706"}


def replay(dispatch: pl.DataFrame, times: pl.DataFrame | None) -> Any:
    """The replay's delivery-time histogram per dispatcher, then its KPIs per dispatcher.

    Parameters
    ----------
    dispatch
        One warehouse's ``dispatch_kpis`` (a row per dispatcher and day).
    times
        Its ``dispatch_delivery_times``: None for a snapshot published before the
        table, empty for a replay made before the distribution was kept.

    Returns
    -------
    Any
        The day's caption, the histogram (``dl-histogram``) or a notice saying why
        there is none, and the KPI table; a notice alone when no day was replayed.
    """
    if dispatch.is_empty():
        return html.Div(
            "No day has been replayed for this warehouse yet (`partsflow dispatch`).",
            className="pf-notice",
        )
    days = ", ".join(str(d) for d in dispatch["day"].unique().sort())
    rows = [
        html.Tr(
            [
                html.Td(r["dispatcher"]),
                html.Td(f"{r['orders']:,}", className="num"),
                html.Td(percent(r["on_time_rate"]), className="num"),
                *(
                    html.Td(number(r[f"delivery_{q}_min"], 0), className="num")
                    for q in ("p50", "p90", "p99")
                ),
                html.Td(f"{r['riders']}", className="num"),
                html.Td(f"{r['trips']:,}", className="num"),
                html.Td(number(r["km"], 0), className="num"),
            ]
        )
        for r in dispatch.iter_rows(named=True)
    ]
    head = ["dispatcher", "orders", "on time", "p50 min", "p90 min", "p99 min"]
    table = html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in (*head, "riders", "trips", "km")])),
            html.Tbody(rows),
        ],
        className="pf-table",
    )
    drawn = _distribution(times)
    if isinstance(drawn, html.Div):
        return html.Div([html.P(f"The replay of {days}.", className="pf-status"), drawn, table])
    return html.Div(
        [
            html.P(
                f"The replay of {days}: orders by minutes from order to delivery (rounded "
                f"up; the last bar holds every delivery over {DELIVERY_CAP_MIN - 1} min). "
                "Left of the line: on time.",
                className="pf-status",
            ),
            dcc.Graph(id="dl-histogram", figure=_histogram(drawn), config=GRAPH_CONFIG),
            table,
        ]
    )


def _distribution(times: pl.DataFrame | None) -> pl.DataFrame | html.Div:
    """The delivery times to draw, or a notice saying why there are none."""
    if times is None:
        return html.Div(
            "The delivery-time distribution is not available for this snapshot (published "
            "before it was kept); the next `partsflow dispatch` or nightly publishes it.",
            className="pf-notice",
        )
    if times.is_empty():
        return html.Div(
            "This replay was made before delivery times were kept: replay a day again "
            "(`partsflow dispatch`) for the distribution.",
            className="pf-notice",
        )
    return times


def _on_time(times: pl.DataFrame, *by: str) -> pl.DataFrame:
    """Orders and on-time orders (the buckets up to the promise) per ``by``."""
    return (
        times.group_by(*by)
        .agg(
            pl.col("orders").sum(),
            on_time=pl.col("orders").filter(pl.col("minutes") <= _PROMISE_MIN).sum(),
        )
        .with_columns(rate=pl.col("on_time") / pl.col("orders"))
        .sort(*by)
    )


def _bucket(minutes: int) -> str:
    if minutes >= DELIVERY_CAP_MIN:
        return f"over {DELIVERY_CAP_MIN - 1} min"
    return f"{max(0, minutes - 1)}–{minutes} min"


def _histogram(times: pl.DataFrame) -> go.Figure:
    buckets = times.group_by("dispatcher", "minutes").agg(pl.col("orders").sum())
    rates = {r["dispatcher"]: r for r in _on_time(times, "dispatcher").iter_rows(named=True)}
    figure = go.Figure()
    for name, colour in _DISPATCHERS.items():
        part = buckets.filter(pl.col("dispatcher") == name).sort("minutes")
        if part.is_empty():
            continue
        minutes = part["minutes"].to_list()
        figure.add_trace(
            go.Bar(
                # Bucket m holds (m - 1, m] minutes: its bar spans exactly that.
                x=[m - 0.5 for m in minutes],
                y=part["orders"].to_list(),
                width=1,
                name=f"{name}: {percent(rates[name]['rate'])} on time",
                marker={"color": colour},
                opacity=0.65,
                customdata=[_bucket(m) for m in minutes],
                hovertemplate=f"{name}: %{{y}} orders in %{{customdata}}<extra></extra>",
            )
        )
    figure.add_vline(
        x=_PROMISE_MIN,
        line={"color": "#b91c1c", "dash": "dash"},
        annotation_text=f"{_PROMISE_MIN}-minute promise",
        annotation_position="top right",
    )
    highest = max(int(m) for m in times["minutes"])
    # A fleet too small for the naive dispatcher piles hours of lateness into the last bar,
    # which would flatten every other: then a log axis.
    log = as_float(buckets["orders"].max()) > 20 * as_float(buckets["orders"].median())
    figure.update_layout(
        barmode="overlay",
        height=360,
        margin={"l": 50, "r": 10, "t": 20, "b": 40},
        plot_bgcolor="#fff",
        xaxis={
            "title": "minutes from order to delivery",
            "range": [0, max(highest, _PROMISE_MIN) + 1],
            "gridcolor": "#eef1f4",
        },
        yaxis={
            "title": "orders" + (" (log scale)" if log else ""),
            "type": "log" if log else "linear",
            "gridcolor": "#eef1f4",
        },
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def busy_hours(dispatch: pl.DataFrame, times: pl.DataFrame | None) -> Any:
    """Orders placed per local hour, and each dispatcher's on-time rate in that hour.

    Parameters
    ----------
    dispatch
        One warehouse's ``dispatch_kpis``.
    times
        Its ``dispatch_delivery_times`` (None or empty as for :func:`replay`).

    Returns
    -------
    Any
        A caption and the figure (``dl-hours``), or a notice saying why there is none.
    """
    if dispatch.is_empty():
        return html.Div("No day has been replayed for this warehouse yet.", className="pf-notice")
    drawn = _distribution(times)
    if isinstance(drawn, html.Div):
        return drawn
    hours = _on_time(drawn, "dispatcher", "hour")
    # Both dispatchers replay the same orders: one's count per hour is the day's.
    placed = hours.filter(pl.col("dispatcher") == hours["dispatcher"][0])
    figure = go.Figure(
        go.Bar(
            x=placed["hour"].to_list(),
            y=placed["orders"].to_list(),
            name="orders placed",
            marker={"color": "#d9e2ec"},
            hovertemplate="%{x}:00–%{x}:59: %{y} orders<extra></extra>",
        )
    )
    for name, colour in _DISPATCHERS.items():
        part = hours.filter(pl.col("dispatcher") == name)
        if part.is_empty():
            continue
        figure.add_trace(
            go.Scatter(
                x=part["hour"].to_list(),
                y=part["rate"].to_list(),
                yaxis="y2",
                mode="lines+markers",
                line={"color": colour},
                name=f"{name} on time",
                customdata=part.select("on_time", "orders").rows(),
                hovertemplate=(
                    f"{name}, %{{x}}:00: %{{y:.1%}} on time "
                    "(%{customdata[0]} of %{customdata[1]})<extra></extra>"
                ),
            )
        )
    figure.update_layout(
        height=320,
        margin={"l": 50, "r": 60, "t": 10, "b": 40},
        plot_bgcolor="#fff",
        xaxis={
            "title": "hour the order was placed (local time)",
            "tickvals": placed["hour"].to_list(),
            "ticktext": [f"{h:02d}:00" for h in placed["hour"]],
        },
        yaxis={"title": "orders placed", "gridcolor": "#eef1f4"},
        yaxis2={
            "title": "on time",
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "tickformat": ".0%",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.25},
    )
    return html.Div(
        [
            html.P(
                "Orders placed per local hour (bars) and the share each dispatcher delivered "
                f"within {_PROMISE_MIN} minutes (lines).",
                className="pf-status",
            ),
            dcc.Graph(id="dl-hours", figure=figure, config=GRAPH_CONFIG),
        ]
    )


_LAT_M = 110_540.0  # metres per degree of latitude
_LON_M = 111_320.0  # per degree of longitude at the equator (× cos latitude)


def metres(lat: float, lon: float, origin: dict[str, Any]) -> tuple[float, float]:
    """Metres east and north of ``origin`` (a row with ``lat`` and ``lon``): flat, near it."""
    scale = math.cos(math.radians(origin["lat"]))
    return (lon - origin["lon"]) * _LON_M * scale, (lat - origin["lat"]) * _LAT_M


def linehaul(houses: pl.DataFrame, routes: pl.DataFrame, warehouse_id: str) -> Any:
    """Tonight's line-haul trips on a map in km from the DC (those stopping at
    ``warehouse_id`` in blue) and a table of those: ``houses`` are the sites (DC and
    forward warehouses, with ``kind``, ``lat``, ``lon``), ``routes`` the ``routes`` rows."""
    if routes.is_empty():
        return html.Div("No line-haul routes tonight.", className="pf-notice")
    points = {r["warehouse_id"]: r for r in houses.iter_rows(named=True)}
    dcs = houses.filter(pl.col("kind") == "dc")
    origin = dcs.row(0, named=True) if dcs.height else houses.row(0, named=True)
    figure = go.Figure()
    summary = []
    # Two traces, not one a route: the large network's first night has 737 trips, and a
    # trace each made the page slow to draw. A None between routes breaks the line.
    lines: dict[bool, tuple[list[float | None], list[float | None], list[str]]] = {
        False: ([], [], []),
        True: ([], [], []),
    }
    for (route_id,), stops in routes.group_by(["route_id"], maintain_order=True):
        located = [points[s] for s in stops["location_id"].to_list() if s in points]
        stops_here = warehouse_id in stops["location_id"].to_list()
        xs, ys, text = lines[stops_here]
        for p in located:
            x, y = metres(p["lat"], p["lon"], origin)
            xs.append(x / 1000)
            ys.append(y / 1000)
            text.append(f"{route_id}: {p['warehouse_id']}")
        xs.append(None)
        ys.append(None)
        text.append("")
        summary.append(
            {
                "route": str(route_id),
                "van": stops["vehicle_id"][0],
                "stops": " → ".join(stops["location_id"].to_list()),
                "km": as_float(stops["distance_m"].max()) / 1000,
                "departs": stops["arrival"].min(),
                "returns": stops["arrival"].max(),
                "mine": stops_here,
            }
        )
    for mine_too in (False, True):  # this warehouse's routes drawn over the others
        xs, ys, text = lines[mine_too]
        if not xs:
            continue
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                line={"width": 3 if mine_too else 1, "color": "#1d4ed8" if mine_too else "#bcccdc"},
                name=f"routes via {warehouse_id}" if mine_too else "other routes",
                text=text,
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            )
        )
    label = houses.with_columns(
        xy=pl.struct("lat", "lon").map_elements(
            lambda p: list(metres(p["lat"], p["lon"], origin)), return_dtype=pl.List(pl.Float64)
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[p[0] / 1000 for p in label["xy"].to_list()],
            y=[p[1] / 1000 for p in label["xy"].to_list()],
            mode="markers+text",
            text=label["warehouse_id"].to_list(),
            textposition="top center",
            marker={"size": 10, "symbol": "square", "color": "#102a43"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.update_layout(
        height=420,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        plot_bgcolor="#fff",
        xaxis={"title": "km east of the DC", "gridcolor": "#eef1f4"},
        yaxis={"title": "km north", "gridcolor": "#eef1f4", "scaleanchor": "x", "scaleratio": 1},
    )
    mine = [s for s in summary if s["mine"]]
    rows = [
        html.Tr(
            [
                html.Td(s["route"]),
                html.Td(s["van"]),
                html.Td(s["stops"]),
                html.Td(f"{s['departs']:%H:%M}–{s['returns']:%H:%M} UTC"),
                html.Td(f"{s['km']:,.1f}", className="num"),
            ]
        )
        for s in mine
    ]
    head = ["route", "van", "stops", "on the road", "km"]
    return html.Div(
        [
            html.P(
                f"{len(summary)} trips tonight; the {len(mine)} stopping at {warehouse_id} "
                "in blue.",
                className="pf-status",
            ),
            dcc.Graph(id="dl-linehaul", figure=figure, config=GRAPH_CONFIG),
            html.Table(
                [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                className="pf-table",
            )
            if rows
            else None,
        ]
    )
