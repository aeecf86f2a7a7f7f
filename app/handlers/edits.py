"""The card belongs to Baton: a hand edit of it is reverted and reported. The text outside it
belongs to people: an edit of it that a write of Baton's undid is put back.

Anyone who can edit the issue body (its author needs no repository permission at all) could
change the card or its hidden state. The MAC shows a state edit; `changes.body.from` in the
`issues.edited` delivery holds the body before the edit, and so the last good card. A validly
signed card from the body's edit history pasted back is told apart by its revision, which grows
with every card Baton writes: it is no newer than the card it replaced (or than the last card
Baton wrote). A card wrapped in fenced code is dead but still shown: the fenced copy goes when
the card is put back.

Baton writes the card over the body it read at the start of its work, so a person's edit made
in between is undone by that write; the `issues.edited` delivery of Baton's own write shows it
(`changes.body.from` is not the body Baton read, app/handlers/writes.py), and the person's text
goes back in, around the card as it is now.
"""

from __future__ import annotations

from dataclasses import replace

from app.handlers.events import Event, Known
from app.handlers.work import Work
from app.incident import card
from app.incident.effects import Decision, Reply
from app.incident.plan import Plan
from app.incident.state import IncidentState
from app.incident.words import render


def edit_matters(event: Event, known: Known) -> bool:
    """An edit of the body of an issue that had a trustworthy card before it (not a title edit,
    not an issue that is no incident)."""
    return _card_before(event, known) is not None


def _card_before(event: Event, known: Known) -> IncidentState | None:
    previous, number, repo = event.previous_body, event.issue_number, event.repo
    if previous is None or number is None or repo is None:
        return None  # a title edit, or a payload without the old body
    return known.card_state(repo, number, previous)


async def on_issue_edited(work: Work, event: Event) -> Plan | None:
    before = _card_before(event, work.known)
    previous, number = event.previous_body, event.issue_number
    if before is None or previous is None or number is None:
        return None  # there was no trustworthy card to protect
    issue, now = await work.load_incident(number)
    if now.state is not None and not now.replayed and now.state.rev > before.rev:
        return None  # Baton itself moved the card on since this edit: nothing to restore
    if (
        now.state == before
        and not now.replayed
        and card.card_block(issue.body) == card.card_block(previous)
    ):
        return None  # only people's text changed
    restored_by = event.sender or "someone"
    reply = Reply(
        key=f"restore:{number}:{event.delivery_id}",
        body=render(
            "reply/card_restored.md.j2",
            editor=restored_by,
            tampered=now.tampered,
            removed=not now.found,
            replayed=now.replayed or (now.state is not None and now.state != before),
        ),
    )
    # A signed card no newer than the one it replaced is an earlier card pasted back; the last
    # good one is the card the edit replaced, or the one Baton last wrote if that is newer.
    good = now.state if now.replayed and now.state is not None else before
    # The card is written whenever the plan carries a state different from `previous`, so
    # passing no previous state makes the executor put the last good card back in place.
    plan = work.plan(Decision(state=good, replies=(reply,)), issue, previous=None)
    text = card.without_fenced_copies(issue.body, previous)
    return plan if text == issue.body else replace(plan, text_from=text)


def may_have_undone_an_edit(event: Event) -> bool:
    """Whether this delivery of Baton's own edit changed people's text: only then can it have
    undone a person's edit (which `on_own_edit` tells, from what Baton wrote)."""
    replaced = event.previous_body
    if replaced is None or event.issue_number is None or event.repo is None:
        return False
    return card.without_card(replaced) != card.without_card(event.issue_body)


async def on_own_edit(work: Work, event: Event) -> Plan | None:
    """Put back the people's text that Baton's own write replaced, unless it has been edited
    again since (that edit then stands)."""
    replaced, number = event.previous_body, event.issue_number
    written = card.without_card(event.issue_body)
    if replaced is None or number is None or card.without_card(replaced) == written:
        return None  # the write changed the card only, which is Baton's to write
    last = None if work.writes is None else await work.writes.last_written(work.repo, number)
    if last is None or last.body != event.issue_body or not last.replaced_another(replaced):
        return None  # not Baton's last write, or it replaced the body Baton read
    issue, now = await work.load_incident(number)
    if now.state is None or card.without_card(issue.body) != written:
        return None  # the text was edited again after Baton's write: that edit stands
    plan = work.plan(Decision(state=now.state), issue, previous=None)
    return replace(plan, text_from=replaced)
