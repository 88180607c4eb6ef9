"""The nightly's per-warehouse tasks, run here or on a Dask cluster: scale-out's one switch.

Forecasting a warehouse and replaying its targets depend on no other warehouse
(each has its own model choice, calibration and stock), so the night maps one
task over the warehouses and gathers the results in the warehouses' order:

* without a scheduler address (the default), each task is called in turn in the
  flow's process, like every other task of the night: no pool, no runner, nothing
  of Dask imported. A task call costs ~10 ms of Prefect bookkeeping;
* with one, the tasks go to the cluster through ``prefect_dask.DaskTaskRunner``,
  at most as many at a time as the cluster has worker threads (a warehouse's
  series are built when a thread is free for them, not all at once), and come back
  in the order they were given. Inputs and results travel pickled; a task never
  gets a DuckDB connection.

Either way the night sees the same list, so the same gathering code makes the
same frames (``tests/test_dask.py`` runs a night both ways and compares them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl
from prefect import Task
from prefect.context import FlowRunContext
from prefect.settings import PREFECT_API_URL, temporary_settings

from pipelines.errors import InputError

if TYPE_CHECKING:
    from prefect_dask.task_runners import DaskTaskRunner, PrefectDaskFuture

R = TypeVar("R")


class Fanout:
    """Maps a task over per-warehouse calls, locally or on a Dask cluster (:func:`fanout`)."""

    def __init__(self, runner: DaskTaskRunner | None = None) -> None:
        self._runner = runner

    @property
    def on_dask(self) -> bool:
        """Whether the tasks run on a Dask cluster."""
        return self._runner is not None

    def map(self, task: Task[..., R], calls: Iterable[dict[str, Any]]) -> list[R]:
        """``task(**call)`` for every call, results in the order of ``calls``.

        ``calls`` is consumed lazily: locally one call at a time, on Dask as
        worker threads free up. The first failed task raises its error.
        """
        if self._runner is None:
            return [task(**call) for call in calls]
        return self._on_dask(self._runner, task, calls)

    @staticmethod
    def _on_dask(
        runner: DaskTaskRunner, task: Task[..., R], calls: Iterable[dict[str, Any]]
    ) -> list[R]:
        import distributed

        client = runner.client
        # distributed is untyped: nthreads(), scatter() and wait() are called without types.
        threads = max(1, sum(client.nthreads().values()))  # type: ignore[no-untyped-call]
        results: dict[int, R] = {}
        running: dict[distributed.Future[Any], tuple[int, PrefectDaskFuture[R]]] = {}

        def placed(value: Any) -> Any:
            # A frame goes to a worker directly, not inside the task through the scheduler
            # (Dask's advice for large inputs, such as a warehouse's series).
            if isinstance(value, pl.DataFrame):
                return client.scatter(value, hash=False)  # type: ignore[no-untyped-call]
            return value

        def collect(return_when: str) -> None:
            # The runner's client is not Dask's default (prefect-dask leaves that alone).
            with client.as_current():
                done, _ = distributed.wait(list(running), return_when=return_when)  # type: ignore[no-untyped-call]
            for future in done:
                index, submitted = running.pop(future)
                results[index] = submitted.result()

        for index, call in enumerate(calls):
            if len(running) >= threads:
                collect("FIRST_COMPLETED")
            parameters = {name: placed(value) for name, value in call.items()}
            submitted = runner.submit(task, parameters=parameters)
            running[submitted.wrapped_future] = (index, submitted)
        if running:
            collect("ALL_COMPLETED")
        return [results[index] for index in sorted(results)]


@contextmanager
def fanout(dask_address: str | None) -> Iterator[Fanout]:
    """A :class:`Fanout` for the night: local without an address, else on that scheduler.

    The Dask client connects once, here, and closes when the block ends. The
    workers report their task runs to this run's Prefect API: ``PREFECT_API_URL``
    when it is set (a Prefect server the workers can reach), else the URL of the
    ephemeral server this process started, which only workers on this machine reach.

    Raises
    ------
    InputError
        No scheduler answers at ``dask_address`` within Dask's connect timeout
        (``distributed.comm.timeouts.connect``, 30 s by default).
    """
    if dask_address is None:
        yield Fanout()
        return
    from prefect_dask.task_runners import DaskTaskRunner

    with ExitStack() as stack:
        if not PREFECT_API_URL.value():
            stack.enter_context(temporary_settings({PREFECT_API_URL: _ephemeral_api_url()}))
        runner = stack.enter_context(DaskTaskRunner(address=dask_address))
        try:
            _ = runner.client  # connects: a wrong address fails here, before any work is sent
        except (OSError, ValueError) as error:  # unreachable; malformed
            raise InputError(
                f"no Dask scheduler answers at {dask_address} ({error}): check the address"
            ) from None
        yield Fanout(runner)


def _ephemeral_api_url() -> str:
    context = FlowRunContext.get()
    if context is None or context.client is None:
        raise RuntimeError("the Dask fan-out runs inside the nightly flow")
    return str(context.client.api_url).rstrip("/")
