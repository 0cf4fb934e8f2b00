"""A TCP proxy in front of server replicas, as any load balancer is: each connection goes to
the next replica that accepts it (a dead one is skipped)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["round_robin_proxy"]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextmanager
def round_robin_proxy(backends: list[tuple[str, int]]) -> Iterator[str]:
    """A proxy on a free loopback port; yields its ``http://`` URL. On the way out every
    connection is closed and every task has finished."""
    loop = asyncio.new_event_loop()
    turn = itertools.count()
    ready = threading.Event()
    address: list[int] = []
    writers: set[asyncio.StreamWriter] = set()

    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        writers.add(client_writer)
        start = next(turn)
        for offset in range(len(backends)):
            host, port = backends[(start + offset) % len(backends)]
            try:
                server_reader, server_writer = await asyncio.open_connection(host, port)
            except OSError:
                continue
            writers.add(server_writer)
            await asyncio.gather(
                _pipe(client_reader, server_writer), _pipe(server_reader, client_writer)
            )
            return
        client_writer.close()

    stop = asyncio.Event()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        address.append(server.sockets[0].getsockname()[1])
        ready.set()
        await stop.wait()
        server.close()
        for writer in writers:
            writer.close()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in writers:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await server.wait_closed()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{address[0]}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
