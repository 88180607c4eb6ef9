"""The ``partsflow forecast`` contract on tiny files, and its one-line input errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flows import forecast_file
from models.params import ForecastParams
from partsflow_cli import main
from pipelines.errors import InputError
from pipelines.forecast_input import read_forecast_input

LEVELS = [50, 80, 90, 95, 99]


def _frame(starts: list[date], step: str, periods: int) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    parts = []
    for i, start in enumerate(starts):
        ds = pl.date_range(start, start, eager=True).dt.offset_by(
            pl.Series([f"{k}{step}" for k in range(periods)])
        )
        y = rng.poisson(0.4 + 2 * i, periods).astype(float)
        parts.append(pl.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y}))
    return pl.concat(parts)


@pytest.mark.parametrize(
    ("freq", "season", "step", "start", "first_out"),
    [
        ("D", None, "d", date(2024, 1, 1), date(2024, 4, 10)),
        ("W", None, "w", date(2024, 1, 1), date(2025, 12, 1)),
        ("MS", 12, "mo", date(2020, 1, 1), date(2028, 5, 1)),
    ],
)
def test_cli_contract(
    tmp_path: Path, freq: str, season: int | None, step: str, start: date, first_out: date
) -> None:
    history = _frame([start, start], step, 100)
    # A series starting late is filled from its own first ds only.
    history = pl.concat(
        [
            history,
            history.filter(pl.col("unique_id") == "s1")
            .tail(5)
            .with_columns(unique_id=pl.lit("late")),
        ]
    )
    src = tmp_path / "in.csv"
    history.write_csv(src)
    out_path = tmp_path / "out.parquet"
    forecast_file(
        src,
        out_path,
        ForecastParams(freq=freq, horizon=4, season_length=season, levels=tuple(LEVELS)),
    )
    out = pl.read_parquet(out_path)
    assert out.columns == ["unique_id", "ds", "mean", "model", *[f"q{lv}" for lv in LEVELS]]
    assert out.height == 3 * 4
    assert out["ds"].min() == first_out
    q = out.select(f"q{lv}" for lv in LEVELS).to_numpy()
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all() and (q == np.round(q)).all()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "freq", "expected"),
    [
        ("unique_id,ds\na,2024-01-01\n", "D", "missing column(s) y"),
        ("unique_id,ds,y\na,2024-01-01,-2\n", "D", "field y is negative"),
        ("unique_id,ds,y\na,01/02/2024,1\n", "D", "field ds: cannot parse '01/02/2024'"),
        ("unique_id,ds,y\na,2024-01-01,x\n", "D", "field y: 'x' is not a finite number"),
        ("unique_id,ds,y\na,2024-01-01,1\na,2024-01-01,2\n", "D", "duplicate (unique_id, ds)"),
        ("unique_id,ds,y\na,2024-01-02,1\n", "W", "is not a Monday"),
        ("unique_id,ds,y\na,2024-01-02,1\n", "MS", "is not the first of a month"),
    ],
)
def test_bad_input_is_one_line_input_error(
    tmp_path: Path, text: str, freq: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_forecast_input(path, freq)
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_parquet_input_with_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"unique_id": ["a"], "ds": [date(2024, 1, 1)], "y": [1]}).with_columns(
        pl.col("ds").cast(pl.Datetime)
    ).write_parquet(path)
    frame = read_forecast_input(path, "D")
    assert frame["ds"].to_list() == [date(2024, 1, 1)]
    assert frame["y"].dtype == pl.Float64


def test_bad_arguments_are_one_line_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    _frame([date(2024, 1, 1)], "d", 10).write_csv(src)
    out = str(tmp_path / "o.parquet")
    for args, expected in (
        (["--horizon", "0"], "--horizon must be at least 1"),
        (["--horizon", "3", "--quantiles", "50,100"], "--quantiles must be distinct"),
    ):
        with pytest.raises(SystemExit) as done:
            main(["forecast", str(src), *args, "--output", out])
        assert done.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0]
    assert not Path(out).exists()
