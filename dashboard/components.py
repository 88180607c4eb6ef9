"""Pieces every page shares: CSV download of a grid, KPI cards, the no-plan notice.

CSV download
------------
``csv_download(grid_id)`` is a "Download CSV" button for a dash-ag-grid whose
rows are all in the browser (``rowModelType`` ``clientSide``, the default):
the grid itself writes the CSV of its current filter and sort, every row that
passes the filter (not only the rows shown).

A server-side-paged grid (``rowModelType="infinite"``) holds only the pages
it loaded, so its CSV is made on the server from the whole filtered set:
register, once at the page module's import, a function that produces the
frame from the grid's filter and sort and the page's own parameters, and
name it in ``source``::

    def _lines(request: CsvRequest) -> pl.DataFrame: ...   # every filtered row
    register_csv_source("plan-lines", _lines)
    csv_download("plan-grid", source="plan-lines", params={"warehouse_id": "FW01"})

``params`` (JSON) travel in a ``dcc.Store`` whose id is
:func:`csv_params_id` (``grid_id``): a page callback may update its ``data``
when the page's own filters (a warehouse picker) change. :func:`filter_frame`
applies an AG Grid filter and sort model to a polars frame, for sources (and
``getRows`` callbacks) that filter in memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dash
import polars as pl
from dash import MATCH, Input, Output, State, dcc, html
from dash.dcc.express import send_string

from warehouse import published

_CSV_SOURCES: dict[str, Callable[[CsvRequest], pl.DataFrame]] = {}


@dataclass(frozen=True)
class CsvRequest:
    """What a server-side CSV source gets: the grid's filter and sort, the page's params."""

    grid_id: str
    filter_model: Mapping[str, Any] = field(default_factory=dict)
    sort_model: Sequence[Mapping[str, Any]] = ()
    params: Mapping[str, Any] = field(default_factory=dict)


def register_csv_source(name: str, produce: Callable[[CsvRequest], pl.DataFrame]) -> None:
    """Name a function that produces a server-side grid's whole filtered frame (see module)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ValueError(f"a CSV source name is lower-case letters, digits, - and _, got {name!r}")
    _CSV_SOURCES[name] = produce


def csv_params_id(grid_id: str) -> dict[str, str]:
    """The id of the ``dcc.Store`` holding a server-side CSV's page parameters."""
    return {"type": "pf-csv-params", "grid": grid_id}


def csv_download(
    grid_id: str,
    *,
    source: str | None = None,
    params: Mapping[str, Any] | None = None,
    filename: str | None = None,
    label: str = "Download CSV",
) -> html.Div:
    """A button that downloads ``grid_id``'s current filter as CSV (see the module).

    Parameters
    ----------
    grid_id
        The dash-ag-grid's id (a string).
    source
        The name of a registered source for a server-side-paged grid; None for a
        grid holding all its rows in the browser.
    params
        The page's parameters given to the source (JSON values).
    filename
        The file's name; default ``<grid_id>.csv``.
    """
    name = filename or f"{grid_id}.csv"
    return html.Div(
        [
            html.Button(
                label,
                id={"type": "pf-csv-button", "grid": grid_id},
                className="pf-button pf-csv",
                n_clicks=0,
            ),
            dcc.Store(
                id={"type": "pf-csv-request", "grid": grid_id},
                data={"source": source or "", "fileName": name},
            ),
            dcc.Store(id=csv_params_id(grid_id), data=dict(params or {})),
            dcc.Download(id={"type": "pf-csv-file", "grid": grid_id}),
        ],
        className="pf-csv-box",
    )


# In the browser: a client-side grid exports itself; a server-side one sends its filter and
# sort to the server (the request store), whose callback answers with the file.
_EXPORT_JS = """
function(clicks, id, meta) {
    if (!clicks) { return window.dash_clientside.no_update; }
    const api = dash_ag_grid.getApi(id.grid);
    if (!meta.source) {
        api.exportDataAsCsv({fileName: meta.fileName});
        return window.dash_clientside.no_update;
    }
    const sort = api.getColumnState().filter(c => c.sort).map(
        c => ({colId: c.colId, sort: c.sort, sortIndex: c.sortIndex}));
    return {source: meta.source, fileName: meta.fileName,
            filterModel: api.getFilterModel() || {}, sortModel: sort, n: clicks};
}
"""


