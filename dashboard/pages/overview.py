"""Overview: the latest night's KPIs and their trend over the nights before.

Every figure is read from the published snapshot: the plan's KPIs night by
night (``published.plan_kpis``), the backtest accuracy
(``published.accuracy_history``), tonight's store coverage check and the
latest dispatch replay. Filters: a forward warehouse, a category.
"""

from __future__ import annotations

import math
from typing import Any

import dash
import polars as pl
from dash import Input, Output, State, dcc, html

from dashboard import context
from dashboard.components import kpi_card, money, no_plan, number, page_title, percent
from dashboard.filters import filter_bar
from warehouse import published

dash.register_page(
    __name__, path="/", name="Overview", order=0, title="Overview · partsflow planning"
)

_DAY_MS = 86_400_000
_GRAPH_CONFIG: Any = {"displayModeBar": False, "displaylogo": False, "responsive": True}


def layout(warehouse_id: str | None = None, category: str | None = None, **_: str) -> html.Div:
    """The page: filters, then the KPIs (filled by :func:`_show`)."""
    try:
        with context.snapshot() as con:
            run = published.published_run(con)
            bar = filter_bar("ov", con, warehouse_id=warehouse_id, category=category)
    except published.SnapshotError as error:
        return html.Div([page_title("Overview"), no_plan(error)])
    return html.Div(
        [
            page_title(
                "Overview",
                f"The night of {run.as_of:%d %b %Y} (run {run.run_id}, published "
                f"{run.published_at:%d %b %H:%M} UTC) against the nights before it.",
            ),
            bar,
            dcc.Loading(html.Div(id="ov-body"), type="dot", delay_show=300),
            html.Div(id="ov-trends"),
        ]
    )


def _read(warehouse_id: str | None, category: str | None) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """The nights' KPIs and accuracy for the filter (a re-run day counts once: its last)."""
    with context.snapshot() as con:
        nights = published.plan_kpis(con, warehouse_id=warehouse_id, category=category)
        scope, key = _accuracy_scope(warehouse_id, category)
        accuracy = published.accuracy_history(con, scope, key)
    nights = nights.unique("as_of", keep="last", maintain_order=True)
    accuracy = accuracy.sort("as_of", "run_id").unique("as_of", keep="last", maintain_order=True)
    return nights, accuracy, scope


@dash.callback(
    Output("ov-trends", "children"),
    Input("ov-body", "children"),
    State("ov-warehouse", "value"),
    State("ov-category", "value"),
)
def _show_trends(_cards: Any, warehouse_id: str | None, category: str | None) -> Any:
    # After the cards, not beside them: the first figure makes the browser compile
    # plotly.js (~0.4 s of its main thread), which would hold the cards back.
    try:
        nights, accuracy, _scope = _read(warehouse_id, category)
    except published.SnapshotError:
        return None
    if nights.is_empty():
        return None
    return html.Div(
        [html.H2(f"Over the last {nights.height} night(s)"), _trends(nights, accuracy)],
        className="pf-section",
    )


@dash.callback(
    Output("ov-body", "children"),
    Input("ov-warehouse", "value"),
    Input("ov-category", "value"),
)
def _show(warehouse_id: str | None, category: str | None) -> Any:
    try:
        nights, accuracy, scope = _read(warehouse_id, category)
        with context.snapshot() as con:
            flagged = published.store_coverage(con, warehouse_id=warehouse_id, flagged_only=True)
            checked = published.store_coverage(con, warehouse_id=warehouse_id).height
            dispatch = published.dispatch_kpis(con, warehouse_id)
    except published.SnapshotError as error:
        return no_plan(error)
    if nights.is_empty():
        return html.Div("No plan lines match this filter.", className="pf-notice")
    return html.Div(
        _cards(nights, accuracy, flagged.height, checked, dispatch, scope), className="pf-kpis"
    )


def _accuracy_scope(warehouse_id: str | None, category: str | None) -> tuple[str, str]:
    """The backtest is summed per warehouse and per category, not per pair: the narrower."""
    if category:
        return "category", category
    if warehouse_id:
        return "warehouse", warehouse_id
    return "network", "all"


def _change(nights: pl.DataFrame, column: str, show: Any) -> str | None:
    if nights.height < 2:
        return None
    now, before = nights[column][-1], nights[column][-2]
    if now is None or before is None:
        return None
    text = show(now - before)
    if text.lstrip("-") == show(0):
        return "unchanged since the night before"
    return f"{text if now < before else '+' + text} vs the night before"


