"""Targets and the frontier: what a service level costs, and setting one for the next night.

For a forward warehouse and a category: the service-vs-inventory curves of the
night's policy replays with today's target marked; a planner picks a target
kind and level, sees what it is expected to cost (the frontier's inventory
value at that service, and the category's estimated share of it) and stores
it with a reason. The nightly reads the stored targets at its start
(``flows.store.copy_targets``). Figures and changes: :mod:`dashboard.targets_service`.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html

from dashboard import context
from dashboard import targets_service as service
from dashboard.components import csv_download, kpi_card, money, no_plan, page_title
from warehouse import published

dash.register_page(__name__, path="/targets", name="Targets & frontier", order=4)

_POLICY_LABELS = {
    "nb1_unit_fill": "unit fill (ours)",
    "nb1_fill_rate": "fill rate per series",
    "nb1_cycle_service": "cycle service",
    "normal_fill_rate": "normal-demand fill rate",
    "min_max": "min/max cover (baseline)",
}
_POLICY_COLOURS = {
    "nb1_unit_fill": "#1d4ed8",
    "nb1_fill_rate": "#0f766e",
    "nb1_cycle_service": "#7c3aed",
    "normal_fill_rate": "#b45309",
    "min_max": "#6b7280",
}
_SERVICE_LABELS = {
    "fill_rate": "unit fill rate achieved",
    "cycle_service": "cycle service achieved",
}


def layout(warehouse_id: str | None = None, category: str | None = None, **_q: str) -> html.Div:
    """The page for one warehouse and category (the first of each by default)."""
    try:
        with context.snapshot() as snap:
            houses = published.warehouses(snap, kind="forward")["warehouse_id"].to_list()
            categories = sorted(set(published.skus(snap)["category"].drop_nulls().to_list()))
    except published.SnapshotError as error:
        return html.Div([page_title("Targets & frontier"), no_plan(error)])
    warehouse_id = warehouse_id if warehouse_id in houses else (houses or [None])[0]
    category = category if category in categories else (categories or [None])[0]
    return html.Div(
        [
            page_title(
                "Targets & frontier",
                "What service costs in stock: each curve is a policy replayed over the last weeks "
                "at several settings; a target set here is planned from the next night.",
            ),
            html.Div(
                [
                    _filter("Forward warehouse", "targets-warehouse", houses, warehouse_id),
                    _filter("Category", "targets-category", categories, category),
                ],
                className="pf-filters",
            ),
            html.Div(id="targets-cards", className="pf-kpis"),
            html.Section(
                [
                    html.H2("Set the category's target"),
                    html.Div(
                        [
                            dcc.Dropdown(
                                id="targets-kind",
                                options=[
                                    {"label": label, "value": kind}
                                    for kind, label in service.KIND_LABELS.items()
                                ],
                                clearable=False,
                                style={"width": "220px"},
                            ),
                            dcc.Input(
                                id="targets-level",
                                type="number",
                                min=50,
                                max=99.9,
                                step=0.1,
                                debounce=True,
                                placeholder="level %",
                                style={"width": "110px"},
                            ),
                            html.Span("%"),
                            dcc.Input(
                                id="targets-reason",
                                placeholder="Reason (required)",
                                style={"width": "320px"},
                            ),
                            html.Button("Set target", id="targets-set", className="pf-button"),
                            html.Button(
                                "Remove target",
                                id="targets-remove",
                                className="pf-button pf-button-quiet",
                            ),
                        ],
                        className="pf-toolbar",
                    ),
                    html.Div(id="targets-cost", className="pf-kpis", style={"marginTop": ".6rem"}),
                    html.P(id="targets-cost-text", className="pf-status"),
                    html.Div(id="targets-outcome", role="status"),
                ],
                className="pf-section",
            ),
            html.Section(
                [
                    html.H2("Service vs inventory at the warehouse"),
                    dcc.Graph(
                        id="targets-chart",
                        config={"displaylogo": False, "responsive": True},
                        style={"height": "460px"},
                    ),
                    html.P(
                        "Each point is one replay of a sample of the warehouse's series over the "
                        "last weeks; lines join each policy's efficient points (none cheaper "
                        "with as much service). Inventory is the average stock value at cost, "
                        "all categories: the nightly replays a warehouse as a whole.",
                        className="pf-status",
                    ),
                ],
                className="pf-section",
            ),
            html.Section(
                [
                    html.H2("Stored targets (planned from the next night)"),
                    html.Div(csv_download("targets-grid"), className="pf-toolbar"),
                    dag.AgGrid(
                        id="targets-grid",
                        columnDefs=[
                            {"field": "scope", "headerName": "Scope", "width": 100},
                            {"field": "key", "headerName": "SKU / category", "width": 150},
                            {"field": "kind", "headerName": "Kind", "width": 130},
                            {
                                "field": "level",
                                "headerName": "Level (%)",
                                "width": 110,
                                "type": "rightAligned",
                            },
                            {"field": "updated_by", "headerName": "Set by", "width": 150},
                            {"field": "updated_at", "headerName": "When (UTC)", "width": 170},
                            {"field": "reason", "headerName": "Why", "flex": 1},
                        ],
                        rowData=[],
                        defaultColDef={"resizable": True, "sortable": True, "filter": True},
                        dashGridOptions={"domLayout": "autoHeight"},
                    ),
                ],
                className="pf-section",
            ),
            dcc.Store(id="targets-version", data=0),
        ]
    )


def _filter(label: str, ident: str, values: list[str], value: str | None) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=ident),
            dcc.Dropdown(
                id=ident,
                options=[{"label": v, "value": v} for v in values],
                value=value,
                clearable=False,
            ),
        ],
        className="pf-filter",
    )


@dash.callback(
    Output("targets-cards", "children"),
    Output("targets-kind", "value"),
    Output("targets-level", "value"),
    Output("targets-grid", "rowData"),
    Input("targets-warehouse", "value"),
    Input("targets-category", "value"),
    Input("targets-version", "data"),
)
def _category(
    warehouse_id: str | None, category: str | None, _version: int | None
) -> tuple[list[Any], str, float | None, list[dict[str, Any]]]:
    if not warehouse_id or not category:
        raise dash.exceptions.PreventUpdate
    engine = context.state().engine
    with context.snapshot() as snap:
        found = service.category_view(snap, engine, warehouse_id, category)
    now = found.standing
    stored = found.stored
    today = service.expected_cost(found.replays, now.kind, now.level) if now else None
    cards = [
        kpi_card(
            "Tonight's plan",
            _label(now.kind, now.level) if now else "–",
            detail=f"{category} at {warehouse_id}, {now.lines:,} series" if now else "not planned",
        ),
        kpi_card(
            "Stored for the next night",
            _label(stored.kind, stored.level) if stored else "the default",
            detail=f"by {stored.updated_by}: {stored.reason}" if stored else "no target of its own",
            tone="warn"
            if stored and now and (stored.kind, stored.level) != (now.kind, now.level)
            else "neutral",
        ),
        kpi_card(
            "Stock at tonight's target",
            _millions(today.inventory) if today else "–",
            detail=f"average value at cost, all of {warehouse_id}",
        ),
        kpi_card(
            f"Share of {category}",
            "–" if found.share is None else f"{found.share * 100:.1f} %",
            detail=f"of {warehouse_id}'s stock value tonight",
        ),
    ]
    kind = stored.kind if stored else (now.kind if now else "unit_fill")
    level = stored.level if stored else (now.level if now else 0.95)
    return cards, kind, round(level * 100, 2), service.stored_targets(engine)


@dash.callback(
    Output("targets-chart", "figure"),
    Output("targets-cost", "children"),
    Output("targets-cost-text", "children"),
    Input("targets-kind", "value"),
    Input("targets-level", "value"),
    State("targets-warehouse", "value"),
    State("targets-category", "value"),
)
def _preview(
    kind: str | None, level: float | None, warehouse_id: str | None, category: str | None
) -> tuple[go.Figure, list[Any], str]:
    if not kind or not warehouse_id or not category:
        raise dash.exceptions.PreventUpdate
    with context.snapshot() as snap:
        found = service.category_view(snap, context.state().engine, warehouse_id, category)
    now = found.standing
    today = service.expected_cost(found.replays, now.kind, now.level) if now else None
    chosen = (
        service.expected_cost(found.replays, kind, level / 100)
        if level is not None and 0 < level < 100
        else None
    )
    return figure(found, kind, today, chosen), *_cost(found, today, chosen)


def figure(
    found: service.Category, kind: str, today: service.Cost | None, chosen: service.Cost | None
) -> go.Figure:
    """The policies' frontiers on the service ``kind`` is measured by, today and the choice."""
    measure = service.SERVICE_OF_KIND[kind]
    points = service.frontier_points(found.replays)
    best = service.efficient(found.replays, measure)
    fig = go.Figure()
    for policy in sorted(points["policy"].unique().to_list()):
        mine = policy == service.POLICY_OF_KIND[kind]
        colour = _POLICY_COLOURS.get(policy, "#52606d")
        runs = points.filter(policy=policy)
        line = best.filter(policy=policy)
        fig.add_trace(
            go.Scatter(
                x=[v * 100 for v in line[measure].to_list()],
                y=line["avg_inventory_value"].to_list(),
                mode="lines+markers",
                name=_POLICY_LABELS.get(policy, policy),
                line={"color": colour, "width": 3.5 if mine else 1.5},
                opacity=1.0 if mine else 0.55,
                customdata=line["setting"].to_list(),
                hovertemplate="%{x:.1f} % served, ¥%{y:,.0f} (setting %{customdata})"
                "<extra>" + _POLICY_LABELS.get(policy, policy) + "</extra>",
            )
        )
        off = runs.join(line.select("setting"), on="setting", how="anti")
        if off.height:
            fig.add_trace(
                go.Scatter(
                    x=[v * 100 for v in off[measure].to_list()],
                    y=off["avg_inventory_value"].to_list(),
                    mode="markers",
                    marker={"color": colour, "symbol": "circle-open", "size": 8},
                    opacity=0.55,
                    showlegend=False,
                    hovertemplate="%{x:.1f} %, ¥%{y:,.0f} (not efficient)<extra></extra>",
                )
            )
    for cost, label, symbol, colour, where in (
        (today, "tonight's target", "star", "#111827", "top left"),
        (chosen, "your choice", "diamond", "#b91c1c", "bottom left"),
    ):
        if cost is not None and cost.inventory is not None and cost.service == measure:
            fig.add_trace(
                go.Scatter(
                    x=[cost.level * 100],
                    y=[cost.inventory],
                    mode="markers+text",
                    marker={
                        "symbol": symbol,
                        "size": 18,
                        "color": colour,
                        "line": {"color": "#fff", "width": 1},
                    },
                    text=[f"{label}: {cost.level * 100:.1f} %, {_millions(cost.inventory)}"],
                    textposition=where,
                    name=label,
                    hoverinfo="skip",
                )
            )
    fig.update_layout(
        xaxis_title=f"{_SERVICE_LABELS[measure]} (%)",
        yaxis_title="average inventory value (CNY)",
        yaxis_tickprefix="¥",
        yaxis_tickformat=",.3s",
        margin={"l": 70, "r": 20, "t": 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eef2f6", ticksuffix="")
    fig.update_yaxes(showgrid=True, gridcolor="#eef2f6", rangemode="tozero")
    return fig


def _cost(
    found: service.Category, today: service.Cost | None, chosen: service.Cost | None
) -> tuple[list[Any], str]:
    if chosen is None:
        return [], "Enter a level between 50 and 99.9 %."
    if chosen.inventory is None:
        reach = (
            f"{(chosen.low or 0) * 100:.1f}-{(chosen.high or 0) * 100:.1f} %"
            if chosen.low is not None
            else "nothing"
        )
        return [], (
            f"{chosen.level * 100:.1f} % is outside what the {_POLICY_LABELS[chosen.policy]} "
            f"replays reached at {found.warehouse_id} ({reach}): no cost can be read off the curve."
        )
    cards = [
        kpi_card(
            "Expected stock at your choice",
            _millions(chosen.inventory),
            detail=f"{_label(chosen.kind, chosen.level)}, all of {found.warehouse_id}",
            ident="targets-expected",
        )
    ]
    text = (
        f"To serve {chosen.level * 100:.1f} % ({_SERVICE_LABELS[chosen.service]}), the "
        f"{_POLICY_LABELS[chosen.policy]} policy's frontier holds about "
        f"{money(chosen.inventory)} of stock on average at {found.warehouse_id}."
    )
    if today is not None and today.inventory is not None and today.service == chosen.service:
        change = chosen.inventory - today.inventory
        cards.append(
            kpi_card(
                "Change vs tonight's target",
                f"{'+' if change >= 0 else '−'}{_millions(abs(change))}",
                detail=f"{change / today.inventory * 100:+.1f} % of {_millions(today.inventory)}",
                tone="warn" if change > 0 else ("good" if change < 0 else "neutral"),
            )
        )
        if found.share is not None:
            cards.append(
                kpi_card(
                    f"… of which {found.category} (estimate)",
                    f"{'+' if change >= 0 else '−'}{_millions(abs(change) * found.share)}",
                    detail=f"at its {found.share * 100:.1f} % share of the stock value",
                )
            )
        text += (
            f" Tonight's target ({_label(today.kind, today.level)}) holds "
            f"{money(today.inventory)}. The replays cover the whole warehouse; the "
            f"{found.category} figure scales the change by the category's share of the stock."
        )
    return cards, text


@dash.callback(
    Output("targets-outcome", "children"),
    Output("targets-version", "data"),
    Input("targets-set", "n_clicks"),
    Input("targets-remove", "n_clicks"),
    State("targets-category", "value"),
    State("targets-kind", "value"),
    State("targets-level", "value"),
    State("targets-reason", "value"),
    State("targets-version", "data"),
    prevent_initial_call=True,
)
def _change(
    _set: int | None,
    _remove: int | None,
    category: str | None,
    kind: str | None,
    level: float | None,
    reason: str | None,
    version: int | None,
) -> tuple[html.Div, Any]:
    engine = context.state().engine
    who = context.planner()
    if dash.ctx.triggered_id == "targets-remove":
        outcome = service.remove_target(engine, who, "category", category or "", reason)
    else:
        with context.snapshot() as snap:
            outcome = service.set_target(
                engine,
                snap,
                who,
                {
                    "scope": "category",
                    "key": category,
                    "kind": kind,
                    "level": None if level is None else level / 100,
                    "reason": reason,
                },
            )
    shown = html.Div(
        ("✓ " if outcome.ok else "✗ refused: ") + outcome.message,
        className="pf-ok" if outcome.ok else "pf-refused",
        style={"color": "var(--pf-good)" if outcome.ok else "var(--pf-bad)", "margin": ".4rem 0"},
    )
    # A refusal leaves the form as typed (a new version would reload it from the store).
    return shown, (version or 0) + 1 if outcome.ok else dash.no_update


def _label(kind: str, level: float) -> str:
    return f"{service.KIND_LABELS.get(kind, kind).split(' (')[0]} {level * 100:.1f} %"


def _millions(value: float | None) -> str:
    if value is None:
        return "–"
    return f"¥{value / 1e6:,.2f} M" if abs(value) >= 1e6 else money(value)
