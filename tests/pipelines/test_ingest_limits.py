"""Size limits of landing rows and fields: oversized rows marked, long fields and lines cut."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.ingest.limits import (
    FIELD_LIMIT,
    KEPT_CHARS,
    LINE_MARK,
    ROW_BYTES,
    ROW_LIMIT,
    SIZE_REASON,
    WINDOW,
    LineWatch,
    bound,
    cut_long_lines,
)


def _rows(**columns: list[str]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame({"row_number": list(range(1, n + 1)), **columns})


def test_rows_within_the_limits_come_back_as_they_are() -> None:
    rows = _rows(a=["x" * FIELD_LIMIT, "y"], b=["1", "2"])
    assert_frame_equal(bound(rows, "row_number"), rows)


def test_a_long_field_is_named_with_its_size_and_cut() -> None:
    rows = _rows(a=["x", "é" * 3000], b=["1", "2"])  # 6,000 bytes in 3,000 characters
    found = bound(rows, "row_number")
    assert found[SIZE_REASON].to_list() == [None, "field a is 6,000 bytes, limit 4,096"]
    assert found[ROW_BYTES].to_list() == [None, 6001]
    kept = found["a"][1]
    assert kept == "é" * KEPT_CHARS + "…[cut: 6,000 bytes]"
    assert found["b"].to_list() == ["1", "2"]


def test_a_row_over_its_limit_is_named_even_with_every_field_within_its_own() -> None:
    rows = _rows(**{f"c{i}": ["z" * 4000] for i in range(17)})
    (reason,) = bound(rows, "row_number")[SIZE_REASON]
    assert reason == "row is 68,000 bytes, limit 65,536"


def _cut(tmp_path: Path, data: bytes) -> tuple[bytes, pl.DataFrame]:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_bytes(data)
    cut_long_lines(source, target, chunk_bytes=1000)  # lines spanning many chunks
    return target.read_bytes(), pl.read_csv(target, infer_schema=False)


LONG = 200_000


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        # Unquoted, quoted (with a comma and an escaped quote), and a line whose quoted
        # field goes on to the next line: the rows after it stay rows.
        (b"2,x," + b"A" * LONG + b",\n", "A"),
        (b'2,x,"B,""' + b"B" * LONG + b'",\n', 'B,"'),
        (b"2,x," + b"C" * LONG + b',"open\nstill open"\n', "C"),
    ],
)
def test_a_long_csv_line_is_cut_and_the_rows_after_it_stay_rows(
    tmp_path: Path, line: bytes, kept: str
) -> None:
    data = b"a,b,c,d\n1,y,z,\n" + line + b"3,w,v,u"
    out, frame = _cut(tmp_path, data)
    assert len(out) < ROW_LIMIT + 100
    assert frame["a"].to_list() == ["1", "2", "3"]
    assert frame.row(2) == ("3", "w", "v", "u")
    value = frame["c"][1]
    assert value.startswith(kept) and re.search(LINE_MARK, value)
    (size,) = re.findall(LINE_MARK, value)
    assert int(size) == len(line.split(b"\n")[0])


def test_short_lines_are_copied_as_they_are(tmp_path: Path) -> None:
    data = b'a,b\r\n1,"x\ny"\r\n2,z'
    out, _ = _cut(tmp_path, data)
    assert out == data


def test_the_streamed_pass_notes_a_line_too_long_to_parse_whole() -> None:
    watch = LineWatch()
    for _ in range(3):
        watch.feed((b"x" * 100 + b"\n") * (WINDOW // 101 + 10))
    assert not watch.long
    watch.feed(b"y" * 2 * WINDOW)
    assert watch.long
