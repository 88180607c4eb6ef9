"""Group seasonal indices: the calendar shape of demand, learnt from a group's total.

A single spare-parts series is too sparse to show a weekday pattern, a
season or a promotion, but the sum over its peer group (a category at a
warehouse, or all series) shows them clearly. The engine therefore
*deseasonalises* every series by its group's index before fitting
(``y / I(t)``), lets the per-series model estimate the series' share of its
group, and multiplies the forecast by the group's index for the forecast
periods (group seasonal indices, Withycombe 1989; Chen & Boylan 2007 show
they help exactly where series are short and noisy).

The index of group ``g`` at period ``t`` is ``w_g(weekday of t) · a_g(t)``:

* ``w`` — the weekday factor (daily data only): demand on each weekday over
  the last whole weeks (up to 52) relative to the weekly mean;
* ``a`` — the level path: the weekday-free total ``B`` smoothed over
  ``SMOOTH`` periods, relative to its mean. Inside the history it is the
  observed path. For a forecast period it is last year's path at the same
  point (364 days / 52 weeks / 12 months earlier, so weekdays line up),
  scaled by how this year's recent ``RECENT`` periods compare with the same
  periods last year (trend); with less than a year plus ``RECENT`` periods
  of group history it is the recent level, flat over the horizon.

A group whose total is too thin (mean below ``MIN_RATE`` units a period, or
fewer than ``MIN_SERIES`` series: a profile is for pooling many series, not
for following one) takes the profile of all groups together; if that is thin too the index is
1 (no adjustment). Every quantity is computed from periods up to the origin
only, so a backtest origin never sees its own future. Models are
scale-equivariant, so how the index is normalised does not change a
forecast; it is normalised to mean 1 over the last year of history so that
deseasonalised series stay in units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from models.series import polars_offset

FloatArray = npt.NDArray[np.float64]

#: Periods in a year, chosen so that daily data keeps its weekdays (52 weeks).
YEAR: dict[str, int] = {"D": 364, "W": 52, "MS": 12}
#: Recent periods whose level sets the forecast level (and the trend).
RECENT: dict[str, int] = {"D": 28, "W": 4, "MS": 3}
#: Width of the centred moving average over the weekday-free total.
SMOOTH: dict[str, int] = {"D": 7, "W": 3, "MS": 1}
#: Units an estimate (a smoothed level, the recent level) should rest on.
PRECISION_UNITS = 1000.0
#: A group needs this mean demand a period (units) for a profile of its own.
MIN_RATE: dict[str, float] = {"D": 10.0, "W": 70.0, "MS": 300.0}
#: Days of daily totals callers should give the indices: a year plus the
#: recent periods lets the forecast follow last year's path, a second year
#: gives the backtest origins the same.
TOTALS_DAYS = 730
#: The group that stands for all series (and for thin groups).
ALL = "__all__"
#: ``group, ds, y, series``: the demand total of each group per period and
#: how many series it sums.
AGGREGATE = pl.Schema({"group": pl.String, "ds": pl.Date, "y": pl.Float64, "series": pl.Int64})
#: A group needs this many series for a profile of its own: pooling is the point.
MIN_SERIES = 20


def period_number(ds: pl.Expr, freq: str) -> pl.Expr:
    """A consecutive integer per period (days, weeks or months since 1970)."""
    polars_offset(freq)
    if freq == "MS":
        return (ds.dt.year().cast(pl.Int64) - 1970) * 12 + ds.dt.month().cast(pl.Int64) - 1
    days = ds.cast(pl.Int64)
    return days // 7 if freq == "W" else days


def aggregate(filled: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """``AGGREGATE`` of a ``SERIES`` frame: totals per group (``groups``: ``unique_id, group``)."""
    return (
        filled.join(groups.select("unique_id", "group"), on="unique_id", how="left")
        .with_columns(pl.col("group").fill_null(ALL))
        .group_by("group", "ds")
        .agg(pl.col("y").sum(), series=pl.len().cast(pl.Int64))
        .select(AGGREGATE.names())
        .cast(AGGREGATE)
    )


@dataclass(frozen=True)
class GroupIndex:
    """Indices of several groups over consecutive periods (rows: ``groups``)."""

    groups: tuple[str, ...]
    first: date  # the period of column 0
    matrix: FloatArray  # (groups, periods), positive
    freq: str

    def factors(self, series: pl.DataFrame, groups: pl.DataFrame) -> FloatArray:
        """The index of every row of ``series`` (``unique_id, ds``) by its series' group.

        ``groups`` maps ``unique_id`` to ``group``; series without a group,
        or whose group has no index, take ``ALL``'s. Rows are read in order.
        """
        codes = {name: i for i, name in enumerate(self.groups)}
        # One lookup per run of equal ids (series are contiguous in the engine's frames).
        runs = series.select(pl.col("unique_id").rle()).unnest("unique_id")
        run_code = (
            runs.join(
                groups.select(value="unique_id", group="group"),
                on="value",
                how="left",
                maintain_order="left",
            )
            .select(
                pl.col("group")
                .fill_null(ALL)
                .replace_strict(codes, default=codes[ALL], return_dtype=pl.Int64)
            )
            .to_series()
            .to_numpy()
        )
        lengths = runs["len"].to_numpy().astype(np.int64)
        code = np.repeat(run_code, lengths)
        start = pl.select(period_number(pl.lit(self.first), self.freq)).item()
        dense = self._dense_columns(series, lengths, start)
        col = (
            series.select(period_number(pl.col("ds"), self.freq) - start).to_series().to_numpy()
            if dense is None
            else dense
        )
        col = np.clip(col, 0, self.matrix.shape[1] - 1)
        return self.matrix[code, col]

    def _dense_columns(
        self, series: pl.DataFrame, lengths: npt.NDArray[np.int64], start: int
    ) -> npt.NDArray[np.int64] | None:
        """Columns of rows in runs of consecutive periods (the engine's filled frames), else None.

        Reads the period of each run's first and last row only and assumes the
        rows of a series are sorted by ``ds`` without duplicates (as in every
        frame the engine builds): a run whose span equals its length is then
        consecutive.
        """
        if not lengths.size:
            return np.zeros(0, dtype=np.int64)
        first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        ends = series["ds"].gather(np.concatenate([first, first + lengths - 1]))
        periods = ends.to_frame("ds").select(period_number(pl.col("ds"), self.freq))
        periods_ = periods.to_series().to_numpy().astype(np.int64)
        head, tail = periods_[: lengths.size], periods_[lengths.size :]
        if not np.array_equal(tail - head, lengths - 1):
            return None
        return np.arange(int(lengths.sum())) + np.repeat(head - start - first, lengths)


def deseasonalise(filled: pl.DataFrame, groups: pl.DataFrame, index: GroupIndex) -> pl.DataFrame:
    """``filled`` (``SERIES``) with ``y`` divided by each row's group index."""
    return filled.with_columns(y=pl.Series(filled["y"].to_numpy() / index.factors(filled, groups)))


def reseasonalise(
    forecasts: pl.DataFrame,
    groups: pl.DataFrame,
    index: GroupIndex,
    columns: Sequence[str] = ("mean",),
) -> pl.DataFrame:
    """``forecasts`` (``unique_id, ds`` + ``columns``) with each column multiplied by the index."""
    factor = pl.Series(index.factors(forecasts, groups))
    return forecasts.with_columns(pl.col(c) * factor for c in columns)


def group_index(totals: pl.DataFrame, origin: date, horizon: int, freq: str) -> GroupIndex:
    """The index of every group of ``totals`` (plus ``ALL``) from the first period to the horizon.

    Parameters
    ----------
    totals
        ``AGGREGATE``; periods after ``origin`` are ignored, missing ones are 0.
    origin
        The last period of history.
    horizon
        Periods to extend the index beyond ``origin``.
    freq
        ``D``, ``W`` or ``MS``.

    Returns
    -------
    GroupIndex
        Positive indices for the periods from the first one in ``totals`` to
        ``origin + horizon``; all ones if ``totals`` has nothing up to ``origin``.
    """
    totals = totals.cast(AGGREGATE).filter(pl.col("ds") <= origin)
    if totals.is_empty():
        return GroupIndex((ALL,), origin, np.ones((1, horizon + 1)), freq)
    everything = (
        totals.group_by("ds").agg(pl.col("y", "series").sum()).with_columns(group=pl.lit(ALL))
    )
    totals = pl.concat([totals.filter(pl.col("group") != ALL), everything.select(totals.columns)])
    first = totals["ds"].min()
    assert isinstance(first, date)
    dates = pl.date_range(first, origin, interval=polars_offset(freq), eager=True)
    future = pl.select(
        ds=pl.lit(origin).dt.offset_by(
            pl.concat_str(pl.int_range(1, horizon + 1), pl.lit(polars_offset(freq)[1:]))
        )
    ).to_series()
    names = tuple(str(g) for g in totals["group"].unique().sort())
    codes = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), dates.len()))
    start = pl.select(period_number(pl.lit(first), freq)).item()
    col = totals.select(period_number(pl.col("ds"), freq) - start).to_series().to_numpy()
    row = totals.select(pl.col("group").replace_strict(codes, return_dtype=pl.Int64))
    np.add.at(matrix, (row.to_series().to_numpy(), col), totals["y"].to_numpy())
    members = np.zeros(len(names), dtype=np.int64)
    np.maximum.at(members, row.to_series().to_numpy(), totals["series"].to_numpy())
    weekday = _weekdays(dates, freq)
    index = np.stack(
        [_profile(total, weekday, _weekdays(future, freq), horizon, freq) for total in matrix]
    )
    rate = matrix[:, -min(matrix.shape[1], YEAR[freq]) :].mean(axis=1)
    thin = (rate < MIN_RATE[freq]) | (members < MIN_SERIES)
    if thin[codes[ALL]]:
        index[:] = 1.0
    else:
        index[thin] = index[codes[ALL]]
    return GroupIndex(names, first, index, freq)


