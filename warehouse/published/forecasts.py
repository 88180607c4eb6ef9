"""Tonight's forecasts, series by series (one series alone: :func:`warehouse.published.series`)."""

from __future__ import annotations

import duckdb

from models.schemas import NETWORK_FORECAST
from warehouse.published._sql import Page, frame

#: One series on one horizon day: the ``forecasts`` table less ``run_id``, as the night
#: wrote it (``partsflow forecast``'s columns plus warehouse, sku and class).
FORECAST_ROWS = NETWORK_FORECAST


def forecasts(
    con: duckdb.DuckDBPyConnection,
    *,
    warehouse_id: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of forecast series, every horizon day of each, by ``unique_id``.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id
        Only this warehouse's series.
    after
        The ``next_after`` of the previous page (a ``unique_id``); None for the first.
    limit
        Series per page (not rows: a page never splits a series), at least 1.

    Returns
    -------
    Page
        ``rows`` are ``FORECAST_ROWS`` by series and day.

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    params = {"warehouse": warehouse_id, "after": after}
    # One series more than asked says whether another page follows.
    ids = con.sql(
        """
        SELECT DISTINCT unique_id FROM forecasts
        WHERE ($warehouse IS NULL OR warehouse_id = $warehouse)
          AND ($after IS NULL OR unique_id > $after)
        ORDER BY unique_id LIMIT $limit
        """,
        params={**params, "limit": limit + 1},
    ).fetchall()
    page = [unique_id for (unique_id,) in ids[:limit]]
    rows = frame(
        con,
        "SELECT * FROM forecasts WHERE list_contains($ids, unique_id) ORDER BY unique_id, ds",
        {"ids": page},
        FORECAST_ROWS,
    )
    return Page(rows, page[-1] if len(ids) > limit else None)
