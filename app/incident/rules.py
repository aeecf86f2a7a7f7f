"""The incident rules: given this state, these commands, this actor and this time, what happens?

Pure: no I/O, no clock reads. Every answer is a `Decision` (new state + effects) and every word
Baton writes comes from a template in `app/templates/`.

The commands of one comment are checked in order against the state as it evolves through the
comment, so `/ic me` followed by `/liaison @bob` works. If any command is refused, none applies:
the comment gets a `confused` reaction and one reply that lists every problem with the right
usage. Otherwise it gets an `eyes` reaction and one reply with a section per command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from app.incident import commands as command_table
from app.incident import times
from app.incident.calendar import calendar_for
from app.incident.clocks import close_due_at, report_blocks_close
from app.incident.effects import (
    Actor,
    Decision,
    IssueChange,
    IssueView,
    NewIssue,
    Outcome,
    Reaction,
    Reply,
    UserFacts,
)
from app.incident.labels import labels_for, severity_from_label, status_from_label
from app.incident.logins import is_login, same_login
from app.incident.state import SETTABLE_STATUSES, Handoff, IncidentState, Sme, Status, format_time
from app.incident.text import when as _when
from app.incident.timeline import IncidentComment, retrospective_issue
from app.incident.times import duration
from app.incident.words import render

if TYPE_CHECKING:
    from app.config import Config
    from app.incident.commands import Command, NearMiss

LONGEST_SNOOZE = timedelta(days=7)
LONGEST_QUOTED_PROBLEM = 500
# A refusal lists this many problems and counts the rest: a comment of thousands of near-miss
# lines must not get a reply of thousands of lines.
MOST_PROBLEMS_LISTED = 10
# The commands shown in the first response, one line each; `/help` lists them all.
FIRST_RESPONSE_COMMANDS = (
    "ic",
    "handoff",
    "accept",
    "liaison",
    "sme",
    "severity",
    "update",
    "note",
    "mitigated",
    "resolved",
    "help",
)
# A follow-up issue's title is the first line of `/action`'s text, shortened to this.
LONGEST_ACTION_TITLE = 120
# Free text kept in the card's hidden state (handoff notes, impact, areas) is capped, so the
# issue body stays within GitHub's 65,536 characters; the full text stays in its comment.
LONGEST_KEPT_TEXT = 2000


class Refused(Exception):
    """A command may not run: the reason is shown to the commenter, next to the usage."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Step:
    """One command's effect: the state afterwards and the words that say so."""

    state: IncidentState
    section: str
    issue_state: str | None = None  # "open" or "closed" when the command opens or closes
    state_reason: str | None = None
    new_issues: tuple[NewIssue, ...] = ()
    words_only: bool = False  # an answer that changes nothing (`/help`, "already so")


@dataclass(frozen=True)
class Turn:
    """Everything about the comment being decided, apart from the state."""

    actor: Actor
    users: Mapping[str, UserFacts]
    issue: IssueView
    config: Config
    now: datetime
    comment_id: int
    # The incident's comments, read only when a command opens the retrospective (see
    # `needs_comments`), and the App's bot login that wrote some of them.
    comments: Sequence[IncidentComment] = ()
    bot_login: str = ""


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


# --- declaring ----------------------------------------------------------------------------------


def declare(
    issue: IssueView,
    actor: Actor,
    config: Config,
    now: datetime,
    *,
    severity: str | None = None,
    impact: str | None = None,
    started: str | None = None,
    existing: IncidentState | None = None,
) -> Decision:
    """Make the issue an incident: the new state, its labels and the first-response comment.

    `existing` is the state already on the issue, if any: declaring twice changes nothing.
    The severity is the one given, else a severity label already on the issue (an issue form
    may set one), else the configured default."""
    if existing is not None:
        return Decision(state=existing)
    state = IncidentState(
        status=Status.INVESTIGATING,
        severity=_declared_severity(issue, config, severity),
        reporter=issue.author,
        impact=kept(impact) if impact else None,
        started=kept(started, 200) if started else None,
        declared_at=now,
        last_activity_at=now,
    )
    body = render(
        "first_response.md.j2",
        state=state,
        issue=issue,
        actor=actor,
        escalation_team=config.escalation.team,
        commands=[spec for spec in command_table.COMMANDS if spec.name in FIRST_RESPONSE_COMMANDS],
        update_every=_cadence_words(state.severity, config),
        close_after=_close_after_working_hours(config),
    )
    return Decision(
        state=state,
        issue=IssueChange(labels=labels_for(state, issue.labels, config)),
        replies=(Reply(key=f"declare:{issue.number}", body=body),),
    )


