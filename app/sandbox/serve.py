"""Serve a stand-in over a real loopback socket, inside the current event loop."""

from __future__ import annotations

import asyncio
import weakref

import uvicorn

from app.sandbox.standin import StandIn

_tasks: weakref.WeakKeyDictionary[uvicorn.Server, asyncio.Task[None]] = weakref.WeakKeyDictionary()


async def serve(
    standin: StandIn, host: str = "127.0.0.1", port: int = 0
) -> tuple[uvicorn.Server, str]:
    """Start serving in the background; end with `await stop(server)`."""
    config = uvicorn.Config(standin.app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise the start-up failure
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    _tasks[server] = task
    return server, f"http://{bound[0]}:{bound[1]}"


async def stop(server: uvicorn.Server) -> None:
    server.should_exit = True
    await _tasks.pop(server)
