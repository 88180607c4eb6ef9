"""TCP_NODELAY on every connection (api/transport.py): uvicorn's --workers N listener loses it."""

from __future__ import annotations

import asyncio
import socket

from api.transport import no_delay


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
