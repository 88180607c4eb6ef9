"""uvicorn's HTTP/1.1 protocols with ``TCP_NODELAY`` on every connection, whatever the worker count.

With ``--workers N`` uvicorn binds the listening socket itself
(``Config.bind_socket``) without naming the protocol, so the socket's
``proto`` is 0; asyncio turns ``TCP_NODELAY`` on for an accepted socket only
when ``proto`` is ``IPPROTO_TCP``, so Nagle's algorithm stays on. uvicorn
writes a response's head and body in two ``send`` calls: the body then waits
for the client's delayed ACK of the head, ~40 ms on Linux, on every
keep-alive request after the first (uvicorn issue 3149, open). One worker
is not affected (asyncio builds that listener from ``getaddrinfo``). Setting
the option on each connection as it is made fixes both paths; measured with
``bench/bench_api_load.py``: ``/healthz`` on one keep-alive connection went
from 44 ms to under 1 ms with 2 workers.

:class:`NoDelayHttpToolsProtocol` is what ``partsflow serve`` runs: uvicorn's
httptools parser (C; ``httptools`` is a dependency), with uvloop's event loop
(``uvloop``, likewise) instead of uvicorn's pure-Python h11 on asyncio: less
CPU per request on the event loop (docs/BENCHMARKS.md, "HTTP API under load").

:func:`reuse_port_listener` gives each worker a listening socket of its own
(see :class:`ReusePortListener`).
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on a TCP transport's socket (others are left as they are)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol (its default without httptools), answering without Nagle's delay."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (its C parser), answering without Nagle's delay."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


class ReusePortListener(socket.socket):
    """The address ``partsflow serve --workers N`` serves, re-made in each worker.

    uvicorn binds one listening socket and hands it to every worker: all of
    them wait on the same queue, and the worker the kernel wakes first takes
    the connection, so connections opened while the server is idle pile up on
    one worker (14 of 16 seen), which then serves them on one core while the
    other idles. Pickled into a worker (multiprocessing's spawn), this socket
    becomes a new one bound to the same address with ``SO_REUSEPORT``: each
    worker listens on its own queue and the kernel spreads new connections
    over them by a hash of their addresses. The parent's socket only holds
    the port; it never listens, so no connection waits on it.
    """

    def __reduce__(self) -> tuple[object, tuple[int, tuple[str, int]]]:
        return (_worker_listener, (int(self.family), self.getsockname()[:2]))


def reuse_port_listener(host: str, port: int) -> ReusePortListener:
    """The parent's socket for ``--workers N``: bound with ``SO_REUSEPORT``, not listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = ReusePortListener(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    _reuse(sock)
    sock.bind((host, port))
    return sock


def _worker_listener(family: int, address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    _reuse(sock)
    sock.bind(address)
    return sock


def _reuse(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
