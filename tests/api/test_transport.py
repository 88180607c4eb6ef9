"""api/transport.py: TCP_NODELAY on every connection (uvicorn's --workers N listener loses
it), and a listening socket per worker."""

from __future__ import annotations

import asyncio
import pickle
import socket

from api.transport import no_delay, reuse_port_listener


def test_a_connection_from_a_listener_without_proto_gets_no_delay() -> None:
    """A listener made as uvicorn's ``Config.bind_socket`` makes it (proto 0): Nagle stays on."""

    async def accept_one() -> list[tuple[int, int]]:
        listener = socket.socket(socket.AF_INET)
        listener.bind(("127.0.0.1", 0))
        seen: list[tuple[int, int]] = []

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                before = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                no_delay(transport)
                seen.append((before, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        await reader.read()  # until the server closes it
        writer.close()
        server.close()
        await server.wait_closed()
        return seen

    [(before, after)] = asyncio.run(accept_one())
    assert before == 0  # what asyncio leaves: the ~40 ms wait for the delayed ACK
    assert after != 0


def test_each_worker_listens_on_a_socket_of_its_own() -> None:
    """--workers N: the parent's socket, pickled into a worker, is a new SO_REUSEPORT listener."""
    parent = reuse_port_listener("127.0.0.1", 0)
    workers = [pickle.loads(pickle.dumps(parent)) for _ in range(2)]
    try:
        for worker in workers:
            assert worker is not parent and worker.fileno() != parent.fileno()
            assert worker.getsockname() == parent.getsockname()
            assert worker.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            worker.listen()
        # Both listen on the one port; the parent only holds it (a connection never waits on it).
        assert parent.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
        with socket.create_connection(parent.getsockname()[:2], timeout=5):
            pass
    finally:
        for sock in (parent, *workers):
            sock.close()
