"""The ceiling for Baton's stack: uvicorn + Starlette that only verify the signature and answer
202, run with the same uvicorn settings as `baton serve` (`python -m bench.bare_server`)."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build_app(secret: str) -> Starlette:
    key = secret.encode()

    async def receive(request: Request) -> Response:
        body = await request.body()
        expected = "sha256=" + hmac.digest(key, body, hashlib.sha256).hex()
        if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
            return Response(b'{"error":"bad signature"}', 401, media_type="application/json")
        return Response(b'{"ok":true}', 202, media_type="application/json")

    return Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = build_app(os.environ["GITHUB_WEBHOOK_SECRET"])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
