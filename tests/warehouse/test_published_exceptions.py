"""The plan's exceptions (warehouse.published.plan_exceptions) on test_published's snapshot.

Its plan lines all count 1 on hand and 1 reserved (nothing free: each is a
stock-out); FW001/A was cut for DC stock and shelf, FW002/C is pulled back.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.warehouse.test_published import snap, world
from warehouse import published

__all__ = ["snap", "world"]  # the module's fixtures, shared


def test_every_line_is_listed_with_each_kind_it_is(snap: duckdb.DuckDBPyConnection) -> None:
    page = published.plan_exceptions(snap)
    assert page.rows.schema == published.EXCEPTIONS
    assert page.next_after is None
    assert page.rows.select("series_id", "kinds").rows() == [
        ("FW001/A", ["cut", "stock_out"]),
        ("FW001/B", ["stock_out"]),
        ("FW001/C", ["stock_out"]),
        ("FW002/B", ["stock_out"]),
        ("FW002/C", ["stock_out", "pull_back"]),
    ]


def test_exceptions_filter_by_warehouse_category_and_kind(
    snap: duckdb.DuckDBPyConnection,
) -> None:
    def ids(
        kind: str | None = None, warehouse_id: str | None = None, category: str | None = None
    ) -> list[str]:
        page = published.plan_exceptions(
            snap, kind=kind, warehouse_id=warehouse_id, category=category
        )
        return page.rows["series_id"].to_list()

    assert ids(kind="cut") == ["FW001/A"]
    assert ids(kind="pull_back", warehouse_id="FW002") == ["FW002/C"]
    assert ids(kind="pull_back", warehouse_id="FW001") == []
    assert ids(kind="cover_cap") == []
    assert ids(category="brake_pads") == []
    assert len(ids(category="tyres")) == 5


def test_exception_pages_follow_each_other(snap: duckdb.DuckDBPyConnection) -> None:
    first = published.plan_exceptions(snap, limit=2)
    second = published.plan_exceptions(snap, limit=2, after=first.next_after)
    assert first.rows["series_id"].to_list() == ["FW001/A", "FW001/B"]
    assert second.rows["series_id"].to_list() == ["FW001/C", "FW002/B"]


def test_an_unknown_kind_is_refused(snap: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="kind must be one of cut, stock_out"):
        published.plan_exceptions(snap, kind="late")
