"""One small generated network per test session, shared by the generator's test modules."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.generate import GenerationSummary, generate
from tests.pipelines.generate_support import all_lines, all_returns


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    """The small scale (2 forward warehouses, 30 stores, 500 skus, 180 days), seed 0."""
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, "small", seed=0)


@pytest.fixture(scope="session")
def out(generated: tuple[Path, GenerationSummary]) -> Path:
    return generated[0]


@pytest.fixture(scope="session")
def lines(out: Path) -> pl.DataFrame:
    """All order lines as first sent, with ``final_status`` after update files."""
    return all_lines(out)


@pytest.fixture(scope="session")
def returns(out: Path) -> pl.DataFrame:
    return all_returns(out)


@pytest.fixture(scope="session")
def skus(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "skus.parquet")
