"""The ceiling for Baton's stack: uvicorn + Starlette that only verify the signature and answer
202 (`python -m bench.bare_server`). By default with the same uvicorn settings as `baton serve`
(httptools and uvloop); `--pure` runs uvicorn's pure-Python defaults (h11, asyncio), which a
Starlette app gets when uvicorn is installed without its extras."""

from __future__ import annotations

import argparse
import os

import uvicorn
from githubkit.webhooks import verify
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build_app(secret: str) -> Starlette:
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify(secret, body, request.headers.get("x-hub-signature-256", "")):
            return Response(b'{"error":"bad signature"}', 401, media_type="application/json")
        return Response(b'{"ok":true}', 202, media_type="application/json")

    return Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pure", action="store_true", help="h11 and asyncio")
    args = parser.parse_args()
    app = build_app(os.environ["GITHUB_WEBHOOK_SECRET"])
    stack = {"http": "h11", "loop": "asyncio"} if args.pure else {}
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        **stack,  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
