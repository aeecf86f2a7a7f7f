"""Fitting Baton's texts to GitHub's limit on a body."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.incident.card import CARD_END, CARD_START, without_card
from app.incident.limits import GITHUB_BODY_LIMIT, fit, make_room_for_card
from app.incident.text import open_fence

CARD = f"{CARD_START}\n### Investigating · sev3\n{CARD_END}"
LINES = st.lists(
    st.sampled_from(["```", "~~~", "plain words", "x" * 500, "`code`", ""]), max_size=400
)


@given(LINES, st.integers(min_value=200, max_value=5_000))
def test_fit_keeps_the_tail_whole_and_closes_what_it_cuts(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    tail = "\n\n<!-- baton:reply comment:1 -->\n"

    fitted = fit(text, tail=tail, limit=limit)

    assert len(fitted) <= limit and fitted.endswith(tail)
    if len(text) + len(tail) <= limit:
        assert fitted == text + tail
    else:
        assert "characters were left out" in fitted
        assert open_fence(fitted.removesuffix(tail)) is None, "no fence left open"


def test_fit_counts_characters_not_bytes() -> None:
    text = "é" * GITHUB_BODY_LIMIT
    assert fit(text) == text


@given(LINES, st.integers(min_value=0, max_value=40))
def test_a_description_too_long_for_the_card_keeps_its_beginning_and_moves_the_rest(
    lines: list[str], extra: int
) -> None:
    text = "\n".join(["beginning", *lines]) + "y" * (GITHUB_BODY_LIMIT - extra)
    text = text[:GITHUB_BODY_LIMIT]

    body, moved = make_room_for_card(text, CARD)

    assert len(body) <= GITHUB_BODY_LIMIT and body.startswith(CARD)
    kept = without_card(body)
    assert moved is not None and kept.startswith("beginning")
    assert "comment below" in kept and open_fence(kept) is None
    reopened = moved.split("\n", 1)[-1]  # a cut inside fenced code opens the fence again
    assert text.endswith(moved) or text.endswith(reopened), "nothing lost"


def test_a_description_that_fits_beside_the_card_stays_as_written() -> None:
    assert make_room_for_card("It is down.", CARD) == (f"{CARD}\n\nIt is down.", None)
