"""The incident rules: given this state, these commands, this actor and this time, what happens?

Pure: no I/O, no clock reads. Every answer is a `Decision` (new state + effects) and every word
Baton writes comes from a template in `app/templates/`.

The commands of one comment are checked in order against the state as it evolves through the
comment, so `/ic me` followed by `/liaison @bob` works. If any command is refused, none applies:
the comment gets a `confused` reaction and one reply that lists every problem with the right
usage. Otherwise it gets an `eyes` reaction and one reply with a section per command.

Each command's own rule lives by what it is about: `roles.py` (IC, handoffs, liaison, SMEs),
`statuses.py` (acknowledgement, severity, status, resolution, closing), `records.py` (updates,
notes, snoozes, follow-ups, the retrospective, `/help`), with `permissions.py` for who may do
what and `turns.py` for what they share. Declaring is `declaring.py`; severity and status labels
changed by hand are `label_changes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.incident import commands as command_table
from app.incident import records, roles, statuses
from app.incident.effects import (
    Actor,
    Decision,
    IssueView,
    Outcome,
    Reaction,
    Reply,
    UserFacts,
)
from app.incident.logins import is_login
from app.incident.retrospective import IncidentComment
from app.incident.state import IncidentState, Status
from app.incident.turns import Refused, Rule, Step, Turn, issue_change
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.commands import Command, NearMiss
    from app.incident.config import Config


LONGEST_QUOTED_PROBLEM = 500


# A refusal lists this many problems and counts the rest: a comment of thousands of near-miss
# lines must not get a reply of thousands of lines.
MOST_PROBLEMS_LISTED = 10


@dataclass(frozen=True)
class Problem:
    """Why one command line was refused, as a sentence of Baton's own words (user text appears
    only inside the parser's code spans), and the usage to show with it (None when the sentence
    already has it)."""

    line: int
    sentence: str
    usage: str | None


@dataclass
class _Outcome:
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def named_users(commands: Sequence[Command], actor: Actor) -> tuple[str, ...]:
    """The logins the caller must look up (`UserFacts`) before `apply_comment`."""
    logins = [actor.login]
    for command in commands:
        if command.user and command.user != "me" and is_login(command.user):
            logins.append(command.user)
    return tuple(dict.fromkeys(logins))


def apply_comment(
    state: IncidentState,
    commands: Sequence[Command],
    near_misses: Sequence[NearMiss],
    actor: Actor,
    users: Mapping[str, UserFacts],
    *,
    comment_id: int,
    issue: IssueView,
    config: Config,
    now: datetime,
    comments: Sequence[IncidentComment] = (),
    bot_login: str = "",
) -> Decision:
    """Decide what the commands of one comment do to the incident."""
    if state.has_applied(comment_id):
        return Decision(state=state)
    turn = Turn(actor, users, issue, config, now, comment_id, comments, bot_login)
    key = f"comment:{comment_id}"
    if not commands:
        if not near_misses:
            return Decision(state=state)
        problems = _near_miss_problems(near_misses)
        body = render("reply/near_miss.md.j2", **_listed(problems))
        return Decision(
            state=state,
            replies=(Reply(key=key, body=body),),
            reactions=(Reaction(comment_id, "confused"),),
            refused=True,
            outcome=_refused(problems),
        )
    outcome = _check_all(state, commands, turn)
    outcome.problems.extend(_near_miss_problems(near_misses))
    if outcome.problems:
        return _refusal(state, sorted(outcome.problems, key=lambda p: p.line), turn, key)
    applied = Outcome(applied=tuple(command.gist for command in commands))
    return replace(_taken(state, outcome.steps, turn, key), outcome=applied)


def _check_all(state: IncidentState, commands: Sequence[Command], turn: Turn) -> _Outcome:
    outcome = _Outcome()
    current = state
    for command in commands:
        if command.problem:
            outcome.problems.append(_syntax_problem(command, command.problem))
            continue
        try:
            step = _step(current, command, turn)
        except Refused as refusal:
            outcome.problems.append(_problem(command, refusal.reason))
            continue
        outcome.steps.append(step)
        current = step.state
    return outcome


def _step(state: IncidentState, command: Command, turn: Turn) -> Step:
    rule = _RULES.get(command.name)
    if rule is None:
        raise Refused("is not a Baton command")
    return rule(state, command, turn)


def _refusal(state: IncidentState, problems: Sequence[Problem], turn: Turn, key: str) -> Decision:
    body = render("reply/refused.md.j2", **_listed(problems), actor=turn.actor)
    return Decision(
        state=state,
        replies=(Reply(key=key, body=body),),
        reactions=(Reaction(turn.comment_id, "confused"),),
        refused=True,
        outcome=_refused(problems),
    )


def _refused(problems: Sequence[Problem]) -> Outcome:
    return Outcome(refused=tuple(problem.sentence for problem in problems))


def _taken(state: IncidentState, steps: Sequence[Step], turn: Turn, key: str) -> Decision:
    after = steps[-1].state
    body = "\n".join(step.section for step in steps)
    reply = Reply(key=key, body=body)
    reaction = Reaction(turn.comment_id, "eyes")
    new_issues = tuple(issue for step in steps for issue in step.new_issues)
    if all(step.words_only for step in steps):  # /help, /declare again, "already done"
        return Decision(state=state, replies=(reply,), reactions=(reaction,))
    after = replace(after.with_applied(turn.comment_id), last_activity_at=turn.now, stale=False)
    return Decision(
        state=after,
        issue=issue_change(state, after, steps, turn),
        replies=(reply,),
        reactions=(reaction,),
        new_issues=new_issues,
        by=turn.actor.login,
        update=next((step.update for step in reversed(steps) if step.update), None),
    )


def _listed(problems: Sequence[Problem]) -> dict[str, Any]:
    """The problems a refusal lists, and how many more it only counts."""
    return {
        "problems": problems[:MOST_PROBLEMS_LISTED],
        "more": max(len(problems) - MOST_PROBLEMS_LISTED, 0),
    }


def _problem(command: Command, reason: str) -> Problem:
    return Problem(
        command.line, f"`/{command.written}` {reason}.", command_table.usage(command.name)
    )


def _syntax_problem(command: Command, problem: str) -> Problem:
    """The parser's own sentence names the command and its usage; one quoting a huge argument
    is replaced, so the reply stays readable and within GitHub's comment size."""
    if len(problem) <= LONGEST_QUOTED_PROBLEM:
        return Problem(command.line, problem, None)
    return _problem(command, "is not written as its usage says")


