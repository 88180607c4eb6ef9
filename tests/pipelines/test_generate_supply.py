"""The generated supply side: suppliers, how skus are bought and sold, the stock history,
and returns whose reason matches the data. Uses the session's small network (conftest).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from models.schemas import DEMAND_HISTORY
from pipelines.demand_series import STOCK_COUNTS, censored_days, stockout_spans
from pipelines.generate import DEFAULT_END, GenerationSummary
from pipelines.ingest import ingest
from tests.pipelines.generate_support import stock_history
from warehouse.schema import connect

FIRST_DAY = DEFAULT_END - timedelta(days=89)  # the simulated window: the last 90 days


@pytest.fixture(scope="session")
def supply(out: Path) -> pl.DataFrame:
    """sku_supply joined to its supplier and the sku's master row."""
    return (
        pl.read_parquet(out / "sku_supply.parquet")
        .join(pl.read_parquet(out / "suppliers.parquet"), on="supplier_id", how="left")
        .join(pl.read_parquet(out / "skus.parquet"), on="sku", how="left")
    )


@pytest.fixture(scope="session")
def stock(out: Path) -> pl.DataFrame:
    return stock_history(out)


@pytest.fixture(scope="session")
def end_state(stock: pl.DataFrame) -> pl.DataFrame:
    """The latest count of every (warehouse, sku): the stock the nightly starts from."""
    return stock.sort("as_of").group_by("warehouse_id", "sku").last()