def _declared_severity(issue: IssueView, config: Config, asked: str | None) -> str:
    if asked is not None and (chosen := _configured_severity(asked, config)):
        return chosen
    on_issue = (severity_from_label(name, config) for name in issue.labels)
    return next((s for s in on_issue if s), config.default_severity)


# --- a comment's commands ----------------------------------------------------------------------


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
        issue=_issue_change(state, after, steps, turn),
        replies=(reply,),
        reactions=(reaction,),
        new_issues=new_issues,
    )


def _issue_change(
    before: IncidentState, after: IncidentState, steps: Sequence[Step], turn: Turn
) -> IssueChange:
    labels = labels_for(after, turn.issue.labels, turn.config)
    opened_or_closed = [step for step in steps if step.issue_state is not None]
    last = opened_or_closed[-1] if opened_or_closed else None
    issue_state = last.issue_state if last else None
    if issue_state == turn.issue.state:
        issue_state = None
    return IssueChange(
        labels=None if labels == turn.issue.labels else labels,
        assignees=_assignees(before, after),
        state=issue_state,
        state_reason=last.state_reason if last and issue_state else None,
    )


def _assignees(before: IncidentState, after: IncidentState) -> tuple[str, ...] | None:
    if before.ic == after.ic:
        return None
    return (after.ic,) if after.ic else ()


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


# --- who may do what -----------------------------------------------------------------------------


def responder_requirement(config: Config) -> str:
    """Who counts as a responder, in words: the reason a non-responder is refused."""
    needed = f"needs at least {config.responders.permission} access to this repository"
    if config.responders.teams:
        needed += " or membership of " + ", ".join(f"`{t}`" for t in config.responders.teams)
    return needed


def _need_responder(turn: Turn) -> None:
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


def _need_ic_or_responder_while_none(state: IncidentState, turn: Turn) -> None:
    """The IC decides; while nobody holds the role any responder may."""
    if state.ic is None:
        _need_responder(turn)
    elif not same_login(turn.actor.login, state.ic):
        raise Refused(f"is for the Incident Commander, {_quiet(state.ic)}, while there is one")


def _need_open(state: IncidentState, doing: str) -> None:
    if not state.status.is_open:
        raise Refused(f"cannot {doing}: the incident is {state.status}; say `/reopen` first")


def _quiet(login: str) -> str:
    """A login named in a refusal, in code so it does not notify them."""
    return f"`@{login}`"


def _named(command: Command, turn: Turn) -> str:
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
        raise Refused(f"names {_quiet(command.user)}, but there is no GitHub user by that name")
    return command.user


def _facts(login: str, turn: Turn) -> UserFacts | None:
    exact = turn.users.get(login)
    if exact is not None:
        return exact
    return next((f for name, f in turn.users.items() if same_login(name, login)), None)


def _need_assignable(login: str, turn: Turn) -> None:
    facts = _facts(login, turn)
    if facts is not None and not facts.assignable:
        raise Refused(
            f"names {_quiet(login)}, who cannot be assigned to this issue and so cannot be the "
            "Incident Commander (GitHub assigns only people with access to the repository)"
        )


# --- the commands --------------------------------------------------------------------------------

Rule = Callable[[IncidentState, "Command", Turn], Step]


def _words(template: str, state: IncidentState, turn: Turn, **context: Any) -> str:
    return render(
        f"reply/{template}.md.j2", state=state, actor=turn.actor, issue=turn.issue, **context
    )