def _near_miss_problems(near_misses: Sequence[NearMiss]) -> list[Problem]:
    return [
        Problem(
            miss.line,
            f"`{miss.written}` is not a command: did you mean `/{miss.suggestion}`?",
            command_table.usage(miss.suggestion),
        )
        for miss in near_misses
    ]


def needs_comments(commands: Sequence[Command], config: Config) -> bool:
    """Whether deciding may open the retrospective, whose timeline is built from the comments."""
    on_resolution = config.retrospective.open_on == "resolved"
    return any(
        command.name == "retro"
        or (on_resolution and command.name == "resolved")
        or (on_resolution and command.name == "status" and command.word == Status.RESOLVED)
        for command in commands
    )


_RULES: dict[str, Rule] = {
    "declare": records.declare_again,
    "ack": statuses.acknowledge,
    "ic": roles.commander,
    "handoff": roles.handoff,
    "accept": roles.accept,
    "decline": roles.decline,
    "cancel": roles.cancel,
    "liaison": roles.liaison,
    "sme": roles.sme,
    "severity": statuses.severity,
    "status": statuses.status,
    "retro": records.retro,
    "action": records.action,
    "mitigated": statuses.mitigated,
    "resolved": statuses.resolved,
    "update": records.update,
    "note": records.note,
    "reopen": statuses.reopen,
    "confirm": statuses.confirm,
    "close": statuses.close,
    "snooze": records.snooze,
    "help": records.show_help,
}
