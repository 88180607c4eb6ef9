"""Which file's status is newer: the export time read from a landing file's name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.ingest.freshness import Version, file_version, named_as_of

LOADED = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "as_of"),
    [
        # The end of the named period, Asia/Shanghai (UTC+8).
        ("order_lines_store_2026-10.csv", datetime(2026, 10, 31, 16, 0, tzinfo=UTC)),
        ("order_lines_updates_2026-12.csv", datetime(2026, 12, 31, 16, 0, tzinfo=UTC)),
        ("order_lines_2026-10-05.csv", datetime(2026, 10, 5, 16, 0, tzinfo=UTC)),
        ("order_lines_2026-10-05T0330.csv", datetime(2026, 10, 4, 19, 31, tzinfo=UTC)),
        ("order_lines_2026-10-05T033015.csv", datetime(2026, 10, 4, 19, 30, 16, tzinfo=UTC)),
        # The first date names the period: a re-send stamped later is still October's.
        ("order_lines_2026-10_resent_2026-12-01.csv", datetime(2026, 10, 31, 16, 0, tzinfo=UTC)),
        ("order_lines_2026-13.csv", None),
        ("order_lines_1.csv", None),
        ("order_lines_20261005.csv", None),
    ],
)
def test_a_name_dates_a_file_at_the_end_of_its_period(name: str, as_of: datetime | None) -> None:
    assert named_as_of(name) == as_of


def test_a_month_file_and_its_update_file_are_ordered_by_name() -> None:
    store = file_version("/landing/order_lines_store_2026-10.csv", LOADED)
    updates = file_version("/elsewhere/order_lines_updates_2026-10.csv", LOADED)
    assert store < updates
    assert file_version("/landing/order_lines_updates_2026-09.csv", LOADED) < store


def test_the_folder_and_the_load_time_do_not_date_a_named_file() -> None:
    first = file_version("/landing/2026-12-01/order_lines_store_2026-10.csv", LOADED)
    again = file_version("/resent/order_lines_store_2026-10.csv", datetime(2027, 1, 1, tzinfo=UTC))
    assert first == again


def test_a_file_without_a_date_and_the_store_are_as_of_their_load() -> None:
    assert file_version("/landing/order_lines_x.csv", LOADED) == Version(
        LOADED, "order_lines_x.csv"
    )
    ops = "ops:sqlite:////data/ops_2026-10.db"
    assert file_version(ops, LOADED) == Version(LOADED, ops)
