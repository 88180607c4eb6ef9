"""The synthetic network and order history: formats, constraints and demand shape.

One small network is generated per test session; each test checks one
behaviour of it with numeric targets.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.classification import classify_demand
from pipelines.errors import InputError
from pipelines.generate import DEFAULT_END, SCALES, GenerationSummary, generate
from pipelines.generate.geography import CENTRE_LAT, CENTRE_LON, haversine_km
from tests.pipelines.generate_support import SHANGHAI, instant, read_csv, updates_frame

DOCS = Path(__file__).resolve().parents[2] / "docs" / "DATA_FORMATS.md"
CATEGORIES = {
    "tyres", "engine_oil", "filters", "batteries", "brake_pads",
    "wipers", "bulbs", "nev_parts", "service_packages",
}  # fmt: skip


@pytest.fixture(scope="session")
def classes(lines: pl.DataFrame) -> pl.DataFrame:
    """classify_demand over daily (warehouse, sku) series, first sale to the end date."""
    sold = lines.filter(pl.col("final_status") == "completed")
    daily = sold.group_by(
        unique_id=pl.col("warehouse_id") + "/" + pl.col("sku"), ds=pl.col("day")
    ).agg(y=pl.col("quantity").sum())
    grid = (
        daily.group_by("unique_id")
        .agg(first=pl.col("ds").min())
        .with_columns(ds=pl.date_ranges("first", pl.lit(DEFAULT_END)))
        .explode("ds")
        .drop("first")
    )
    series = grid.join(daily, on=["unique_id", "ds"], how="left").with_columns(
        pl.col("y").fill_null(0)
    )
    return classify_demand(series)


def _doc_columns() -> dict[str, list[str]]:
    """Column names per kind from the tables of docs/DATA_FORMATS.md."""
    columns: dict[str, list[str]] = {}
    kind = None
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"### `(\w+)`", line)
        if heading:
            kind = heading.group(1)
            columns[kind] = []
        elif kind and line.startswith("| `"):
            columns[kind] += re.findall(r"`(\w+)`", line.split("|")[1])
        elif line.startswith("## "):
            kind = None
    return columns


# --- the summary, the manifest and the arguments ---------------------------------


def test_summary_and_manifest_agree_with_the_files(
    generated: tuple[Path, GenerationSummary],
) -> None:
    out, summary = generated
    assert summary.scale == "small" and summary.seed == 0
    assert summary.end == DEFAULT_END
    assert summary.start == DEFAULT_END - timedelta(days=SCALES["small"].days - 1)
    assert all(p.exists() for p in summary.files)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"] == summary.counts
    assert set(manifest["files"]) | {"manifest.json"} == {p.name for p in out.iterdir()}
    assert summary.counts["stores"] == 30 and summary.counts["skus"] == 500
    assert summary.counts["warehouses"] == 3


def test_lines_per_store_and_day_are_in_the_target_range(
    generated: tuple[Path, GenerationSummary],
) -> None:
    counts = generated[1].counts
    assert 10 <= counts["order_lines"] / (30 * SCALES["small"].days) <= 20


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": "huge"}, "unknown scale 'huge'"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"end": "2026-11-20"}, "end must be a date"),
    ],
)
def test_bad_arguments_raise_input_error(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        generate(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_same_seed_same_bytes_other_seed_other_data(
    out: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = tmp_path_factory.mktemp("again")
    generate(again, "small", seed=0)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp_path_factory.mktemp("other")
    generate(other, "small", seed=1)
    for name in ("stores.parquet", "order_lines_store_2026-10.csv"):
        assert (out / name).read_bytes() != (other / name).read_bytes(), name


# --- formats --------------------------------------------------------------------


def test_parquet_and_csv_columns_match_the_documented_formats(out: Path) -> None:
    documented = _doc_columns()
    for kind in (
        "warehouses", "stores", "skus", "suppliers", "sku_supply", "vehicle_models",
        "fitment", "maintenance_schedules", "store_vehicles",
    ):  # fmt: skip
        assert pl.read_parquet_schema(out / f"{kind}.parquet").names() == documented[kind], kind
    stock = next(out.glob("stock_*.parquet"))
    assert pl.read_parquet_schema(stock).names() == documented["stock"]
    store = read_csv(next(out.glob("order_lines_store_*.csv")))
    assert store.columns == documented["order_lines"]
    online = read_csv(next(out.glob("order_lines_online_*.csv")), "gb18030")
    assert online.columns == [*documented["order_lines"], "remark"]
    assert updates_frame(out).columns == documented["order_lines"]
    assert read_csv(next(out.glob("returns_*.csv"))).columns == documented["returns"]


def test_timestamp_formats_per_file_kind(out: Path) -> None:
    store = (out / "order_lines_store_2026-10.csv").read_text(encoding="utf-8")
    assert re.search(r",2026-10-\d\dT\d\d:\d\d:\d\d,", store)
    assert not re.search(r"\+08:00|Z,", store)
    online = (out / "order_lines_online_2026-10.csv").read_bytes().decode("gb18030")
    assert re.search(r",2026-10-\d\d \d\d:\d\d:\d\d\+08:00,", online)
    assert "T" not in online.splitlines()[1].split(",")[2]


def test_online_files_are_gb18030_with_chinese_remarks(out: Path) -> None:
    for path in out.glob("order_lines_online_*.csv"):
        raw = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert "到店" in raw.decode("gb18030")


def test_update_files_have_a_bom_and_store_files_do_not(out: Path) -> None:
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in out.glob("*_updates_*.csv"))
    for path in [*out.glob("order_lines_store_*.csv"), *out.glob("returns_*.csv")]:
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")


# --- master data ----------------------------------------------------------------


def test_every_store_is_within_5_km_of_its_serving_warehouse_the_nearest(out: Path) -> None:
    wh = pl.read_parquet(out / "warehouses.parquet")
    stores = pl.read_parquet(out / "stores.parquet")
    fw = wh.filter(pl.col("kind") == "forward")
    dist = haversine_km(
        stores["lat"].to_numpy()[:, None],
        stores["lon"].to_numpy()[:, None],
        fw["lat"].to_numpy()[None, :],
        fw["lon"].to_numpy()[None, :],
    )
    serving = fw["warehouse_id"].to_numpy()[dist.argmin(axis=1)]
    assert (serving == stores["warehouse_id"].to_numpy()).all()
    assert dist.min(axis=1).max() <= 4.8
    dc = wh.filter(pl.col("kind") == "dc").row(0, named=True)
    assert 25 <= float(haversine_km(dc["lat"], dc["lon"], CENTRE_LAT, CENTRE_LON)) <= 40


def test_warehouses_respect_the_schema(out: Path) -> None:
    wh = pl.read_parquet(out / "warehouses.parquet")
    assert wh["warehouse_id"].to_list() == ["DC01", "FW001", "FW002"]
    assert (wh["shelf_capacity_l"] > 0).all()
    assert wh.filter(pl.col("kind") == "dc")["parent_warehouse_id"].null_count() == 1
    assert (wh.filter(pl.col("kind") == "forward")["parent_warehouse_id"] == "DC01").all()


def test_catalogue_covers_every_category_with_sane_values(skus: pl.DataFrame) -> None:
    assert set(skus["category"]) == CATEGORIES
    assert skus["sku"].is_unique().all()
    assert (skus["pack_size"] > 0).all() and (skus["unit_volume_l"] > 0).all()
    assert (skus["unit_cost"] < skus["unit_price"]).all()
    # The supplier's delay is in suppliers: beyond the overnight hop there is none.
    assert (skus["lead_time_days"] == 0).all()
    assert skus.filter(pl.col("category") == "nev_parts")["is_nev"].all()


def test_fitment_has_a_long_tail_and_valid_keys(out: Path, skus: pl.DataFrame) -> None:
    fitment = pl.read_parquet(out / "fitment.parquet")
    models = pl.read_parquet(out / "vehicle_models.parquet")
    assert fitment.select("sku", "vehicle_model_id", "position").is_unique().all()
    assert set(fitment["sku"]) <= set(skus["sku"])
    assert set(fitment["vehicle_model_id"]) <= set(models["vehicle_model_id"])
    assert (fitment["quantity"] > 0).all()
    models_per_sku = fitment.group_by("sku").len()["len"]
    assert (models_per_sku <= 3).mean() > 0.3  # many skus fit few models
    tyre_fit = fitment.join(skus, on="sku").filter(pl.col("category") == "tyres")
    assert set(tyre_fit["quantity"]) == {4}


def test_vehicle_models_and_schedules(out: Path) -> None:
    models = pl.read_parquet(out / "vehicle_models.parquet")
    schedules = pl.read_parquet(out / "maintenance_schedules.parquet")
    assert set(models["powertrain"]) == {"ice", "hev", "phev", "bev"}
    assert models.filter(pl.col("year_to") < pl.col("year_from")).height == 0
    assert schedules.select("vehicle_model_id", "part_type").is_unique().all()
    assert schedules.filter(
        pl.col("interval_km").is_null() & pl.col("interval_months").is_null()
    ).is_empty()
    bev_oil = schedules.join(models, on="vehicle_model_id").filter(
        (pl.col("powertrain") == "bev") & (pl.col("part_type") == "engine_oil")
    )
    assert bev_oil.is_empty()


def test_nev_share_of_store_vehicles_rises(out: Path) -> None:
    fleet = pl.read_parquet(out / "store_vehicles.parquet")
    models = pl.read_parquet(out / "vehicle_models.parquet")
    assert (fleet["month"].dt.day() == 1).all() and (fleet["annual_km"] > 0).all()
    assert fleet.select("store_id", "vehicle_model_id", "month").is_unique().all()
    share = (
        fleet.join(models, on="vehicle_model_id")
        .group_by("month")
        .agg(
            nev=pl.col("vehicles").filter(pl.col("powertrain").is_in(["bev", "phev"])).sum()
            / pl.col("vehicles").sum()
        )
        .sort("month")["nev"]
    )
    assert 0.1 < share[0] < share[-1] - 0.02
    assert (
        fleet.group_by("store_id")
        .agg(pl.col("vehicle_model_id").n_unique())["vehicle_model_id"]
        .is_between(20, 80)
        .all()
    )


# --- order lines ----------------------------------------------------------------


def test_order_lines_respect_keys_and_references(out: Path, lines: pl.DataFrame) -> None:
    stores = pl.read_parquet(out / "stores.parquet")
    assert lines.select("order_id", "line_no").is_unique().all()
    assert (lines["quantity"] > 0).all()
    assert lines["unit_price"].str.contains(r"^\d+\.\d\d$").all()
    joined = lines.join(stores, on="store_id", how="left", suffix="_store")
    assert (joined["warehouse_id"] == joined["warehouse_id_store"]).all()
    per_order = lines.group_by("order_id").agg(
        pl.col("store_id", "channel", "ordered_at").n_unique(),
        lines=pl.len(),
        max_line=pl.col("line_no").max(),
    )
    assert (per_order.select("store_id", "channel", "ordered_at") == 1).to_numpy().all()
    assert (per_order["lines"] == per_order["max_line"]).all()


def test_timestamps_lie_in_the_history_and_store_hours(lines: pl.DataFrame) -> None:
    start = DEFAULT_END - timedelta(days=SCALES["small"].days - 1)
    assert lines["day"].min() >= start and lines["day"].max() == DEFAULT_END
    hours = lines.filter(pl.col("channel") == "store")["ordered_at"].dt.hour()
    assert hours.is_between(8, 19).all()
    online_hours = lines.filter(pl.col("channel") == "online")["ordered_at"].dt.hour()
    assert online_hours.n_unique() == 24


def test_tyres_are_sold_in_sets_of_2_or_4(lines: pl.DataFrame, skus: pl.DataFrame) -> None:
    tyres = lines.join(skus, on="sku").filter(pl.col("category") == "tyres")
    assert tyres.height > 1000
    assert set(tyres["quantity"]) == {2, 4}


def test_every_category_sells(lines: pl.DataFrame, skus: pl.DataFrame) -> None:
    assert set(lines.join(skus, on="sku")["category"]) == CATEGORIES


def test_cancellations_in_range_and_more_online(out: Path, lines: pl.DataFrame) -> None:
    cancelled = lines["final_status"] == "cancelled"
    assert 0.015 <= cancelled.mean() <= 0.05
    by_channel = lines.group_by("channel").agg((pl.col("final_status") == "cancelled").mean())
    rate = dict(by_channel.iter_rows())
    assert rate["online"] > 2 * rate["store"]
    # Some are sent as cancelled at once, others as completed and updated later.
    assert (lines["status"] == "cancelled").sum() > 0
    updates = updates_frame(out)
    assert (updates["status"] == "cancelled").all()
    first = lines.join(updates, on=["order_id", "line_no"], suffix="_upd")
    assert first.height == updates.height
    assert (first["status"] == "completed").all()
    for col in ("store_id", "sku", "quantity", "unit_price", "channel"):
        assert (first[col] == first[f"{col}_upd"]).all(), col
    resent = first.select(instant("ordered_at_upd"))["ordered_at_upd"]
    assert (resent == first["ordered_at"]).all()


def test_returns_follow_the_90_day_rule(lines: pl.DataFrame, returns: pl.DataFrame) -> None:
    assert returns["return_id"].is_unique().all()
    joined = returns.join(lines, on=["order_id", "line_no"], how="left", suffix="_line")
    assert joined["final_status"].to_list() == ["completed"] * joined.height
    assert (joined["store_id"] == joined["store_id_line"]).all()
    assert (joined["sku"] == joined["sku_line"]).all()
    assert (joined["quantity"] <= joined["quantity_line"]).all()
    assert (joined["quantity"] > 0).all()
    delay = joined["returned_at"] - joined["ordered_at"]
    assert (delay > timedelta(0)).all() and (delay <= timedelta(days=90)).all()
    assert joined["returned_at"].max() < datetime(2026, 11, 21, tzinfo=SHANGHAI)
    assert set(returns["reason"]) == {"wrong_fitment", "unused", "defective", "other"}
    completed = (lines["final_status"] == "completed").sum()
    assert 0.01 <= returns.height / completed <= 0.03


# --- the shape of demand --------------------------------------------------------


def test_most_warehouse_sku_series_are_mostly_zero(classes: pl.DataFrame) -> None:
    assert (classes["zero_share"] > 0.5).mean() >= 0.6


def test_all_four_classes_with_intermittent_and_lumpy_the_majority(
    classes: pl.DataFrame,
) -> None:
    share = dict(classes["class"].value_counts(normalize=True).iter_rows())
    assert set(share) == {"smooth", "erratic", "intermittent", "lumpy"}
    assert share["intermittent"] + share["lumpy"] > 0.5


def test_wipers_peak_in_the_rainy_season(lines: pl.DataFrame, skus: pl.DataFrame) -> None:
    wipers = lines.join(skus, on="sku").filter(pl.col("category") == "wipers")
    daily = wipers.group_by("day").agg(pl.col("quantity").sum())
    rainy = daily["day"].dt.month().is_in([6, 7])
    assert daily.filter(rainy)["quantity"].mean() > 1.5 * daily.filter(~rainy)["quantity"].mean()


def test_stores_are_busier_at_weekends(lines: pl.DataFrame) -> None:
    store = lines.filter(pl.col("channel") == "store").group_by("day").len()
    weekend = store["day"].dt.weekday() >= 6
    assert store.filter(weekend)["len"].mean() > 1.2 * store.filter(~weekend)["len"].mean()


def test_online_lines_surge_around_11_november(lines: pl.DataFrame) -> None:
    online = lines.filter(pl.col("channel") == "online").group_by("day").len()
    october = online.filter(pl.col("day").dt.month() == 10)["len"].mean()
    sale = online.filter(pl.col("day").is_between(date(2026, 11, 8), date(2026, 11, 14)))
    assert sale["len"].mean() >= 2 * october
    normal = lines.filter(pl.col("day").dt.month() == 10)["channel"] == "online"
    assert 0.08 <= normal.mean() <= 0.22


def test_shelf_capacity_holds_weeks_of_demand(out: Path, lines: pl.DataFrame) -> None:
    skus = pl.read_parquet(out / "skus.parquet")
    wh = pl.read_parquet(out / "warehouses.parquet")
    litres = (
        lines.filter(pl.col("final_status") == "completed")
        .join(skus, on="sku")
        .group_by("warehouse_id")
        .agg(per_day=(pl.col("quantity") * pl.col("unit_volume_l")).sum() / 180)
        .join(wh, on="warehouse_id")
    )
    weeks = litres["shelf_capacity_l"] / litres["per_day"] / 7
    assert weeks.is_between(2, 8).all()


def test_numpy_is_not_leaking_into_the_summary(
    generated: tuple[Path, GenerationSummary],
) -> None:
    summary = generated[1]
    assert all(type(v) is int for v in summary.counts.values())
    assert not any(isinstance(v, np.generic) for v in (summary.seed, summary.elapsed_s))
