"""Servers listen on bound_socket(): their connections must not wait on Nagle's algorithm."""

from __future__ import annotations

import asyncio
import socket

from oretrail.bootstrap import bound_socket


async def test_connections_accepted_on_a_bound_socket_send_without_delay() -> None:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    # As uvicorn serves it: an asyncio server on the socket we bound.
    server = await asyncio.start_server(on_connection, sock=bound_socket())
    host, port = server.sockets[0].getsockname()[:2]
    async with server:
        _, writer = await asyncio.open_connection(host, port)
        nodelay = await asyncio.wait_for(accepted, 5)
        writer.close()
    # Nagle's algorithm off: a response's body does not wait for the client's ACK.
    assert nodelay != 0
