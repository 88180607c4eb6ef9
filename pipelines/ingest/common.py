"""What every kind's loader shares: the file context and the row outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.validate import REASON, ok

OUTCOME = "outcome"
INSERTED = "inserted"
UPDATED = "updated"
UNCHANGED = "unchanged"
#: Already present too: an order line's status from a file older than the one that set
#: the loaded status (``freshness``), which it must not undo. Counted as unchanged.
OLDER = "older"
QUARANTINED = "quarantined"
SHANGHAI = "Asia/Shanghai"


@dataclass(frozen=True)
class LoadContext:
    """The file being loaded: where it came from and when it is loaded.

    ``replay``: this exact file (same SHA-256) was ingested before, so its
    events (order status changes) have been applied already. None (before
    the read) means "as the database records it": ingestion takes
    ``Existing.ingested_before``; a quarantine retry says False, since the
    rows it retries were never applied.
    """

    source_file: str
    sha256: str
    now: datetime
    replay: bool | None = None


def outcomes(frame: pl.DataFrame, decided: pl.DataFrame | None = None) -> pl.DataFrame:
    """``row_number``, ``outcome``, ``reason`` for every row of ``frame``.

    Rows with a reason are quarantined; the other rows take their outcome
    from ``decided`` (``row_number``, ``outcome``) and default to unchanged.
    """
    result = frame.select(ROW_NUMBER, REASON)
    if decided is not None and decided.height:
        result = result.join(
            decided.select(ROW_NUMBER, OUTCOME), on=ROW_NUMBER, how="left", maintain_order="left"
        )
    else:
        result = result.with_columns(pl.lit(None, pl.String).alias(OUTCOME))
    return result.select(
        ROW_NUMBER,
        pl.when(~ok())
        .then(pl.lit(QUARANTINED))
        .otherwise(pl.col(OUTCOME).fill_null(UNCHANGED))
        .alias(OUTCOME),
        pl.col(REASON).alias("reason"),
    )


def shanghai_date(column: str) -> pl.Expr:
    """The Asia/Shanghai calendar date of a UTC timestamp column."""
    return pl.col(column).dt.convert_time_zone(SHANGHAI).dt.date()
