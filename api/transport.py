"""uvicorn's HTTP/1.1 protocol with ``TCP_NODELAY`` on every connection, whatever the worker count.

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
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


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
