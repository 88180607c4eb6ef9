"""Which of two statements of an order line's status is the newer news.

The order-line format has no time of a status change (no ``updated_at``), so
a status is as new as the file that says it. A file's export time is read
from its *name*, the one thing a re-sent file keeps: the first ``YYYY-MM``,
``YYYY-MM-DD`` or ``YYYY-MM-DDTHHMM[SS]`` in it names the period the file
covers, and the file is as of the end of that period (Asia/Shanghai). The
modification time is not used: a copy, an upload or a download gives an old
file a new one, which is exactly how a re-sent older file would pass for
news. Files of the same period are ordered by name, the order a folder loads
them in (``order_lines_updates_2026-10.csv`` after
``order_lines_store_2026-10.csv``, docs/DATA_FORMATS.md). A file without a
date in its name, and the operational store (``ops:...``, read live), is as
of the moment it is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import polars as pl

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_NAME_DATE = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})(?:-(\d{2})(?:T(\d{2})(\d{2})(\d{2})?)?)?(?!\d)",
)
#: Sources read live, as of the moment they are read (``ops.exports.source_name``).
LIVE_PREFIX = "ops:"
_UTC = pl.Datetime("us", "UTC")


@dataclass(frozen=True, order=True)
class Version:
    """How new a file's statements are: ``as_of``, then ``name`` on a tie."""

    as_of: datetime
    name: str


def _name(source_file: str) -> str:
    if source_file.startswith(LIVE_PREFIX):
        return source_file
    return PurePosixPath(source_file.replace("\\", "/")).name


def named_as_of(name: str) -> datetime | None:
    """The end of the period the first date in ``name`` names (UTC), or None.

    ``2026-10`` → 2026-11-01 00:00, ``2026-10-05`` → 2026-10-06 00:00,
    ``2026-10-05T0330`` → 03:31 (Asia/Shanghai). A string that is not a real
    date (``2026-13``) names nothing.
    """
    match = _NAME_DATE.search(name)
    if match is None:
        return None
    year, month, day, hour, minute, second = (
        int(g) if g is not None else None for g in match.groups()
    )
    assert year is not None and month is not None
    try:
        if day is None:
            start = datetime(year, month, 1, tzinfo=_SHANGHAI)
            end = start.replace(year=year + month // 12, month=month % 12 + 1)
        elif hour is None or minute is None:
            end = datetime(year, month, day, tzinfo=_SHANGHAI) + timedelta(days=1)
        else:
            start = datetime(year, month, day, hour, minute, second or 0, tzinfo=_SHANGHAI)
            end = start + timedelta(seconds=1 if second is not None else 60)
    except ValueError:
        return None
    return end.astimezone(UTC)


def file_version(source_file: str, loaded_at: datetime) -> Version:
    """The version of a file's statements (see the module docstring).

    Parameters
    ----------
    source_file
        The file's recorded path (or ``ops:<url>``).
    loaded_at
        When it was (or is being) loaded: the version of a file without a
        date in its name.
    """
    name = _name(source_file)
    named = None if source_file.startswith(LIVE_PREFIX) else named_as_of(name)
    return Version(named or loaded_at.astimezone(UTC), name)


def loaded_versions(source_file: pl.Expr, loaded_at: pl.Expr, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``version_as_of`` and ``version_name`` of each row's source file.

    The name is parsed once per distinct source (a file holds many lines).
    """
    pairs = frame.select(source_file.alias("__source"), loaded_at.alias("__at"))
    sources = pairs["__source"].unique().drop_nulls().to_list()
    named = pl.DataFrame(
        {
            "__source": sources,
            "__named": [
                None if s.startswith(LIVE_PREFIX) else named_as_of(_name(s)) for s in sources
            ],
            "version_name": [_name(s) for s in sources],
        },
        schema={"__source": pl.String, "__named": _UTC, "version_name": pl.String},
    )
    versions = pairs.join(named, on="__source", how="left", maintain_order="left").select(
        pl.coalesce("__named", pl.col("__at").cast(_UTC)).alias("version_as_of"),
        "version_name",
    )
    return frame.with_columns(versions)
