"""The simulated stock as ``stock_levels`` rows: a change log of end-of-day counts.

A count holds until the next count of the same (warehouse, sku) (the rule of
``docs/DATA_FORMATS.md`` and of ``pipelines.demand_series.stockout_spans``),
so a row is written on the first day a pair is counted and then only on the
days a level changes: the latest row of each pair is its state at the end.
"""

from __future__ import annotations

import numpy as np
import polars as pl

LEVELS = ("on_hand", "reserved", "in_transit")


class ChangeLog:
    """End-of-day levels of ``n`` (warehouse, sku) pairs, kept only where they change.

    Parameters
    ----------
    n
        Number of pairs; a pair is an index into the caller's arrays.
    width
        How many of ``LEVELS`` the pairs carry (the others are always 0).
    """

    def __init__(self, n: int, width: int = len(LEVELS)) -> None:
        self._last = np.zeros((width, n), dtype=np.int64)
        self._counted = np.zeros(n, dtype=bool)
        self._rows: list[tuple[int, np.ndarray, np.ndarray]] = []

    def record(self, day: int, levels: tuple[np.ndarray, ...], start: np.ndarray) -> None:
        """Count the pairs at the end of ``day``.

        Parameters
        ----------
        day
            Days since 1970-01-01.
        levels
            The first ``width`` of ``LEVELS``, one array over all pairs each.
        start
            Pairs to count from today on even if unchanged (listed for the first time).
        """
        now = np.stack(levels)
        changed = self._counted & (now != self._last).any(axis=0)
        new = ~self._counted & start
        idx = np.flatnonzero(changed | new)
        self._counted |= new
        self._last[:, idx] = now[:, idx]
        self._rows.append((day, idx, now[:, idx]))

    def frame(self) -> pl.DataFrame:
        """Every row: ``pair``, ``day`` and the three levels, in (day, pair) order."""
        width = self._last.shape[0]
        pair = np.concatenate([idx for _, idx, _ in self._rows] or [np.zeros(0, np.int64)])
        day = np.concatenate([np.full(idx.size, d) for d, idx, _ in self._rows] or [pair])
        levels = [
            np.concatenate([values[i] for _, _, values in self._rows] or [pair])
            if i < width
            else np.zeros(pair.size, dtype=np.int64)
            for i in range(len(LEVELS))
        ]
        return pl.DataFrame(
            {"pair": pair, "day": day} | dict(zip(LEVELS, levels, strict=True)),
            schema={"pair": pl.Int64, "day": pl.Int64} | dict.fromkeys(LEVELS, pl.Int64),
        )
