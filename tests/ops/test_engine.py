"""Opening the store (ops.engine): URLs, SQLite's settings, queued writers."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from ops.engine import make_engine, reading, upgrade


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@h/db", "unsupported database or driver 'mysql'"),
        ("postgresql+psycopg2://u@h/db", "unsupported database or driver"),
        ("sqlite://", "names no file"),
        ("sqlite:///:memory:", "names no file"),
        ("postgresql://u@h:port/db", "is not a database URL"),
    ],
)
def test_a_bad_url_is_a_one_line_value_error(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        make_engine(url)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("url", ["postgresql://u:p@db:5432/ops", "postgres://u:p@db/ops"])
def test_a_postgresql_url_gets_the_psycopg_driver(url: str) -> None:
    engine = make_engine(url)  # connects lazily: no server needed
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.dialect.driver == "psycopg"


def test_sqlite_runs_in_wal_mode_with_its_guards(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'ops.sqlite3'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 1234,
        "synchronous": 1,
    }


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    """Read-then-write from two threads: deferred BEGIN would fail with 'database is locked'."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ops.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                    conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 100


def _bump_in_a_process(url: str, times: int) -> None:
    engine = make_engine(url)
    for _ in range(times):
        with engine.begin() as conn:
            n = conn.execute(text("SELECT n FROM counter")).scalar_one()
            conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
    engine.dispose()


def test_sqlite_writers_of_several_processes_take_turns(tmp_path: Path) -> None:
    """The writers' queue (a flock beside the file) holds across processes, as API workers are."""
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_bump_in_a_process, args=(url, 50)) for _ in range(3)]
    for process in processes:
        process.start()
    _bump_in_a_process(url, 50)
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 200
    assert (tmp_path / "ops.sqlite3.writers").exists()


def test_a_writer_waits_at_most_the_busy_timeout_then_the_next_gets_in(tmp_path: Path) -> None:
    """Not its turn in time: SQLite's own "database is locked" (the API's 503 ops-busy)."""
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    holder, waiter = make_engine(url), make_engine(url, busy_timeout_ms=100)
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            with waiter.begin() as conn:
                conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            outcome.append(None)
        except BaseException as error:  # reported below
            outcome.append(error)

    with holder.begin():
        thread = threading.Thread(target=write)
        thread.start()
        thread.join(10)
    [error] = outcome
    assert isinstance(error, OperationalError) and "database is locked" in str(error)
    write()  # the holder committed: the queue is free again, also after the failed wait
    assert outcome[1:] == [None]
    with pytest.raises(ZeroDivisionError), holder.begin() as conn:  # rolled back: leaves it too
        conn.execute(text("INSERT INTO t VALUES (1)"))
        _ = 1 / 0
    write()
    assert outcome[2:] == [None]


def test_a_read_transaction_does_not_wait_for_a_writer(engine: Engine) -> None:
    """WAL: a reader sees the last commit while a write transaction is open."""
    with engine.begin() as writer:
        writer.execute(text("INSERT INTO active_stock_run VALUES (1, 'run-1', CURRENT_TIMESTAMP)"))
        with reading(engine) as reader:
            assert reader.execute(text("SELECT count(*) FROM active_stock_run")).scalar() == 0
    with reading(engine) as reader:
        assert reader.execute(text("SELECT count(*) FROM active_stock_run")).scalar() == 1


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            "0004"
        ]
