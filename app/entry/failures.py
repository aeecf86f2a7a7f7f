"""What the command line says when a command fails: one line a person can act on, and the exit
status that tells a script what kind of failure it was."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import httpx
from githubkit.exception import RequestError, RequestFailed, RequestTimeout

from app.entry.settings import Settings, SettingsError
from app.github.client import AmbiguousWrite, GitHubBusy, GitHubUnavailable
from app.server.store import StoreUnavailable


class Exit(IntEnum):
    """The exit statuses of `baton` (README.md lists them)."""

    DONE = 0
    PROBLEMS = 1  # `check-config`: the configuration has problems
    SETTINGS = 2  # a setting or argument is missing or wrong; nothing was tried
    REFUSED = 3  # GitHub refused a request (401, 403, 404, 422, ...)
    UNAVAILABLE = 4  # GitHub could not be reached, timed out, answered 5xx or rate-limited
    STORE = 5  # the delivery store cannot be opened
    UNEXPECTED = 70  # a failure Baton does not know (a bug): run with --debug and report it


@dataclass(frozen=True)
class Failure:
    status: Exit
    message: str


HINTS = {
    401: "check GITHUB_TOKEN, or GITHUB_APP_ID and the App's private key",
    403: "check that the token or the App has the permissions docs/setup.md lists, "
    "and its rate limit",
    404: "check the repository's OWNER/NAME, and that the token or the App can see it",
}


def explain(error: BaseException, settings: Settings | None) -> Failure:
    """The line to print for `error`, and the exit status."""
    api_url = settings.api_url if settings else "GitHub"
    if isinstance(error, SettingsError):
        return Failure(Exit.SETTINGS, str(error))
    if isinstance(error, StoreUnavailable):
        return Failure(Exit.STORE, str(error))
    if isinstance(error, RequestFailed):
        if error.response.status_code >= 500:
            return Failure(Exit.UNAVAILABLE, _failing(error, "answered"))
        return _refused(error)
    if isinstance(error, GitHubBusy):
        return Failure(Exit.UNAVAILABLE, f"{error.reason}: try again in {error.after} or later")
    if isinstance(error, AmbiguousWrite):
        return Failure(
            Exit.UNAVAILABLE,
            f"a write to GitHub failed ({error}) and may have taken effect: look at the issue "
            "before running again",
        )
    if isinstance(error, GitHubUnavailable):
        if isinstance(error.__cause__, RequestFailed):
            return Failure(Exit.UNAVAILABLE, _failing(error.__cause__, "kept answering"))
        return Failure(Exit.UNAVAILABLE, _unreachable(str(error), api_url, error.__cause__))
    if isinstance(error, RequestTimeout | RequestError | httpx.TransportError):
        return Failure(Exit.UNAVAILABLE, _unreachable("no answer from GitHub", api_url, error))
    return Failure(
        Exit.UNEXPECTED,
        f"unexpected {type(error).__name__}: {error}; run again with --debug to see where, "
        "and report it",
    )


def _refused(error: RequestFailed) -> Failure:
    response = error.response
    request = response.raw_response.request
    said = _github_message(response.raw_response)
    hint = HINTS.get(response.status_code, "check the request's repository and the settings")
    return Failure(
        Exit.REFUSED,
        f"GitHub answered {response.status_code}{said} to {request.method} {request.url.path}: "
        f"{hint}",
    )


def _failing(error: RequestFailed, answering: str) -> str:
    request = error.response.raw_response.request
    return (
        f"GitHub {answering} {error.response.status_code} to {request.method} "
        f"{request.url.path}: GitHub may be having trouble "
        "(https://www.githubstatus.com); try again later"
    )


def _unreachable(what: str, api_url: str, cause: BaseException | None) -> str:
    reason = f" ({_reason(cause)})" if cause is not None and _reason(cause) else ""
    return (
        f"{what} at {api_url}{reason}: check GITHUB_API_URL, the network, and "
        "https://www.githubstatus.com; BATON_HTTP_TIMEOUT sets how long a request may take"
    )


def _reason(cause: BaseException) -> str:
    while cause.__cause__ is not None and not str(cause):
        cause = cause.__cause__
    return str(cause) or type(cause).__name__


def _github_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        return ""
    return f" ({message})" if isinstance(message, str) and message else ""