def _weekdays(dates: pl.Series, freq: str) -> npt.NDArray[np.int64]:
    """Monday = 0 … Sunday = 6 for daily data; all 0 otherwise."""
    if freq != "D":
        return np.zeros(dates.len(), dtype=np.int64)
    return dates.dt.weekday().to_numpy().astype(np.int64) - 1


def _profile(
    total: FloatArray,
    weekday: npt.NDArray[np.int64],
    future_weekday: npt.NDArray[np.int64],
    horizon: int,
    freq: str,
) -> FloatArray:
    """One group's index over its history and the horizon (see the module notes)."""
    n, year = total.size, YEAR[freq]
    level = total[max(0, n - year) :].mean()
    if level <= 0:
        return np.ones(n + horizon)
    # Thin groups average over more periods so that each estimate rests on
    # about PRECISION_UNITS units (a few per cent of Poisson noise).
    spread = int(np.ceil(PRECISION_UNITS / level))
    width = min(max(SMOOTH[freq], spread | 1), max(year // 4, 1) | 1)
    recent = min(max(RECENT[freq], spread), max(year // 4, 1), n)
    week = np.ones(7)
    if freq == "D" and n >= 28:
        whole = (min(n, year) // 7) * 7
        days = weekday[n - whole :]
        by_day = np.array([total[n - whole :][days == d].mean() for d in range(7)])
        week = np.clip(by_day / by_day.mean(), 0.05, None)
    plain = total / week[weekday]
    level = plain[max(0, n - year) :].mean()
    smooth = np.maximum(_centred_mean(plain, width), 0.1 * level)
    now = plain[n - recent :].mean()
    if n >= year + recent and horizon <= year:
        before = plain[n - year - recent : n - year].mean()
        trend = float(np.clip(now / before, 0.5, 2.0)) if before > 0 else 1.0
        path = smooth[n - 1 - year + np.arange(1, horizon + 1)] * trend
    else:
        path = np.full(horizon, max(now, 0.1 * level))
    return np.concatenate([smooth / level * week[weekday], path / level * week[future_weekday]])


def _centred_mean(values: FloatArray, width: int) -> FloatArray:
    """Centred moving mean; the window shrinks at both ends."""
    if width <= 1:
        return values.copy()
    half = width // 2
    csum = np.concatenate([[0.0], np.cumsum(values)])
    n = values.size
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (csum[hi] - csum[lo]) / (hi - lo)


@dataclass(frozen=True)
class Seasonality:
    """What the engine needs to apply group indices at any origin: the totals and the groups."""

    totals: pl.DataFrame  # AGGREGATE
    groups: pl.DataFrame  # unique_id, group
    freq: str

    def index(self, origin: date, horizon: int) -> GroupIndex:
        """The groups' indices from history up to ``origin``, ``horizon`` periods ahead."""
        return group_index(self.totals, origin, horizon, self.freq)
