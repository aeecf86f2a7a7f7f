"""Who may do what: responders, the Incident Commander, the people a command names.

Pure, like the rest of `app/incident/`: see `app/incident/rules.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.incident.effects import (
    UserFacts,
)
from app.incident.logins import is_login, same_login
from app.incident.state import IncidentState
from app.incident.turns import Refused, Turn

if TYPE_CHECKING:
    from app.incident.commands import Command
    from app.incident.config import Config


def responder_requirement(config: Config) -> str:
    """Who counts as a responder, in words: the reason a non-responder is refused."""
    needed = f"needs at least {config.responders.permission} access to this repository"
    if config.responders.teams:
        needed += " or membership of " + ", ".join(f"`{t}`" for t in config.responders.teams)
    return needed


def need_responder(turn: Turn) -> None:
    if not turn.actor.is_responder:
        raise Refused(responder_requirement(turn.config) + _unseen_teams(turn.actor.unseen_teams))


def _unseen_teams(teams: tuple[str, ...]) -> str:
    if not teams:
        return ""
    named = ", ".join(f"`{t}`" for t in teams)
    return (
        f" (Baton could not see who belongs to {named}: GitHub answered 403, as it does to a"
        " workflow's token; give responders access to the repository, or run Baton as the App)"
    )


def need_ic_or_responder_while_none(state: IncidentState, turn: Turn) -> None:
    """The IC decides; while nobody holds the role any responder may."""
    if state.ic is None:
        need_responder(turn)
    elif not same_login(turn.actor.login, state.ic):
        raise Refused(f"is for the Incident Commander, {quiet(state.ic)}, while there is one")


def need_open(state: IncidentState, doing: str) -> None:
    if not state.status.is_open:
        raise Refused(f"cannot {doing}: the incident is {state.status}; say `/reopen` first")


def quiet(login: str) -> str:
    """A login named in a refusal, in code so it does not notify them."""
    return f"`@{login}`"


def named(command: Command, turn: Turn) -> str:
    """The login a command names: `me` (or the commenter's own login) is the commenter; anyone
    else must exist."""
    if command.user is None:
        raise Refused("names nobody: say `@login` or `me`")
    if command.user.casefold() == "me" or same_login(command.user, turn.actor.login):
        return turn.actor.login
    if not is_login(command.user):
        raise Refused("does not name a valid GitHub login")
    facts = _facts(command.user, turn)
    if facts is None or not facts.exists:
        raise Refused(f"names {quiet(command.user)}, but there is no GitHub user by that name")
    return command.user


def _facts(login: str, turn: Turn) -> UserFacts | None:
    exact = turn.users.get(login)
    if exact is not None:
        return exact
    return next((f for name, f in turn.users.items() if same_login(name, login)), None)


def need_assignable(login: str, turn: Turn) -> None:
    facts = _facts(login, turn)
    if facts is not None and not facts.assignable:
        raise Refused(
            f"names {quiet(login)}, who cannot be assigned to this issue and so cannot be the "
            "Incident Commander (GitHub assigns only people with access to the repository)"
        )