def register_callbacks(app: dash.Dash) -> None:
    """The shared components' callbacks, once per app (pattern-matched on the grid's id)."""
    app.clientside_callback(
        _EXPORT_JS,
        Output({"type": "pf-csv-request", "grid": MATCH}, "data"),
        Input({"type": "pf-csv-button", "grid": MATCH}, "n_clicks"),
        State({"type": "pf-csv-button", "grid": MATCH}, "id"),
        State({"type": "pf-csv-request", "grid": MATCH}, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output({"type": "pf-csv-file", "grid": MATCH}, "data"),
        Input({"type": "pf-csv-request", "grid": MATCH}, "data"),
        State({"type": "pf-csv-params", "grid": MATCH}, "data"),
        State({"type": "pf-csv-request", "grid": MATCH}, "id"),
        prevent_initial_call=True,
    )
    def _server_csv(
        request: dict[str, Any] | None, params: dict[str, Any] | None, ident: dict[str, str]
    ) -> dict[str, Any]:
        if not request or "n" not in request or request.get("source") not in _CSV_SOURCES:
            raise dash.exceptions.PreventUpdate
        produce = _CSV_SOURCES[request["source"]]
        frame = produce(
            CsvRequest(
                grid_id=ident["grid"],
                filter_model=request.get("filterModel") or {},
                sort_model=request.get("sortModel") or [],
                params=params or {},
            )
        )
        return dict(send_string(frame.write_csv(), request.get("fileName") or "export.csv"))


def filter_frame(
    frame: pl.DataFrame,
    filter_model: Mapping[str, Any] | None,
    sort_model: Sequence[Mapping[str, Any]] = (),
) -> pl.DataFrame:
    """``frame`` filtered and sorted as an AG Grid filter and sort model say.

    Handles the community filters: ``text`` (contains, notContains, equals,
    notEqual, startsWith, endsWith, blank, notBlank), ``number`` (equals,
    notEqual, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual,
    inRange, blank, notBlank) and ``date`` (the same on ISO dates), each
    alone or two joined by AND/OR. A column the frame lacks is ignored.
    """
    for column, spec in (filter_model or {}).items():
        if column in frame.columns:
            frame = frame.filter(_condition(pl.col(column), spec))
    sorts = [s for s in sort_model if s.get("colId") in frame.columns]
    sorts.sort(key=lambda s: s.get("sortIndex") or 0)
    if sorts:
        frame = frame.sort(
            [s["colId"] for s in sorts],
            descending=[s.get("sort") == "desc" for s in sorts],
            nulls_last=True,
        )
    return frame


def _condition(column: pl.Expr, spec: Mapping[str, Any]) -> pl.Expr:  # noqa: PLR0911
    if "conditions" in spec or "condition1" in spec:
        parts = spec.get("conditions") or [spec["condition1"], spec["condition2"]]
        exprs = [
            _condition(column, {**part, "filterType": spec.get("filterType")}) for part in parts
        ]
        joined = exprs[0]
        for expr in exprs[1:]:
            joined = joined | expr if spec.get("operator") == "OR" else joined & expr
        return joined
    kind, op = spec.get("filterType", "text"), spec.get("type", "contains")
    if op == "blank":
        return column.is_null()
    if op == "notBlank":
        return column.is_not_null()
    if kind == "text":
        value = str(spec.get("filter") or "").lower()
        text = column.cast(pl.String).str.to_lowercase()
        return {
            "contains": text.str.contains(value, literal=True),
            "notContains": ~text.str.contains(value, literal=True),
            "equals": text == value,
            "notEqual": text != value,
            "startsWith": text.str.starts_with(value),
            "endsWith": text.str.ends_with(value),
        }.get(op, pl.lit(True))
    if kind == "date":
        low, high = (_day(spec.get("dateFrom")), _day(spec.get("dateTo")))
    else:
        low, high = spec.get("filter"), spec.get("filterTo")
    if low is None:
        return pl.lit(True)
    compare = {
        "equals": column == low,
        "notEqual": column != low,
        "lessThan": column < low,
        "lessThanOrEqual": column <= low,
        "greaterThan": column > low,
        "greaterThanOrEqual": column >= low,
    }
    if op == "inRange" and high is not None:
        return (column >= low) & (column <= high)
    return compare.get(op, pl.lit(True))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def kpi_card(
    label: str, value: str, *, detail: str | None = None, tone: str = "neutral", ident: str = ""
) -> html.Div:
    """A headline figure: its label, the value (already formatted), an optional detail line.

    ``tone`` is ``neutral``, ``good``, ``warn`` or ``bad`` (the card's accent).
    """
    children: list[Any] = [
        html.Div(label, className="pf-kpi-label"),
        html.Div(value, className="pf-kpi-value"),
    ]
    if detail:
        children.append(html.Div(detail, className="pf-kpi-detail"))
    if ident:
        return html.Div(children, className=f"pf-kpi pf-kpi-{tone}", id=ident)
    return html.Div(children, className=f"pf-kpi pf-kpi-{tone}")


def page_title(title: str, subtitle: str | None = None) -> html.Div:
    """A page's heading and a one-line explanation under it."""
    parts: list[Any] = [html.H1(title)]
    if subtitle:
        parts.append(html.P(subtitle, className="pf-subtitle"))
    return html.Div(parts, className="pf-title")


def no_plan(error: Exception) -> html.Div:
    """What a page shows when there is no readable published plan (yet)."""
    if isinstance(error, published.NoPublishedPlanError):
        text = "No plan is published yet: the pages fill in once the nightly run publishes."
    else:
        text = f"The published plan cannot be read: {error}"
    return html.Div(text, className="pf-notice", role="status")


def percent(value: float | None, digits: int = 1) -> str:
    """``0.9534`` → ``95.3 %``; None → an en dash."""
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def number(value: float | None, digits: int = 0) -> str:
    """Thousands separated; None → an en dash."""
    return "–" if value is None else f"{value:,.{digits}f}"


def money(value: float | None) -> str:
    """Yuan, no decimals."""
    return "–" if value is None else f"¥{value:,.0f}"


def as_float(value: object) -> float:
    """A frame's scalar (``Series.max()`` and the like) as a float; 0 for none."""
    return float(value) if isinstance(value, int | float) else 0.0
