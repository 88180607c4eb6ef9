"""Runs: the nightly runs (and the replays between them), their status, time and counts.

From the snapshot's run history (``published.run_history``: the last 30
nights). A run's steps are read from its summary: the counts each step
produced, and each step's seconds where the run recorded them
(``step_seconds``). With ``PREFECT_API_URL`` set, a link opens the Prefect UI
(its flow runs hold the task-by-task timeline).
"""

from __future__ import annotations

import json
import os
from typing import Any

import dash
import dash_ag_grid as dag
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, dcc, html

from dashboard import context
from dashboard.components import as_float, csv_download, kpi_card, no_plan, page_title
from warehouse import published

dash.register_page(__name__, path="/runs", name="Runs", order=6, title="Runs · partsflow planning")

#: A nightly's steps in order, with the summary counts each produced.
STEPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("ingest", (("files_ingested", "files"), ("rows_loaded", "rows loaded"),
                ("rows_quarantined", "rows quarantined"))),
    ("forecast", (("series_forecast", "series"), ("series_reselected", "models re-selected"),
                  ("censored_days", "stock-out days censored"))),
    ("plan", (("series_held", "series held"), ("lines_proposed", "lines proposed"),
              ("units_allocated", "units allocated"), ("lines_cut", "lines cut"),
              ("transfer_orders", "transfer orders"), ("pull_back_lines", "pull-back lines"))),
    ("line-haul", (("linehaul_vans", "vans"), ("linehaul_trips", "trips"),
                   ("linehaul_km", "km"))),
    ("replay", ()),
    ("coverage", (("stores_flagged", "stores flagged"),)),
    ("purchase", (("purchase_orders", "orders"), ("purchase_units", "units"))),
)  # fmt: skip

_COLUMNS = [
    {"field": "status", "headerName": "Status", "width": 110, "filter": True,
     "cellClassRules": {"pf-cell-high": "params.value == 'failed'",
                        "pf-cell-low": "params.value == 'running'"}},
    {"field": "kind", "headerName": "Kind", "width": 100, "filter": True},
    {"field": "run_id", "headerName": "Run", "width": 290, "filter": True},
    {"field": "as_of", "headerName": "As of", "width": 115},
    {"field": "started", "headerName": "Started (UTC)", "width": 160},
    {"field": "minutes", "headerName": "Minutes", "width": 100, "type": "rightAligned",
     "valueFormatter": {"function": "params.value == null ? '' : params.value.toFixed(1)"}},
    {"field": "counts", "headerName": "What it did", "flex": 1, "minWidth": 300,
     "wrapText": True, "autoHeight": True, "cellStyle": {"lineHeight": "1.35", "padding": "6px"}},
]  # fmt: skip


def layout(**_: str) -> html.Div:
    """The page: the latest nights at a glance, the runs in a grid, the clicked run's steps."""
    try:
        with context.snapshot() as con:
            runs = published.run_history(con)
            current = published.published_run(con).run_id
    except published.SnapshotError as error:
        return html.Div([page_title("Runs"), no_plan(error)])
    rows = [_row(r) for r in runs.iter_rows(named=True)]
    prefect = os.environ.get("PREFECT_API_URL")
    links: list[Any] = []
    if prefect:
        ui = prefect.rstrip("/").removesuffix("/api")
        links.append(html.A("Open the Prefect UI", href=f"{ui}/runs", target="_blank"))
    return html.Div(
        [
            page_title(
                "Runs",
                f"The last nights' runs as of the published one ({current}); failed runs keep "
                "their error.",
            ),
            html.Div(_cards(runs), className="pf-kpis"),
            html.Div(
                [
                    *links,
                    html.Span(style={"flex": 1}),
                    csv_download("runs-grid", filename="runs.csv"),
                ],
                className="pf-toolbar",
            ),
            dag.AgGrid(
                id="runs-grid",
                columnDefs=_COLUMNS,
                rowData=rows,
                getRowId="params.data.run_id",
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={"animateRows": False, "domLayout": "autoHeight"},
                className="ag-theme-alpine",
            ),
            html.Div(id="runs-detail", style={"marginTop": "1rem"}),
            dcc.Store(id="runs-current", data=current),
        ]
    )