def _already(state: IncidentState, turn: Turn, what: str) -> Step:
    """A command that asks for what is already so: a short answer, nothing changes."""
    return Step(state, _words("already", state, turn, what=what), words_only=True)


def _acknowledge(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    if state.acknowledged_at is not None:
        return _already(
            state, turn, f"the incident was acknowledged at {_when(state.acknowledged_at)}"
        )
    after = replace(state, acknowledged_at=turn.now)
    took = _since(state.declared_at, turn.now)
    return Step(after, _words("acknowledged", after, turn, took=took))


def _commander(state: IncidentState, command: Command, turn: Turn) -> Step:
    """`/ic` alone, `/ic me` or naming yourself takes the role; naming someone proposes."""
    target = turn.actor.login if command.user is None else _named(command, turn)
    if same_login(target, turn.actor.login):
        return _take_command(state, turn)
    return _propose_handoff(state, command, turn, target)


def _handoff(state: IncidentState, command: Command, turn: Turn) -> Step:
    target = _named(command, turn)
    if same_login(target, turn.actor.login):
        return _take_command(state, turn)
    return _propose_handoff(state, command, turn, target)


def _take_command(state: IncidentState, turn: Turn) -> Step:
    """Taking the role yourself; for the target of a pending handoff this is saying yes."""
    login = turn.actor.login
    pending = state.pending_handoff
    accepting = pending is not None and same_login(pending.to, login)
    if not accepting:
        _need_responder(turn)
    if same_login(state.ic, login):
        return _already(state, turn, "you already are the Incident Commander")
    _need_assignable(login, turn)
    # Someone taking command is the acknowledgement that someone is looking.
    acknowledged = state.acknowledged_at or turn.now
    after = replace(state, ic=login, pending_handoff=None, acknowledged_at=acknowledged)
    return Step(
        after,
        _words(
            "commander",
            after,
            turn,
            previous=state.ic,
            accepted=accepting,
            withdrawn=None if accepting else pending,
            notes=pending.notes if pending and accepting else "",
        ),
    )


def _propose_handoff(state: IncidentState, command: Command, turn: Turn, target: str) -> Step:
    _need_ic_or_responder_while_none(state, turn)
    _need_open(state, "hand over the Incident Commander role")
    _need_assignable(target, turn)
    replaced = state.pending_handoff
    handoff = Handoff(
        role="ic",
        from_login=state.ic,
        to=target,
        requested_at=turn.now,
        notes=kept(command.text),
        comment_id=turn.comment_id,
    )
    after = replace(state, pending_handoff=handoff)
    return Step(after, _words("handoff_proposed", after, turn, handoff=handoff, replaced=replaced))


def _pending_for_target(state: IncidentState, turn: Turn, doing: str) -> Handoff:
    handoff = state.pending_handoff
    if handoff is None:
        raise Refused(f"finds no pending handoff to {doing}")
    if not same_login(handoff.to, turn.actor.login):
        raise Refused(f"is for {_quiet(handoff.to)} only, who was asked to take over")
    return handoff


def _accept(state: IncidentState, command: Command, turn: Turn) -> Step:
    handoff = _pending_for_target(state, turn, "accept")
    _need_assignable(turn.actor.login, turn)
    after = replace(state, ic=turn.actor.login, pending_handoff=None)
    return Step(
        after,
        _words(
            "commander",
            after,
            turn,
            previous=state.ic,
            accepted=True,
            withdrawn=None,
            notes=handoff.notes,
        ),
    )


def _decline(state: IncidentState, command: Command, turn: Turn) -> Step:
    handoff = _pending_for_target(state, turn, "decline")
    after = replace(state, pending_handoff=None)
    return Step(
        after, _words("handoff_declined", after, turn, handoff=handoff, reason=command.text.strip())
    )


def _cancel(state: IncidentState, command: Command, turn: Turn) -> Step:
    handoff = state.pending_handoff
    if handoff is None:
        raise Refused("finds no pending handoff to cancel")
    if handoff.from_login is None:
        _need_responder(turn)
    elif not same_login(handoff.from_login, turn.actor.login):
        raise Refused(f"is for {_quiet(handoff.from_login)} only, who proposed the handoff")
    after = replace(state, pending_handoff=None)
    return Step(after, _words("handoff_cancelled", after, turn, handoff=handoff))


def _liaison(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_ic_or_responder_while_none(state, turn)
    target = _named(command, turn)
    if same_login(state.liaison, target):
        return _already(state, turn, f"{_quiet(target)} already is the External Liaison")
    after = replace(state, liaison=target)
    return Step(after, _words("liaison", after, turn, previous=state.liaison))


def _sme(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    target = _named(command, turn)
    if command.word == "remove":
        return _remove_sme(state, turn, target)
    area = _first_line(command.text) or None
    sme = Sme(login=target, area=kept(area, 200) if area else area)
    if sme in state.smes:
        return _already(state, turn, f"{_quiet(target)} already is a Subject Matter Expert here")
    others = tuple(s for s in state.smes if not same_login(s.login, target))
    after = replace(state, smes=(*others, sme))
    return Step(after, _words("sme_added", after, turn, sme=sme))


def _remove_sme(state: IncidentState, turn: Turn, target: str) -> Step:
    others = tuple(s for s in state.smes if not same_login(s.login, target))
    if others == state.smes:
        raise Refused(f"names {_quiet(target)}, who is not a Subject Matter Expert here")
    after = replace(state, smes=others)
    return Step(after, _words("sme_removed", after, turn, login=target))


def _severity(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    chosen = _configured_severity(command.word or "", turn.config)
    if chosen is None:
        raise Refused(
            "is not one of the configured severities: " + ", ".join(turn.config.severities)
        )
    return change_severity(state, chosen, turn)


def change_severity(state: IncidentState, severity: str, turn: Turn) -> Step:
    if state.severity == severity:
        return _already(state, turn, f"the severity already is {severity}")
    after = replace(state, severity=severity)
    return Step(
        after,
        _words(
            "severity",
            after,
            turn,
            previous=state.severity,
            update_every=_cadence_words(severity, turn.config),
        ),
    )


def _status(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    status = (command.word or "").casefold()
    if status not in SETTABLE_STATUSES:
        raise Refused("is not a status: say one of " + ", ".join(SETTABLE_STATUSES))
    return change_status(state, Status(status), command.text, turn)


def change_status(state: IncidentState, status: Status, text: str, turn: Turn) -> Step:
    """Set the status the way its own command does: mitigated and resolved record their time."""
    if status == Status.MITIGATED:
        return mitigate(state, text, turn)
    if status == Status.RESOLVED:
        return resolve(state, text, turn)
    if state.status == status:
        return _already(state, turn, f"the status already is {status}")
    _need_open(state, f"set the status to {status}")
    after = replace(state, status=status)
    return Step(after, _words("status", after, turn, previous=state.status))


def _mitigated(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    return mitigate(state, command.text, turn)


def mitigate(state: IncidentState, text: str, turn: Turn) -> Step:
    if state.status == Status.MITIGATED:
        return _already(
            state, turn, f"the incident has been mitigated since {_when(state.mitigated_at)}"
        )
    _need_open(state, "mark it mitigated")
    after = replace(state, status=Status.MITIGATED, mitigated_at=turn.now)
    took = _since(state.declared_at, turn.now)
    return Step(after, _words("mitigated", after, turn, took=took, text=text.strip()))


def _resolved(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    return resolve(state, command.text, turn)


def resolve(state: IncidentState, text: str, turn: Turn) -> Step:
    """Mark the incident resolved: post the resolution notice to the community, start the close
    clock, and open the retrospective issue when the configuration says so."""
    if state.status == Status.RESOLVED:
        return _already(
            state, turn, f"the incident has been resolved since {_when(state.resolved_at)}"
        )
    _need_open(state, "resolve it")
    after = replace(
        state,
        status=Status.RESOLVED,
        resolved_at=turn.now,
        close_wait_from=turn.now,
        confirmed_at=None,
    )
    opens_retro = turn.config.retrospective.open_on == "resolved" and state.retro is None
    new_issues = (_retrospective(after, turn),) if opens_retro else ()
    calendar = calendar_for(turn.config.working_hours)
    section = _words(
        "resolved",
        after,
        turn,
        took=_since(state.declared_at, turn.now),
        text=text.strip(),
        closes_at=close_due_at(after, turn.config, calendar),
        close_after=_close_after_working_hours(turn.config),
        report_needed=report_blocks_close(after, turn.config),
        opens_retro=opens_retro,
    )
    return Step(after, section, new_issues=new_issues)


def _retrospective(state: IncidentState, turn: Turn) -> NewIssue:
    return retrospective_issue(
        state, turn.issue, turn.comments, config=turn.config, bot_login=turn.bot_login
    )


def needs_comments(commands: Sequence[Command], config: Config) -> bool:
    """Whether deciding may open the retrospective, whose timeline is built from the comments."""
    on_resolution = config.retrospective.open_on == "resolved"
    return any(
        command.name == "retro"
        or (on_resolution and command.name == "resolved")
        or (on_resolution and command.name == "status" and command.word == Status.RESOLVED)
        for command in commands
    )


def _retro(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    if state.retro is not None:
        return _already(state, turn, f"the retrospective is #{state.retro}")
    return Step(
        state, _words("retro_opened", state, turn), new_issues=(_retrospective(state, turn),)
    )


def _action(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    text = command.text.strip()
    if not text:
        raise Refused("needs the follow-up itself: what should be done")
    title, _, details = text.partition("\n")
    title = title.strip()
    if len(title) > LONGEST_ACTION_TITLE:
        title = title[: LONGEST_ACTION_TITLE - 1].rstrip() + "…"
    body = render(
        "action_issue.md.j2",
        issue=turn.issue,
        actor=turn.actor,
        details=details.strip(),
        title=title,
    )
    follow_up = NewIssue(
        key=f"action:{turn.comment_id}:{command.line}",
        kind="action",
        title=title,
        body=body,
        labels=(turn.config.labels.action,),
    )
    return Step(state, _words("action_opened", state, turn, title=title), new_issues=(follow_up,))


def _update(state: IncidentState, command: Command, turn: Turn) -> Step:
    if not same_login(turn.actor.login, state.liaison_or_ic):
        _need_responder(turn)
    if state.status == Status.CLOSED:
        raise Refused("cannot post an update: the incident is closed; say `/reopen` first")
    if not command.text.strip():
        raise Refused("needs the update itself: what we know, and what we are doing")
    every = _cadence(state.severity, turn.config) if state.status.is_open else None
    after = replace(state, last_update_at=turn.now, snoozed_until=None)
    next_due = turn.now + every if every else None
    return Step(after, _words("update", after, turn, text=command.text.strip(), next_due=next_due))


def _note(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    if not command.text.strip():
        raise Refused("needs the note itself: the decision, action or trade-off to record")
    moment = turn.now if not command.word else note_time(command.word, turn.now)
    # A note changes no field, but it is activity: the stale clock starts again.
    after = replace(state, last_activity_at=turn.now)
    return Step(after, _words("note", after, turn, at=moment, text=command.text.strip()))


def _reopen(state: IncidentState, command: Command, turn: Turn) -> Step:
    _need_responder(turn)
    if state.status.is_open:
        raise Refused(f"cannot reopen an incident that is still open ({state.status})")
    after = reopened(state)
    return Step(
        after,
        _words("reopened", after, turn, previous=state.status),
        issue_state="open",
        state_reason="reopened",
    )


def reopened(state: IncidentState) -> IncidentState:
    """Back to investigating: what resolution and closing recorded is undone."""
    return replace(
        state,
        status=Status.INVESTIGATING,
        resolved_at=None,
        closed_at=None,
        close_reason=None,
        confirmed_at=None,
        close_wait_from=None,
    )


def _confirm(state: IncidentState, command: Command, turn: Turn) -> Step:
    is_reporter = turn.actor.is_reporter or same_login(turn.actor.login, state.reporter)
    if not (is_reporter or turn.actor.is_responder):
        raise Refused("is for the reporter of the incident or a responder")
    if state.status != Status.RESOLVED:
        raise Refused(f"confirms a fix, but the incident is {state.status}, not resolved")
    if state.confirmed_at is not None:
        return _already(state, turn, f"the fix was confirmed at {_when(state.confirmed_at)}")
    after = replace(state, confirmed_at=turn.now)
    if report_blocks_close(after, turn.config):
        return Step(after, _words("confirmed", after, turn, closes=False))
    # Confirmed and nothing else to wait for: the incident closes now, not at the next sweep.
    after = replace(after, status=Status.CLOSED, closed_at=turn.now)
    return Step(
        after,
        _words("confirmed", after, turn, closes=True),
        issue_state="closed",
        state_reason="completed",
    )


def _close(state: IncidentState, command: Command, turn: Turn) -> Step:
    if state.ic is None:
        raise Refused(
            "is for the Incident Commander, and there is none: take the role with `/ic me` first"
        )
    if not same_login(turn.actor.login, state.ic):
        raise Refused(f"is for the Incident Commander, {_quiet(state.ic)}")
    if state.status == Status.CLOSED:
        return _already(state, turn, "the incident is already closed")
    reason = command.text.strip() or None
    after = replace(state, status=Status.CLOSED, closed_at=turn.now, close_reason=reason)
    return Step(
        after,
        _words("closed", after, turn, reason=reason),
        issue_state="closed",
        state_reason="completed",
    )


def _snooze(state: IncidentState, command: Command, turn: Turn) -> Step:
    if not any(same_login(turn.actor.login, holder) for holder in (state.ic, state.liaison)):
        raise Refused("is for the Incident Commander or the External Liaison")
    if not state.status.is_open:
        raise Refused(f"has nothing to postpone: no updates are due while it is {state.status}")
    length = snooze_length(command.word or "")
    until = turn.now + length
    after = replace(state, snoozed_until=until)
    return Step(after, _words("snoozed", after, turn, until=until))


def _declare_again(state: IncidentState, command: Command, turn: Turn) -> Step:
    return Step(state, _words("already_incident", state, turn), words_only=True)


def _help(state: IncidentState, command: Command, turn: Turn) -> Step:
    table = command_table.help_table_markdown()
    return Step(state, _words("help", state, turn, table=table), words_only=True)


_RULES: dict[str, Rule] = {
    "declare": _declare_again,
    "ack": _acknowledge,
    "ic": _commander,
    "handoff": _handoff,
    "accept": _accept,
    "decline": _decline,
    "cancel": _cancel,
    "liaison": _liaison,
    "sme": _sme,
    "severity": _severity,
    "status": _status,
    "retro": _retro,
    "action": _action,
    "mitigated": _mitigated,
    "resolved": _resolved,
    "update": _update,
    "note": _note,
    "reopen": _reopen,
    "confirm": _confirm,
    "close": _close,
    "snooze": _snooze,
    "help": _help,
}


# --- labels changed by hand ----------------------------------------------------------------------


def apply_label_change(
    state: IncidentState,
    added: tuple[str, ...],
    removed: tuple[str, ...],
    actor: Actor,
    issue: IssueView,
    config: Config,
    now: datetime,
) -> Decision:
    """A person changed labels by hand: a severity or status label added works like the command;
    removing the current one puts it back (the incident always has one) and says so.

    `issue.labels` are the labels after the change. The reply key is built from the issue, the
    time and the change, so the caller should pass the event's own time as `now`."""
    turn = Turn(actor, {}, issue, config, now, comment_id=0)
    steps: list[Step] = []
    current = state
    for step in _hand_changes(current, added, removed, turn):
        steps.append(step)
        current = step.state
    if not steps:
        return Decision(state=state)
    change = ",".join([*(f"+{n}" for n in added), *(f"-{n}" for n in removed)])
    key = f"labels:{issue.number}:{format_time(now)}:{change}"
    reply = Reply(key=key, body="\n".join(step.section for step in steps))
    after = current if current == state else replace(current, last_activity_at=now)
    return Decision(state=after, issue=_issue_change(state, after, steps, turn), replies=(reply,))


def _hand_changes(
    state: IncidentState, added: tuple[str, ...], removed: tuple[str, ...], turn: Turn
) -> list[Step]:
    steps: list[Step] = []
    severity = _last(severity_from_label(name, turn.config) for name in added)
    status = _last(status_from_label(name) for name in added)
    if severity is not None:
        steps.append(_by_hand(change_severity, state, severity, turn))
        state = steps[-1].state
    if status is not None:
        steps.append(_by_hand(_status_by_hand, state, status, turn))
        state = steps[-1].state
    restored = [
        kind
        for kind, gone in (
            ("severity", severity is None and _removed_current_severity(state, removed, turn)),
            ("status", status is None and _removed_current_status(state, removed, turn)),
        )
        if gone
    ]
    if restored:
        steps.append(Step(state, _words("label_restored", state, turn, kinds=restored)))
    return steps


def _status_by_hand(state: IncidentState, status: Status, turn: Turn) -> Step:
    if status == Status.CLOSED:
        raise Refused("the incident is closed with `/close [reason]` or by the close clock")
    return change_status(state, status, "", turn)


Value = TypeVar("Value", bound=str)


def _by_hand(
    change: Callable[[IncidentState, Value, Turn], Step],
    state: IncidentState,
    value: Value,
    turn: Turn,
) -> Step:
    """A label change runs like its command; a refused one is undone and explained."""
    try:
        return change(state, value, turn)
    except Refused as refusal:
        return Step(state, _words("label_refused", state, turn, reason=refusal.reason))


def _removed_current_severity(state: IncidentState, removed: tuple[str, ...], turn: Turn) -> bool:
    gone = any(severity_from_label(name, turn.config) == state.severity for name in removed)
    still = any(severity_from_label(name, turn.config) for name in turn.issue.labels)
    return gone and not still


def _removed_current_status(state: IncidentState, removed: tuple[str, ...], turn: Turn) -> bool:
    gone = any(status_from_label(name) == state.status for name in removed)
    still = any(status_from_label(name) for name in turn.issue.labels)
    return gone and not still


def _last(values: Iterable[Value | None]) -> Value | None:
    found = [value for value in values if value is not None]
    return found[-1] if found else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


# --- times and durations -------------------------------------------------------------------------


def note_time(token: str, now: datetime) -> datetime:
    """When a `/note` happened (see `times.note_time`); an unreadable time is refused."""
    try:
        return times.note_time(token, now)
    except ValueError as error:
        raise Refused(str(error).removeprefix(f"the /note time {token!r} ")) from None


def snooze_length(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `1h30m`: at most a week."""
    try:
        length = times.parse_duration(text)
    except ValueError:
        raise Refused("needs a duration such as `30m`, `2h` or `1h30m`") from None
    if not timedelta(0) < length <= LONGEST_SNOOZE:
        raise Refused(
            "can postpone the update reminder by at most 7 days, and by more than nothing"
        )
    return length


def _since(start: datetime | None, end: datetime | None) -> str | None:
    """A duration as people say it: `1 h 5 min`; None when a time is missing."""
    if start is None or end is None:
        return None
    return duration(end - start)


# --- configuration -------------------------------------------------------------------------------


def kept(text: str, limit: int = LONGEST_KEPT_TEXT) -> str:
    """Free text as the state keeps it: stripped, and cut with an ellipsis past `limit`."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _configured_severity(word: str, config: Config) -> str | None:
    return severity_from_label(word, config)


def _cadence(severity: str, config: Config) -> timedelta | None:
    return config.clocks.update_every.get(severity)


def _cadence_words(severity: str, config: Config) -> str | None:
    every = _cadence(severity, config)
    return duration(every) if every else None


def _close_after_working_hours(config: Config) -> str:
    """`48`, or `7.5` for a fractional setting."""
    return f"{config.clocks.close_after_working_hours:g}"
