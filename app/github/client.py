"""The one place Baton talks to GitHub: App and installation clients, timeouts, retries, pacing.

Every request goes through `GitHubSession._call`, so that each can be counted, spaced, retried
within bounds (githubkit's own retry, with `RetryRule` deciding) and made safe to repeat:
- reads and idempotent writes (PATCH, DELETE, reactions) are retried a couple of times after a
  5xx or a dropped connection, with short pauses;
- a POST that creates content is never blindly retried: after an ambiguous failure the caller
  looks for the marker the content carries before trying again (see `post_reply`);
- a rate limit that clears within a couple of seconds is waited out; a longer one raises
  `GitHubBusy`, and the delivery is rescheduled instead of holding a worker for minutes.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import cache
from typing import Any, Final, TypeVar

import httpx
from cachetools import TTLCache
from githubkit import AppAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.exception import (
    GitHubException,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
)
from githubkit.rest import Paginator
from githubkit.retry import RetryOption

log = logging.getLogger(__name__)

T = TypeVar("T")
ResponseObserver = Callable[[int, int | None], None]

RETRIES = 2  # after the first try, for reads and idempotent writes
SHORT_WAIT = timedelta(seconds=2)  # a rate limit this short is waited out in place
USER_AGENT = "Baton (incident response on GitHub issues)"
# The REST API version of every request: the one GitHub Enterprise Server 3.x serves, which
# GitHub.com serves too; Baton reads the same fields in every version (docs/setup.md).
REST_API_VERSION: Final = "2022-11-28"
ACTIONS_BOT = "github-actions[bot]"  # who a workflow's GITHUB_TOKEN writes as (Action mode)
# When this little is left of an installation's allowance, reminders wait and commands go first.
REQUESTS_KEPT_FOR_COMMANDS = 100
CONTENT_KEPT_FOR_COMMANDS = 50
CONTENT_PER_MINUTE_KEPT = 10  # of the 80 a minute, reminders leave these to commands
MINUTE, HOUR = 60.0, 3600.0
ROLE_MEMORY = MINUTE  # roles change rarely and are asked for on every command
BOARD_MEMORY = HOUR  # a project board's shape is trusted this long before it is read again
ROLES_KEPT, BOARDS_KEPT = 10_000, 1_000  # beyond these, the least recently used are forgotten
ARRIVAL_MARGIN = 1.0  # seconds
GIVES_WAY = 0.1  # seconds a write waits before looking again, while a more urgent one waits


class GitHubBusy(Exception):
    """GitHub asked us to wait (rate limit); try the whole unit of work again `after`."""

    def __init__(self, after: timedelta, reason: str) -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason


class GitHubUnavailable(Exception):
    """GitHub kept failing (5xx, timeouts) within our bounded retries; try again later."""


class AmbiguousWrite(Exception):
    """A content-creating request failed in a way that leaves unknown whether it took effect."""


# Whether the request being sent may be sent again after a failure that leaves unknown whether
# it took effect: set by `GitHubSession._call` for the request it makes, read by `RetryRule`.
_repeatable: ContextVar[bool] = ContextVar("repeatable", default=True)
NO_RETRY: Final = RetryOption(False)


@dataclass(frozen=True)
class RetryRule:
    """githubkit's retry decision (`auto_retry`), keeping Baton's rule:
    - a rate limit that clears within `SHORT_WAIT` is waited out (its Retry-After honoured);
    - a 5xx or no answer is retried, after a short pause, only for a request that may be sent
      twice: never a content-creating POST, which its caller looks for by marker instead;
    - a 401 empties the token cache (`tokens`: GitHub rejected a cached token, revoked or
      expired earlier than this machine's clock says) and tries once more with a new token.
    Any other failure, or one retried `RETRIES` times, reaches `GitHubSession._call`."""

    tokens: MemCacheStrategy

    def __call__(self, error: GitHubException, retries: int) -> RetryOption:
        if retries >= RETRIES:
            return NO_RETRY
        if isinstance(error, RateLimitExceeded):
            return _after(error.retry_after) if error.retry_after <= SHORT_WAIT else NO_RETRY
        if isinstance(error, RequestFailed):
            status = error.response.status_code
            if status == 401 and retries == 0:
                log.info("GitHub rejected a cached token; asking for a new one")
                self.tokens.cleanup()
                return _after(timedelta())
            if status < 500:
                return NO_RETRY
        if not isinstance(error, RequestError) or not _repeatable.get():
            return NO_RETRY
        log.info("%s; retrying (attempt %d)", _failure_of(error), retries + 2)
        return _after(timedelta(seconds=0.2 * 2**retries))


def _after(wait: timedelta) -> RetryOption:
    # githubkit reads a zero wait as "no wait given" and then waits a minute.
    return RetryOption(True, max(wait, timedelta(microseconds=1)))


def _failure_of(error: RequestError[Any]) -> str:
    if isinstance(error, RequestFailed):
        return f"GitHub {error.response.status_code}"
    return "no answer from GitHub"


class Precedence(IntEnum):
    """Which of the writes waiting for their turn goes first: what a person needs first."""

    CARD = 0  # the incident issue (card, labels, assignees, state), and what it depends on
    REPLY = 1
    REACTION = 2  # only acknowledges a command that the card and the reply answer


class WritePacer:
    """Spaces writes as GitHub asks (about 1 s apart in bulk, at most 80 content-creating
    requests a minute and 500 an hour) while letting a burst, a few commands' writes, go at
    once: an interactive reply never waits unless writes have been flowing faster than one a
    second for a while. When writes wait, the most urgent go first: a command's before a
    reminder's (`nudge=True`), then by `Precedence`. Reminders also leave the last part of each
    minute's allowance to commands."""

    def __init__(
        self,
        *,
        burst: int = 20,
        interval: float = 1.0,
        content_per_minute: int = 80,
        content_per_hour: int = 500,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._burst = burst
        self._interval = interval
        self._content_per_minute = content_per_minute
        self._content_per_hour = content_per_hour
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._refilled_at = clock()
        self._content_times: deque[float] = deque()
        # Each waiting write's rank, (a reminder's, its precedence), and whether it waits for
        # the content-creating allowance rather than for a slot.
        self._waiting: dict[object, tuple[tuple[bool, Precedence], bool]] = {}

    async def before_write(
        self,
        *,
        content_creating: bool,
        nudge: bool = False,
        precedence: Precedence = Precedence.CARD,
    ) -> None:
        ticket, rank = object(), (nudge, precedence)
        try:
            # No await between the last check and taking the slot: the event loop makes that
            # atomic, so writers need no lock and a later, more urgent write can overtake.
            while (wait := self._wait_needed(ticket, rank, content_creating)) > 0:
                await self._sleep(wait)
        finally:
            self._waiting.pop(ticket, None)
        self._tokens -= 1
        if content_creating:
            self._content_times.append(self._clock())

    def _wait_needed(
        self, ticket: object, rank: tuple[bool, Precedence], content_creating: bool
    ) -> float:
        now = self._clock()
        if self._interval > 0:
            self._tokens = min(
                self._burst, self._tokens + (now - self._refilled_at) / self._interval
            )
        else:
            self._tokens = self._burst
        self._refilled_at = now
        slot_wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) * self._interval
        allowance_wait = self._allowance_wait(now, nudge=rank[0]) if content_creating else 0.0
        self._waiting[ticket] = (rank, allowance_wait > 0)
        # A write that creates no content does not give way to one waiting for its allowance.
        if any(
            other < rank and (content_creating or not for_allowance)
            for other, for_allowance in self._waiting.values()
        ):
            return max(slot_wait, allowance_wait, GIVES_WAY)
        return max(slot_wait, allowance_wait)

    def _allowance_wait(self, now: float, *, nudge: bool) -> float:
        """How long until one more content-creating request fits GitHub's windows."""
        self._forget_content_before(now - HOUR - ARRIVAL_MARGIN)
        minute = self._content_per_minute - (CONTENT_PER_MINUTE_KEPT if nudge else 0)
        wait = 0.0
        for window, allowed in ((MINUTE, minute), (HOUR, self._content_per_hour)):
            # GitHub counts arrivals: a second's margin keeps jitter out of its window.
            window += ARRIVAL_MARGIN
            recent = [t for t in self._content_times if now - t < window]
            if len(recent) >= allowed:
                wait = max(wait, window - (now - recent[len(recent) - allowed]))
        return wait

    def _forget_content_before(self, moment: float) -> None:
        while self._content_times and self._content_times[0] <= moment:
            self._content_times.popleft()

    def content_room(self) -> int:
        """Content-creating requests left in the last hour's allowance."""
        self._forget_content_before(self._clock() - HOUR - ARRIVAL_MARGIN)
        return self._content_per_hour - len(self._content_times)


@dataclass
class RequestBudget:
    """An installation's hourly request allowance, as GitHub's latest answer reported it."""

    remaining: int | None = None
    limit: int | None = None
    reset_at: float | None = None  # seconds since the epoch

    def note(self, headers: Mapping[str, str]) -> None:
        remaining, limit, reset = (
            headers.get(f"x-ratelimit-{name}") for name in ("remaining", "limit", "reset")
        )
        if remaining and limit and remaining.isdigit() and limit.isdigit():
            self.remaining, self.limit = int(remaining), int(limit)
            self.reset_at = float(reset) if reset and reset.isdigit() else None

    def running_low(self, now: float) -> bool:
        if self.remaining is None or self.limit is None:
            return False
        if self.reset_at is not None and now >= self.reset_at:
            return False  # a new hour has begun since GitHub said so
        return self.remaining <= max(REQUESTS_KEPT_FOR_COMMANDS, self.limit // 10)

    def until_reset(self, now: float) -> timedelta:
        seconds = (self.reset_at or now + 60) - now
        return timedelta(seconds=max(seconds, 1))


@dataclass
class KnownLabels:
    names: set[str] = field(default_factory=set)
    listed: bool = False  # the repository's whole label list has been read


class Caches:
    """What one process remembers between units of work, per GitHub App: the labels known to
    exist, people's roles for a minute, project boards for an hour (by `timer`'s seconds)."""

    def __init__(self, timer: Callable[[], float] = time.monotonic) -> None:
        self.labels: dict[str, KnownLabels] = {}
        # A role by (repository, login); None: no such user.
        self.roles: TTLCache[tuple[str, str], str | None] = TTLCache(ROLES_KEPT, ROLE_MEMORY, timer)
        # The boards of `app.github.projects` (its `KnownBoard`), by (installation, address).
        self.boards: TTLCache[tuple[int | None, str], Any] = TTLCache(
            BOARDS_KEPT, BOARD_MEMORY, timer
        )


class GitHubApp:
    """The App-level client (JWT) and the factory of per-unit-of-work installation sessions."""

    def __init__(
        self,
        *,
        app_id: int,
        private_key: str,
        api_url: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        observe: ResponseObserver | None = None,
        pacer_factory: Callable[[], WritePacer] = WritePacer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """`timer`: the seconds by which `caches` forget."""
        self._clock = clock
        # One pool of kept-alive connections for every unit of work of this process, so a
        # delivery does not pay for a new TCP and TLS handshake with GitHub.
        self._pool = pooled_transport() if transport is None else None
        shared = transport if self._pool is None else KeptOpen(self._pool)
        self._github = GitHub(
            AppAuthStrategy(str(app_id), private_key),
            **client_options(api_url, timeout, shared, observe),
        )
        self._pacers: dict[int, WritePacer] = {}
        self._budgets: dict[int, RequestBudget] = {}
        self._pacer_factory = pacer_factory
        self._app_pacer = pacer_factory()
        self._bot_login: str | None = None
        self.caches = Caches(timer)

    async def aclose(self) -> None:
        """Close the connection pool (at shutdown)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def __aenter__(self) -> GitHubApp:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def known_bot_login(self) -> str | None:
        """The bot's login if `bot_login()` has learned it; never a request."""
        return self._bot_login

    async def bot_login(self) -> str:
        """The App's bot account (`<slug>[bot]`), learned once from `GET /app`."""
        if self._bot_login is None:
            async with self._github:
                rest = self._github.rest(REST_API_VERSION)
                app = (await rest.apps.async_get_authenticated()).parsed_data
            if app is None or not app.slug:
                raise GitHubUnavailable("GET /app returned no app slug")
            self._bot_login = f"{app.slug}[bot]"
        return self._bot_login

    @asynccontextmanager
    async def as_app(self) -> AsyncIterator[GitHubSession]:
        """A session authenticated as the App itself (its JWT): installations, hook deliveries."""
        async with self._github:
            yield GitHubSession(
                self._github, self._app_pacer, self.caches, RequestBudget(), self._clock
            )

    @asynccontextmanager
    async def installation(self, installation_id: int) -> AsyncIterator[GitHubSession]:
        """A client for one installation, entered for one unit of work (its own task)."""
        github = self._github.with_auth(self._github.auth.as_installation(installation_id))
        pacer = self._pacers.setdefault(installation_id, self._pacer_factory())
        budget = self._budgets.setdefault(installation_id, RequestBudget())
        async with github:
            yield GitHubSession(github, pacer, self.caches, budget, self._clock)


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client: building one (loading the CA bundle) per unit of work
    was the largest cost of handling a delivery."""
    return httpx.create_ssl_context()


def pooled_transport() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(verify=tls_context(), limits=httpx.Limits(keepalive_expiry=60))


class KeptOpen(httpx.AsyncBaseTransport):
    """A transport that many short-lived clients share: closing a client leaves it open."""

    def __init__(self, pool: httpx.AsyncBaseTransport) -> None:
        self._pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        """The pool's owner closes it; a client's own close does not."""


def client_options(
    api_url: str,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None,
    observe: ResponseObserver | None,
) -> dict[str, Any]:
    """githubkit options shared by App, installation and token clients (`with_auth` keeps
    them, the token cache and its retry rule included)."""

    async def on_request(request: httpx.Request) -> None:
        # githubkit's installation-token request names no version; GraphQL has none.
        if not request.url.path.endswith("/graphql"):
            request.headers.setdefault("X-GitHub-Api-Version", REST_API_VERSION)
        if (count := _requests_sent.get()) is not None:
            count.sent += 1

    async def on_response(response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        if observe is not None:
            observe(response.status_code, int(remaining) if remaining else None)
        if log.isEnabledFor(logging.DEBUG):  # spares the fields of every request otherwise
            request = response.request
            log.debug(
                "GitHub %s %s: %d",
                request.method,
                request.url.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ratelimit_remaining": int(remaining) if remaining else None,
                },
            )

    tokens = MemCacheStrategy()  # JWTs and installation tokens
    return {
        "base_url": api_url,
        "timeout": httpx.Timeout(timeout),
        "ssl_verify": tls_context(),
        "user_agent": USER_AGENT,
        "auto_retry": RetryRule(tokens),
        "http_cache": False,
        "cache_strategy": tokens,
        "async_transport": transport,
        "async_event_hooks": {"request": [on_request], "response": [on_response]},
    }


@dataclass
class RequestCount:
    sent: int = 0


_requests_sent: ContextVar[RequestCount | None] = ContextVar("requests_sent", default=None)


@contextmanager
def counting_requests() -> Iterator[RequestCount]:
    """Counts the GitHub requests this task (and the tasks it starts) sends meanwhile, retries
    and token requests included, whichever client sends them."""
    count = RequestCount()
    token = _requests_sent.set(count)
    try:
        yield count
    finally:
        _requests_sent.reset(token)


@asynccontextmanager
async def token_session(
    token: str,
    api_url: str,
    *,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
    observe: ResponseObserver | None = None,
) -> AsyncIterator[GitHubSession]:
    """A session authenticated with a plain token (Action mode's GITHUB_TOKEN)."""
    github = GitHub(
        TokenAuthStrategy(token), **client_options(api_url, timeout, transport, observe)
    )
    async with github:
        yield GitHubSession(
            github, WritePacer(), Caches(), RequestBudget(), lambda: datetime.now(UTC)
        )


class GitHubSession:
    """GitHub operations Baton uses, for one installation and one unit of work."""

    def __init__(
        self,
        github: GitHub[Any],
        pacer: WritePacer,
        caches: Caches,
        budget: RequestBudget,
        clock: Callable[[], datetime],
    ) -> None:
        self.github = github
        self._clock = clock
        self.rest = github.rest(REST_API_VERSION)
        self.caches = caches
        self._pacer = pacer
        self._budget = budget
        # Set for a unit of work that posts reminders: its writes give way to commands.
        self.nudging = False

    async def read(self, request: Callable[[], Awaitable[T]]) -> T:
        return await self._call(request, idempotent=True)

    async def read_if_found(self, request: Callable[[], Awaitable[T]]) -> T | None:
        """A read where GitHub's 404 means "there is none": None instead of an error."""
        try:
            return await self.read(request)
        except RequestFailed as error:
            if is_not_found(error):
                return None
            raise

    async def every(self, paginator: Paginator[T]) -> AsyncIterator[T]:
        """The items of a list, page after page as GitHub's `Link` header leads (githubkit's
        paginator, built with `github.rest.paginate`), each page asked for as `read` asks."""
        items = aiter(paginator)
        while True:
            try:
                item = await self.read(lambda: anext(items))
            except StopAsyncIteration:
                return
            if (page := paginator.latest_response) is not None:
                self._budget.note(page.headers)
            yield item

    async def write(
        self,
        request: Callable[[], Awaitable[T]],
        *,
        idempotent: bool = True,
        content_creating: bool = False,
        precedence: Precedence = Precedence.CARD,
    ) -> T:
        await self._pacer.before_write(
            content_creating=content_creating, nudge=self.nudging, precedence=precedence
        )
        return await self._call(request, idempotent=idempotent)

    async def _call(self, request: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        """`request`, retried by githubkit as `RetryRule` decides; what is left of a failure
        raised as Baton's errors: `GitHubBusy`, `AmbiguousWrite`, `GitHubUnavailable`."""
        repeatable = _repeatable.set(idempotent)
        try:
            result = await request()
        except RateLimitExceeded as error:
            raise GitHubBusy(error.retry_after, "GitHub rate limit") from error
        except RequestFailed as error:
            self._budget.note(error.response.headers)
            status = error.response.status_code
            if status == 429:
                raise GitHubBusy(timedelta(seconds=60), "GitHub: too many requests") from error
            if status < 500:
                raise
            raise _given_up(error, idempotent) from error
        except RequestError as error:
            raise _given_up(error, idempotent) from error
        finally:
            _repeatable.reset(repeatable)
        if isinstance(headers := getattr(result, "headers", None), Mapping):
            self._budget.note(headers)
        return result

    def nudges_must_wait(self) -> timedelta | None:
        """How long reminders should wait so that commands keep what is left of the rate limit:
        the last part of the hourly request allowance and of the content-creating allowance."""
        now = self._clock().timestamp()
        if self._budget.running_low(now):
            return self._budget.until_reset(now)
        if self._pacer.content_room() <= CONTENT_KEPT_FOR_COMMANDS:
            return timedelta(minutes=5)
        return None

    def labels_known_in(self, repo: str) -> KnownLabels:
        return self.caches.labels.setdefault(repo, KnownLabels())


def _given_up(error: RequestError[Any], idempotent: bool) -> Exception:
    what = _failure_of(error)
    return GitHubUnavailable(what) if idempotent else AmbiguousWrite(what)


def is_not_found(error: BaseException) -> bool:
    return isinstance(error, RequestFailed) and error.response.status_code == 404


def is_forbidden(error: BaseException) -> bool:
    """GitHub's 403 for a permission the token lacks (a rate limit's 403 is not this)."""
    return (
        isinstance(error, RequestFailed)
        and not isinstance(error, RateLimitExceeded)
        and error.response.status_code == 403
    )


class QueryTime(datetime):
    """A moment as GitHub reads it in a query string (`since`): `YYYY-MM-DDTHH:MM:SSZ`.
    githubkit hands a datetime to httpx, which writes `str()` of it, a form with a space and
    microseconds that GitHub refuses."""

    def __str__(self) -> str:
        return self.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_time(moment: datetime) -> QueryTime:
    """`moment` rounded down to the second, so that a `since` still includes it."""
    return QueryTime.fromtimestamp(int(moment.timestamp()), UTC)
