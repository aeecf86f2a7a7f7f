"""HTTP plumbing shared by the stand-in's handlers: replies, GitHub's errors, routing, paging."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import unquote

import httpx

DOCS = "https://docs.github.com/rest"
T = TypeVar("T")


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able; None means no body
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


class Refusal(Exception):
    """Raised by handlers to answer with one of GitHub's error bodies."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def error(status: int, message: str, **extra: Any) -> Refusal:
    body = {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
    return Refusal(Reply(status, body))


def not_found() -> Refusal:
    return error(404, "Not Found")


def validation_failed(
    resource: str, code: str, field_name: str, message: str | None = None
) -> Refusal:
    problem = {"resource": resource, "code": code, "field": field_name}
    if message is not None:
        problem["message"] = message
    return error(422, "Validation Failed", errors=[problem])


@dataclass
class Call:
    """One request as a handler sees it."""

    method: str
    url: httpx.URL
    params: dict[str, str]  # path parameters, decoded
    query: dict[str, str]
    json: Any
    headers: dict[str, str]


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m[1]}>.+)" if m[1] == "path" else f"(?P<{m[1]}>[^/]+)",
            template,
        )
        self.routes.append(Route(method, template, handler, re.compile(f"^{regex}/?$")))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method and (found := route.pattern.match(path)):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None


def page_of(call: Call, items: Sequence[T], default_per_page: int = 30) -> tuple[list[T], str]:
    """The requested page and its RFC 5988 Link header value ("" when one page)."""
    per_page = min(max(int_param(call, "per_page", default_per_page), 1), 100)
    page = max(int_param(call, "page", 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []
    for rel, number in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
        if 1 <= number <= last and (rel in ("prev", "next") or last > 1):
            url = call.url.copy_merge_params({"page": str(number), "per_page": str(per_page)})
            links.append(f'<{url.copy_set_param("page", str(number))}>; rel="{rel}"')
    return list(items[(page - 1) * per_page : page * per_page]), ", ".join(links)


def int_param(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name)
    try:
        return default if raw is None else int(raw)
    except ValueError as exc:
        raise error(422, f"Invalid value for {name}") from exc


# `format: date-time` (RFC 3339), as GitHub documents it: `YYYY-MM-DDTHH:MM:SSZ`.
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def since_param(call: Call) -> datetime | None:
    raw = call.query.get("since")
    if raw is None:
        return None
    try:
        if not DATE_TIME.fullmatch(raw):
            raise ValueError(raw)
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise error(422, "Invalid value for since") from exc


@dataclass
class Window:
    limit: int
    used: int
    reset: datetime


class RateLimits:
    """GitHub's primary rate limits, per caller and resource."""

    POLICIES: ClassVar[dict[str, tuple[int, timedelta]]] = {
        "core": (5000, timedelta(hours=1)),
        "search": (30, timedelta(minutes=1)),
    }

    def __init__(self, clock: Callable[[], datetime], *, core_limit: int | None = None) -> None:
        self.clock = clock
        self.windows: dict[tuple[str, str], Window] = {}
        self.core_limit = core_limit  # another hourly limit than 5,000 (GitHub's vary)

    def window(self, caller: str, resource: str) -> Window:
        limit, span = self.POLICIES[resource]
        if resource == "core" and self.core_limit is not None:
            limit = self.core_limit
        if caller == "anonymous":
            limit = 60
        now = self.clock()
        current = self.windows.get((caller, resource))
        if current is None or current.reset <= now:
            current = self.windows[(caller, resource)] = Window(limit, 0, now + span)
        return current

    @staticmethod
    def headers(window: Window, resource: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(window.limit),
            "x-ratelimit-remaining": str(max(window.limit - window.used, 0)),
            "x-ratelimit-reset": str(int(window.reset.timestamp())),
            "x-ratelimit-used": str(window.used),
            "x-ratelimit-resource": resource,
        }