def _row(run: dict[str, Any]) -> dict[str, Any]:
    summary = json.loads(run["summary"] or "{}")
    finished, started = run["finished_at"], run["started_at"]
    counts = [
        f"{label} {summary[key]:,}"
        for _step, fields in STEPS
        for key, label in fields[:2]
        if isinstance(summary.get(key), int | float)
    ]
    return {
        "run_id": run["run_id"],
        "kind": run["kind"],
        "status": run["status"],
        "as_of": str(run["as_of"] or ""),
        "started": f"{started:%Y-%m-%d %H:%M}",
        "minutes": (finished - started).total_seconds() / 60 if finished else None,
        "counts": run["error"] if run["status"] == "failed" else "; ".join(counts[:6]),
    }


def _cards(runs: pl.DataFrame) -> list[html.Div]:
    nightly = runs.filter(pl.col("kind") == "nightly")
    failed = nightly.filter(pl.col("status") == "failed").height
    done = nightly.filter(pl.col("finished_at").is_not_null())
    minutes = (done["finished_at"] - done["started_at"]).dt.total_seconds() / 60
    last = nightly.row(0, named=True) if nightly.height else None
    return [
        kpi_card(
            "Latest night",
            last["status"] if last else "–",
            detail=f"as of {last['as_of']}, started {last['started_at']:%d %b %H:%M} UTC"
            if last
            else None,
            tone="bad" if last and last["status"] == "failed" else "good",
            ident="runs-latest",
        ),
        kpi_card("Nights listed", f"{nightly.height:,}", detail=f"{failed} failed"),
        kpi_card(
            "Typical night",
            f"{as_float(minutes.median()):.1f} min" if minutes.len() else "–",
            detail=f"longest {as_float(minutes.max()):.1f} min" if minutes.len() else None,
        ),
    ]


@dash.callback(
    Output("runs-detail", "children"),
    Input("runs-grid", "cellClicked"),
    Input("runs-current", "data"),
)
def _detail(clicked: dict[str, Any] | None, current: str) -> Any:
    run_id = (clicked or {}).get("rowId") or current
    with context.snapshot() as con:
        runs = published.run_history(con)
    found = runs.filter(pl.col("run_id") == run_id)
    if found.is_empty():
        raise dash.exceptions.PreventUpdate
    run = found.row(0, named=True)
    summary = json.loads(run["summary"] or "{}")
    seconds = summary.get("step_seconds") or {}
    items = []
    for step, fields in STEPS:
        counts = [
            f"{summary[key]:,} {label}"
            for key, label in fields
            if isinstance(summary.get(key), int | float)
        ]
        if counts or step in seconds:
            items.append(
                html.Tr(
                    [
                        html.Td(step),
                        html.Td(
                            f"{seconds[step]:.1f} s" if step in seconds else "–", className="num"
                        ),
                        html.Td(", ".join(counts)),
                    ]
                )
            )
    parts: list[Any] = [html.H2(f"{run['kind']} run {run['run_id']} · {run['status']}")]
    if run["error"]:
        parts.append(html.P(run["error"], className="pf-notice"))
    if items:
        parts.append(
            html.Table(
                [
                    html.Thead(html.Tr([html.Th(h) for h in ("step", "time", "rows and counts")])),
                    html.Tbody(items),
                ],
                className="pf-table",
                id="runs-steps",
            )
        )
    if seconds:
        names = [step for step, _ in STEPS if step in seconds]
        figure = go.Figure(go.Bar(x=[seconds[n] for n in names], y=names, orientation="h"))
        figure.update_layout(
            height=60 + 28 * len(names),
            margin={"l": 110, "r": 10, "t": 10, "b": 30},
            plot_bgcolor="#fff",
            xaxis={"title": "seconds", "gridcolor": "#eef1f4"},
            yaxis={"autorange": "reversed"},
        )
        parts.append(dcc.Graph(figure=figure, config={"displayModeBar": False}))
    elif run["kind"] == "nightly":
        parts.append(
            html.P(
                "This run recorded no per-step times (a run from before they were recorded).",
                className="pf-status",
            )
        )
    return html.Div(parts, className="pf-section")
