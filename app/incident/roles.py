"""Commands about roles: taking and handing off the Incident Commander role, the External
Liaison, Subject Matter Experts.

Pure, like the rest of `app/incident/`: see `app/incident/rules.py`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from app.incident.logins import same_login
from app.incident.permissions import (
    named,
    need_assignable,
    need_ic_or_responder_while_none,
    need_open,
    need_responder,
    quiet,
)
from app.incident.state import Handoff, IncidentState, Sme
from app.incident.turns import Refused, Step, Turn, already, first_line, kept, section

if TYPE_CHECKING:
    from app.incident.commands import Command


def commander(state: IncidentState, command: Command, turn: Turn) -> Step:
    """`/ic` alone, `/ic me` or naming yourself takes the role; naming someone proposes."""
    target = turn.actor.login if command.user is None else named(command, turn)
    if same_login(target, turn.actor.login):
        return _take_command(state, turn)
    return _propose_handoff(state, command, turn, target)


def handoff(state: IncidentState, command: Command, turn: Turn) -> Step:
    target = named(command, turn)
    if same_login(target, turn.actor.login):
        return _take_command(state, turn)
    return _propose_handoff(state, command, turn, target)


def _take_command(state: IncidentState, turn: Turn) -> Step:
    """Taking the role yourself; for the target of a pending handoff this is saying yes."""
    login = turn.actor.login
    pending = state.pending_handoff
    accepting = pending is not None and same_login(pending.to, login)
    if not accepting:
        need_responder(turn)
    if same_login(state.ic, login):
        return already(state, turn, "you already are the Incident Commander")
    need_assignable(login, turn)
    # Someone taking command is the acknowledgement that someone is looking.
    acknowledged = state.acknowledged_at or turn.now
    after = replace(state, ic=login, pending_handoff=None, acknowledged_at=acknowledged)
    return _new_commander(
        state,
        after,
        turn,
        accepted=accepting,
        withdrawn=None if accepting else pending,
        notes=pending.notes if pending and accepting else "",
    )


def _new_commander(
    before: IncidentState,
    after: IncidentState,
    turn: Turn,
    *,
    accepted: bool,
    withdrawn: Handoff | None,
    notes: str,
) -> Step:
    section_text = section(
        "commander",
        after,
        turn,
        previous=before.ic,
        accepted=accepted,
        withdrawn=withdrawn,
        notes=notes,
    )
    return Step(after, section_text)


def _propose_handoff(state: IncidentState, command: Command, turn: Turn, target: str) -> Step:
    need_ic_or_responder_while_none(state, turn)
    need_open(state, "hand over the Incident Commander role")
    need_assignable(target, turn)
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
    return Step(after, section("handoff_proposed", after, turn, handoff=handoff, replaced=replaced))


def _pending_for_target(state: IncidentState, turn: Turn, doing: str) -> Handoff:
    handoff = state.pending_handoff
    if handoff is None:
        raise Refused(f"finds no pending handoff to {doing}")
    if not same_login(handoff.to, turn.actor.login):
        raise Refused(f"is for {quiet(handoff.to)} only, who was asked to take over")
    return handoff


def accept(state: IncidentState, command: Command, turn: Turn) -> Step:
    handoff = _pending_for_target(state, turn, "accept")
    need_assignable(turn.actor.login, turn)
    after = replace(state, ic=turn.actor.login, pending_handoff=None)
    return _new_commander(state, after, turn, accepted=True, withdrawn=None, notes=handoff.notes)


def decline(state: IncidentState, command: Command, turn: Turn) -> Step:
    handoff = _pending_for_target(state, turn, "decline")
    after = replace(state, pending_handoff=None)
    return Step(
        after,
        section("handoff_declined", after, turn, handoff=handoff, reason=command.text.strip()),
    )


def cancel(state: IncidentState, command: Command, turn: Turn) -> Step:
    handoff = state.pending_handoff
    if handoff is None:
        raise Refused("finds no pending handoff to cancel")
    if handoff.from_login is None:
        need_responder(turn)
    elif not same_login(handoff.from_login, turn.actor.login):
        raise Refused(f"is for {quiet(handoff.from_login)} only, who proposed the handoff")
    after = replace(state, pending_handoff=None)
    return Step(after, section("handoff_cancelled", after, turn, handoff=handoff))


def liaison(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_ic_or_responder_while_none(state, turn)
    target = named(command, turn)
    if same_login(state.liaison, target):
        return already(state, turn, f"{quiet(target)} already is the External Liaison")
    after = replace(state, liaison=target)
    return Step(after, section("liaison", after, turn, previous=state.liaison))


def sme(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    target = named(command, turn)
    if command.word == "remove":
        return _remove_sme(state, turn, target)
    area = first_line(command.text) or None
    sme = Sme(login=target, area=kept(area, 200) if area else area)
    if sme in state.smes:
        return already(state, turn, f"{quiet(target)} already is a Subject Matter Expert here")
    others = tuple(s for s in state.smes if not same_login(s.login, target))
    after = replace(state, smes=(*others, sme))
    return Step(after, section("sme_added", after, turn, sme=sme))


def _remove_sme(state: IncidentState, turn: Turn, target: str) -> Step:
    others = tuple(s for s in state.smes if not same_login(s.login, target))
    if others == state.smes:
        raise Refused(f"names {quiet(target)}, who is not a Subject Matter Expert here")
    after = replace(state, smes=others)
    return Step(after, section("sme_removed", after, turn, login=target))