def _cards(
    nights: pl.DataFrame,
    accuracy: pl.DataFrame,
    flagged: int,
    checked: int,
    dispatch: pl.DataFrame,
    scope: str,
) -> list[html.Div]:
    last = nights.row(-1, named=True)
    fill = last["expected_fill_rate"]
    cards = [
        kpi_card(
            "Expected fill rate",
            percent(fill),
            detail=_change(nights, "expected_fill_rate", lambda v: f"{v * 100:.1f} pts")
            or f"over {last['stocked']:,} held series",
            tone="good" if fill is not None and fill >= 0.95 else "warn",
            ident="ov-fill",
        ),
        kpi_card(
            "Stock-out risk",
            percent(last["stock_out_risk"]),
            detail=f"{last['out_now']:,} held series with nothing free now",
            tone="bad" if last["out_now"] else "good",
            ident="ov-risk",
        ),
        kpi_card(
            "Inventory value",
            money(last["inventory_value"]),
            detail=f"{last['on_hand_units']:,} units on hand",
            ident="ov-value",
        ),
        kpi_card(
            "Days of cover",
            number(last["cover_days"], 1),
            detail="inventory value ÷ a day's demand at cost",
            ident="ov-cover",
        ),
        kpi_card(
            "Excess stock",
            money(last["excess_value"]),
            detail="above tonight's order-up-to levels",
            tone="warn" if last["excess_value"] else "neutral",
            ident="ov-excess",
        ),
        kpi_card(
            "Dead stock (90 days)",
            money(last["dead_value"]),
            detail=f"{money(last['ageing_value'])} more idle 60-89 days",
            tone="bad" if last["dead_value"] else "good",
            ident="ov-dead",
        ),
        kpi_card(
            "Allocation cuts",
            f"{last['lines_cut']:,} lines",
            detail=f"{last['units_cut']:,} of {last['units_proposed']:,} units proposed not sent",
            tone="warn" if last["lines_cut"] else "good",
            ident="ov-cuts",
        ),
    ]
    if accuracy.is_empty():
        cards.append(kpi_card("Forecast accuracy", "–", detail=f"no backtest at {scope} level"))
    else:
        acc = accuracy.row(-1, named=True)
        bias = acc["bias"]
        cards += [
            kpi_card(
                "Forecast accuracy",
                number(acc["spl"], 2),
                detail=f"scaled pinball loss; bias {'–' if bias is None else f'{bias:+.1%}'}",
                tone="warn" if bias is not None and abs(bias) > 0.1 else "neutral",
                ident="ov-accuracy",
            ),
            kpi_card(
                "Quantile coverage",
                f"{percent(acc['coverage_q80'], 0)} · {percent(acc['coverage_q95'], 0)}",
                detail="share of days at or under q80 · q95 (aim 80 % · 95 %)",
                ident="ov-coverage",
            ),
        ]
    cards.append(
        kpi_card(
            "Stores outside 5 km / 30 min",
            f"{flagged:,}",
            detail=f"of {checked:,} stores checked tonight",
            tone="bad" if flagged else "good",
            ident="ov-stores",
        )
    )
    rolling = dispatch.filter(pl.col("dispatcher") == "rolling")
    if rolling.is_empty():
        cards.append(kpi_card("30-minute on-time", "–", detail="no dispatch replay yet"))
    else:
        orders, on_time = int(rolling["orders"].sum()), int(rolling["on_time"].sum())
        day = rolling["day"].max()
        cards.append(
            kpi_card(
                "30-minute on-time",
                percent(on_time / orders if orders else None),
                detail=f"{on_time:,} of {orders:,} orders, replay of {day!s}",
                tone="good" if orders and on_time / orders >= 0.99 else "warn",
                ident="ov-ontime",
            )
        )
    return cards


def _trends(nights: pl.DataFrame, accuracy: pl.DataFrame) -> html.Div:
    days = nights["as_of"].to_list()
    graphs = [
        _chart(
            "Expected fill rate and stock-out risk",
            days,
            {"fill rate": nights["expected_fill_rate"], "stock-out risk": nights["stock_out_risk"]},
            percent_axis=True,
        ),
        _chart("Inventory value (¥)", days, {"on hand": nights["inventory_value"]}),
        _chart("Days of cover", days, {"days": nights["cover_days"]}),
        _chart(
            "Excess, ageing and dead stock (¥)",
            days,
            {
                "excess": nights["excess_value"],
                "idle 60-89 d": nights["ageing_value"],
                "dead 90+ d": nights["dead_value"],
            },
        ),
        _chart(
            "Allocation cuts (lines)",
            days,
            {"cut": nights["lines_cut"], "proposed": nights["lines_proposed"]},
        ),
    ]
    if not accuracy.is_empty():
        acc_days = accuracy["as_of"].to_list()
        graphs += [
            _chart(
                "Forecast accuracy (scaled pinball, bias)",
                acc_days,
                {"scaled pinball": accuracy["spl"], "bias": accuracy["bias"]},
                axis_format=".2f",
            ),
            _chart(
                "Quantile coverage",
                acc_days,
                {"q80": accuracy["coverage_q80"], "q95": accuracy["coverage_q95"]},
                percent_axis=True,
            ),
        ]
    return html.Div(graphs, className="pf-trends")


def _chart(
    title: str,
    days: list[Any],
    lines: dict[str, pl.Series],
    *,
    percent_axis: bool = False,
    axis_format: str = ",.4~s",
) -> dcc.Graph:
    # A plain figure dict, not go.Figure: its validation costs more than the page's reads.
    figure = {
        "data": [
            {"type": "scatter", "x": days, "y": values.to_list(), "name": name,
             "mode": "lines+markers"}
            for name, values in lines.items()
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 13}},
            "height": 220,
            "margin": {"l": 50, "r": 10, "t": 36, "b": 30},
            "legend": {"orientation": "h", "y": -0.25, "font": {"size": 11}},
            "showlegend": len(lines) > 1,
            "plot_bgcolor": "#fff",
            "paper_bgcolor": "#fff",
            # Whole days a tick (about 8 ticks at most): plotly would tick hours between two.
            "xaxis": {"type": "date", "gridcolor": "#eef1f4", "tickformat": "%d %b",
                      "dtick": _DAY_MS * max(1, math.ceil(len(days) / 8))},
            "yaxis": {"gridcolor": "#eef1f4",
                      "tickformat": ".0%" if percent_axis else axis_format},
        },
    }  # fmt: skip
    return dcc.Graph(figure=figure, config=_GRAPH_CONFIG, className="pf-trend")
