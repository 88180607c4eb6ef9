"""classify_demand on hand-made series whose ADI and CV² are known."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.classification import CLASSIFICATION_SCHEMA, classify_demand, classify_sparse


def _series(**values: list[float]) -> pl.DataFrame:
    """Daily series from 2026-01-01, one per keyword argument."""
    rows = [
        (uid, date(2026, 1, 1) + timedelta(days=i), float(v))
        for uid, ys in values.items()
        for i, v in enumerate(ys)
    ]
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


def _row(result: pl.DataFrame, uid: str) -> dict[str, object]:
    return result.filter(pl.col("unique_id") == uid).row(0, named=True)


def test_the_four_classes() -> None:
    result = classify_demand(
        _series(
            smooth=[5, 6, 5, 4, 5, 6, 5, 5],  # every period, steady sizes
            erratic=[1, 9, 1, 12, 1, 1, 15, 1],  # every period, wild sizes
            intermittent=[3, 0, 0, 3, 0, 0, 3, 0],  # 3 sales in 8, steady
            lumpy=[1, 0, 0, 20, 0, 0, 2, 0],  # 3 sales in 8, wild
        )
    )
    assert dict(zip(result["unique_id"], result["class"], strict=True)) == {
        "erratic": "erratic",
        "intermittent": "intermittent",
        "lumpy": "lumpy",
        "smooth": "smooth",
    }


def test_adi_cv2_and_zero_share_values() -> None:
    result = classify_demand(_series(a=[2, 0, 0, 6, 0, 0, 0, 0]))
    row = _row(result, "a")
    assert row["n_periods"] == 8
    assert row["n_nonzero"] == 2
    assert row["zero_share"] == pytest.approx(0.75)
    assert row["adi"] == pytest.approx(4.0)
    # sizes 2 and 6: mean 4, population variance 4 -> CV² 0.25
    assert row["cv2"] == pytest.approx(0.25)
    assert row["class"] == "intermittent"


def test_cut_offs_are_parameters_and_inclusive_on_the_irregular_side() -> None:
    series = _series(a=[2, 0, 0, 6, 0, 0, 0, 0])  # ADI 4, CV² 0.25
    assert _row(classify_demand(series, cv2_cutoff=0.25), "a")["class"] == "lumpy"
    assert _row(classify_demand(series, adi_cutoff=4.5), "a")["class"] == "smooth"


def test_new_and_dormant() -> None:
    ys = {
        "fresh": [0] * 80 + [1, 0, 2] + [0] * 17,  # first sale 20 periods before the end
        "old": [1] + [0] * 99,  # last sale 99 periods ago
        "steady": [1] * 100,
    }
    result = classify_demand(_series(**ys), new_periods=28, dormant_periods=90)
    assert _row(result, "fresh")["new"] and not _row(result, "fresh")["dormant"]
    assert _row(result, "fresh")["periods_since_first_sale"] == 20
    assert _row(result, "old")["dormant"] and not _row(result, "old")["new"]
    assert _row(result, "old")["periods_since_last_sale"] == 99
    assert not _row(result, "steady")["new"] and not _row(result, "steady")["dormant"]
    assert _row(classify_demand(_series(**ys), new_periods=10), "fresh")["new"] is False
    assert _row(classify_demand(_series(**ys), dormant_periods=100), "old")["dormant"] is False


def test_series_without_sales_has_no_class_and_is_dormant() -> None:
    row = _row(classify_demand(_series(z=[0, 0, 0])), "z")
    assert row["class"] is None and row["adi"] is None and row["cv2"] is None
    assert row["dormant"] is True and row["new"] is False
    assert row["zero_share"] == 1.0


def test_schema_and_row_order_do_not_depend_on_input_order() -> None:
    series = _series(b=[1, 0, 3], a=[0, 2, 2])
    result = classify_demand(series)
    assert result.schema == CLASSIFICATION_SCHEMA
    assert result["unique_id"].to_list() == ["a", "b"]
    assert_frame_equal(classify_demand(series.reverse()), result)


def test_integer_y_is_accepted() -> None:
    series = _series(a=[1, 0, 2]).with_columns(pl.col("y").cast(pl.Int32))
    assert classify_demand(series)["n_nonzero"].to_list() == [2]


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pl.DataFrame({"unique_id": ["a"], "ds": [date(2026, 1, 1)]}), {}, "lacks column"),
        (_series(a=[1, -1]), {}, "y must be >= 0"),
        (_series(a=[1]), {"new_periods": 0}, "must be >= 1"),
    ],
)
def test_bad_input_is_refused(frame: pl.DataFrame, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        classify_demand(frame, **kwargs)


def test_sparse_classification_equals_the_zero_filled_one() -> None:
    end = date(2026, 3, 31)
    sales = pl.DataFrame(
        {
            "warehouse_id": ["FW1"] * 5 + ["FW2"] * 2,
            "sku": ["A", "A", "A", "B", "B", "A", "A"],
            "ds": [end - timedelta(days=d) for d in (40, 20, 0, 150, 149, 10, 3)],
            "y": [1.0, 3.0, 2.0, 5.0, 1.0, 2.0, 2.0],
        }
    )
    filled = (
        sales.group_by("warehouse_id", "sku")
        .agg(first=pl.col("ds").min())
        .with_columns(ds=pl.date_ranges("first", pl.lit(end)))
        .explode("ds")
        .join(sales, on=["warehouse_id", "sku", "ds"], how="left")
        .with_columns(
            unique_id=pl.concat_str("warehouse_id", "sku", separator="/"),
            y=pl.col("y").fill_null(0),
        )
    )
    dense = classify_demand(filled.select("unique_id", "ds", "y"))
    sparse = classify_sparse(sales, end).with_columns(
        unique_id=pl.concat_str("warehouse_id", "sku", separator="/")
    )
    assert_frame_equal(sparse.select(dense.columns), dense)
    assert sparse.filter(pl.col("sku") == "B")["dormant"].to_list() == [True]


def test_the_sorted_fast_path_matches_the_general_one() -> None:
    rng = np.random.default_rng(7)
    frames = []
    for i in range(60):
        n = int(rng.integers(1, 120))
        y = rng.poisson(rng.uniform(0, 2), n) * rng.integers(1, 4, n) * (rng.random(n) < 0.4)
        frames.append(
            pl.DataFrame(
                {
                    "unique_id": f"s{i:03d}",
                    "ds": pl.date_range(
                        date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=n - 1), eager=True
                    ),
                    "y": y.astype(float),
                }
            )
        )
    ordered = pl.concat(frames)
    shuffled = ordered.sample(fraction=1.0, shuffle=True, seed=1)
    fast = classify_demand(ordered, new_periods=10, dormant_periods=30)
    general = classify_demand(shuffled, new_periods=10, dormant_periods=30)
    assert fast["n_nonzero"].sum() > 0
    assert_frame_equal(fast, general, check_exact=False, rel_tol=1e-9)