def _sold_last_90_days(lines: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    recent = lines.filter((pl.col("final_status") == "completed") & (pl.col("day") >= FIRST_DAY))
    return recent.group_by(by).agg(rate=pl.col("quantity").sum() / 90)


# --- suppliers and sku supply ---------------------------------------------------


def test_every_sku_is_bought_from_one_known_supplier(
    supply: pl.DataFrame, skus: pl.DataFrame, out: Path
) -> None:
    suppliers = pl.read_parquet(out / "suppliers.parquet")
    assert suppliers.height == 10  # the small scale's count
    assert supply["sku"].sort().to_list() == skus["sku"].sort().to_list()
    assert supply["name"].null_count() == 0
    assert suppliers["lead_time_days"].is_between(2, 21).all()
    assert set(suppliers["order_cycle_days"]) <= {1, 3, 7, 14}
    assert suppliers["order_cycle_days"].median() == 7  # mostly weekly
    # A brand is bought from one supplier at this scale (distributors carry several).
    assert (
        supply.group_by("brand").agg(pl.col("supplier_id").n_unique())["supplier_id"] == 1
    ).all()


def test_suppliers_round_in_cases_of_the_pack(supply: pl.DataFrame) -> None:
    assert (supply["case_pack"] == supply["pack_size"]).all()
    assert (supply["moq"] % supply["case_pack"] == 0).all()
    assert (supply["moq"] >= supply["case_pack"]).all()
    assert (supply["moq"] > supply["case_pack"]).any()


def test_tyres_sell_in_twos_or_fours_and_order_lines_respect_the_multiple(
    supply: pl.DataFrame, lines: pl.DataFrame
) -> None:
    multiple = dict(
        supply.group_by(pl.col("category") == "tyres").agg(pl.col("sales_multiple").unique())
        .iter_rows()
    )  # fmt: skip
    assert sorted(multiple[True]) == [2, 4] and multiple[False] == [1]
    sold = lines.join(supply.select("sku", "sales_multiple"), on="sku")
    assert (sold["quantity"] % sold["sales_multiple"] == 0).all()
    assert set(sold.filter(pl.col("sales_multiple") == 4)["quantity"]) == {4}


# --- the stock history ------------------------------------------------------------


def test_stock_is_a_change_log_of_the_last_90_days(stock: pl.DataFrame, out: Path) -> None:
    assert stock["as_of"].min() == FIRST_DAY and stock["as_of"].max() == DEFAULT_END
    assert stock.select("warehouse_id", "sku", "as_of").is_unique().all()
    levels = ["on_hand", "reserved", "in_transit"]
    repeated = (
        stock.sort("warehouse_id", "sku", "as_of")
        .with_columns(pl.col(levels).shift(1).over("warehouse_id", "sku").name.prefix("prev_"))
        .filter(pl.all_horizontal(pl.col(c) == pl.col(f"prev_{c}") for c in levels))
    )
    assert repeated.is_empty()  # a count holds until the next: no row repeats the last
    first = stock.filter(pl.col("as_of") == FIRST_DAY)
    assert set(first["warehouse_id"]) == {"DC01", "FW001", "FW002"}
    for path in out.glob("stock_*.parquet"):
        months = pl.read_parquet(path)["as_of"].dt.strftime("%Y-%m").unique().to_list()
        assert months == [path.stem.removeprefix("stock_")]


def test_levels_are_consistent(stock: pl.DataFrame) -> None:
    assert (stock.select("on_hand", "reserved", "in_transit") >= 0).to_numpy().all()
    assert (stock["reserved"] <= stock["on_hand"]).all()
    forward = stock.filter(pl.col("warehouse_id") != "DC01")
    # Transfers arrive overnight: nothing is on its way at a forward warehouse's count.
    assert (forward["in_transit"] == 0).all() and (forward["reserved"] == 0).all()
    dc = stock.filter(pl.col("warehouse_id") == "DC01")
    assert (dc["in_transit"] > 0).any() and (dc["reserved"] > 0).any()


def test_starting_stock_is_near_what_a_policy_holds(
    end_state: pl.DataFrame, lines: pl.DataFrame, skus: pl.DataFrame
) -> None:
    forward = end_state.filter(pl.col("warehouse_id") != "DC01")
    cover = forward.join(
        _sold_last_90_days(lines, ["warehouse_id", "sku"]), on=["warehouse_id", "sku"]
    ).select(days=pl.col("on_hand") / pl.col("rate"))["days"]
    assert 3 <= cover.median() <= 30
    assert (forward["on_hand"] == 0).mean() < 0.1
    dc = end_state.filter(pl.col("warehouse_id") == "DC01")
    assert dc.height >= 0.8 * skus.height
    network = _sold_last_90_days(lines, ["sku"])
    dc_days = dc["on_hand"].sum() / network["rate"].sum()
    assert 7 <= dc_days <= 45


def test_stock_outs_censor_days_without_sales(stock: pl.DataFrame, lines: pl.DataFrame) -> None:
    counts = stock.filter(pl.col("warehouse_id") != "DC01").select(
        "warehouse_id", "sku", "as_of",
        available=(pl.col("on_hand") - pl.col("reserved")).cast(pl.Int64),
        in_transit=pl.col("in_transit").cast(pl.Int64),
    )  # fmt: skip
    spans = stockout_spans(counts.cast(STOCK_COUNTS), FIRST_DAY, DEFAULT_END)
    sales = (
        lines.filter(pl.col("final_status") == "completed")
        .group_by("warehouse_id", "sku", ds="day")
        .agg(y=pl.col("quantity").sum().cast(pl.Float64))
        .cast(DEMAND_HISTORY)
    )
    censored = censored_days(sales, spans, DEFAULT_END)
    assert censored.height > 0
    # Stock-outs are short: a held series waits for the DC, not for ever.
    days = (spans["to_day"] - spans["from_day"]).dt.total_days() + 1
    assert days.max() <= 45


def test_lost_sales_are_few_and_only_in_the_window(
    generated: tuple[Path, GenerationSummary], lines: pl.DataFrame
) -> None:
    counts = generated[1].counts
    window = lines.filter(pl.col("day") >= FIRST_DAY).height
    assert 0 < counts["lost_lines"] < 0.1 * window


# --- returns whose reason matches the data ------------------------------------------


def test_a_wrong_fitment_return_is_of_a_line_that_does_not_fit(
    out: Path, lines: pl.DataFrame, returns: pl.DataFrame
) -> None:
    fitment = pl.read_parquet(out / "fitment.parquet").select(
        "sku", "vehicle_model_id", fits=pl.lit(True)
    )
    joined = (
        returns.join(
            lines.select("order_id", "line_no", "vehicle_model_id", line_quantity="quantity"),
            on=["order_id", "line_no"],
        )
        .join(fitment, on=["sku", "vehicle_model_id"], how="left")
        .with_columns(pl.col("fits").fill_null(False))
    )
    wrong = joined["reason"] == "wrong_fitment"
    assert 0.2 <= wrong.mean() <= 0.5
    assert not joined.filter(wrong)["fits"].any()
    assert joined.filter(~wrong)["fits"].all()
    whole = joined.filter(wrong)
    assert (whole["quantity"] == whole["line_quantity"]).all()  # the wrong part comes back whole


# --- the landing folder loads --------------------------------------------------------


def test_the_generated_folder_loads_without_quarantine(out: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    report = ingest(con, [out])
    assert report.ok, report.render()
    assert sum(f.quarantined for f in report.files) == 0
    for kind, table in (
        ("suppliers", "suppliers"),
        ("sku_supply", "sku_supply"),
        ("stock", "stock_levels"),
    ):
        loaded = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        # Every stock row is a change: all of them are kept.
        assert loaded == sum(f.rows_read for f in report.files if f.kind == kind), kind
    con.close()
