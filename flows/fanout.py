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

A worker outlives the night that started it. Prefect keeps one event sender per
process, bound to the Prefect API of the first task run that sent an event; a
worker that outlived a night's ephemeral server would send every later night's
task-run events to that dead server (:func:`_follow_api` retires it).
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl
from prefect import Task, get_run_logger
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

    def map(
        self,
        task: Task[..., R],
        calls: Iterable[dict[str, Any]],
        keep: Callable[[int, R], R] | None = None,
    ) -> list[R]:
        """``task(**call)`` for every call, results in the order of ``calls``.

        ``calls`` is consumed lazily: locally one call at a time, on Dask as
        worker threads free up. ``keep(index, result)``, if given, is what is kept
        of each result as it arrives (here, in arrival order), e.g. its big rows
        written to disk. The first failed task raises its error.
        """
        kept = keep or _whole
        if self._runner is None:
            return [kept(index, task(**call)) for index, call in enumerate(calls)]
        return self._on_dask(self._runner, task, calls, kept)

    @staticmethod
    def _on_dask(
        runner: DaskTaskRunner,
        task: Task[..., R],
        calls: Iterable[dict[str, Any]],
        kept: Callable[[int, R], R],
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
                results[index] = kept(index, submitted.result())

        for index, call in enumerate(calls):
            if len(running) >= threads:
                collect("FIRST_COMPLETED")
            parameters = {name: placed(value) for name, value in call.items()}
            submitted = runner.submit(task, parameters=parameters)
            running[submitted.wrapped_future] = (index, submitted)
        if running:
            collect("ALL_COMPLETED")
        return [results[index] for index in sorted(results)]


def _whole(index: int, result: R) -> R:
    return result


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
        api_url = str(PREFECT_API_URL.value())
        dropped = runner.client.run(_follow_api, api_url)
        if any(dropped.values()):
            get_run_logger().warning(
                f"Dask workers: {sum(dropped.values())} task-run events of an earlier night "
                f"were never delivered to its Prefect API (gone); dropped, this night's go "
                f"to {api_url}"
            )
        yield Fanout(runner)


def _ephemeral_api_url() -> str:
    context = FlowRunContext.get()
    if context is None or context.client is None:
        raise RuntimeError("the Dask fan-out runs inside the nightly flow")
    return str(context.client.api_url).rstrip("/")


def _follow_api(api_url: str) -> int:
    """On a worker: retire Prefect's event sender if it sends to another API than ``api_url``.

    Prefect 3.8 keys its per-process event sender (``EventsWorker``) by client type,
    not by API, and binds it to the API of the task run that started it. On a worker
    that outlives a night's ephemeral Prefect server, every later night's task-run
    events would go to the dead server: lost to the Prefect UI, a warning each, and,
    since the sender is slowed by its reconnection attempts, each waiting event keeps
    a copy of its task run's context, with the task's inputs and result (after the
    large network's second night, 209-220 frames of 0.8-0.9 GiB alive on each of two
    workers, against 10 frames after the first). The retired sender's waiting
    events are dropped (their server is gone); the next event starts a sender bound
    to this night's API. Returns how many events were dropped.
    """
    from prefect.events.worker import EventsWorker

    dropped = 0
    # Every queue service's instances, by key (a class attribute of their common base).
    services: Mapping[int, object] = EventsWorker._instances  # type: ignore[misc]
    for sender in list(services.values()):
        if not isinstance(sender, EventsWorker):
            continue
        client = getattr(sender, "_client", None)
        if getattr(client, "_api_url", api_url) == api_url:
            continue  # this API's, or not started, or a client without an API
        while True:
            try:
                event = sender._queue.get_nowait()
            except queue.Empty:
                break
            dropped += event is not None
        sender._context_cache.clear()
        sender._stop()
    return dropped
