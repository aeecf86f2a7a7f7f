"""Escaping user-supplied text: unit cases and properties over hostile input."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.incident.text import (
    TRUNCATION_NOTE,
    ZERO_WIDTH_JOINER,
    block,
    cell,
    inline,
    open_fence,
)

HOSTILE = [
    "<!--",
    "-->",
    "<!-- baton:card:end -->",
    "<!-- baton:state {} -->",
    "<script>alert(1)</script>",
    "<details><summary>x",
    "@acme/sre",
    "@bob",
    "|",
    "\\|",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "\u2028",
    "\x00",
    "```",
    "~~~",
    "# heading",
    "> quote",
    "---",
    "- item",
    "&amp;",
    "`",
]
hostile_text = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE)), max_size=30).map(
    "".join
)
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# What GitHub would turn into a team mention: `@org/team` not preceded by a word character.
TEAM_MENTION = re.compile(r"(?<![A-Za-z0-9])@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_]")
ANY_MENTION = re.compile(r"(?<![A-Za-z0-9])@[A-Za-z0-9]")


def unescaped_pipes(text: str) -> list[int]:
    """Positions of pipes that GFM would read as cell delimiters (an even run of backslashes)."""
    return [
        match.end() - 1
        for match in re.finditer(r"\\*\|", text)
        if (len(match.group()) - 1) % 2 == 0
    ]


# --- inline ------------------------------------------------------------------------------------


def test_inline_folds_line_breaks_and_tabs_into_single_spaces() -> None:
    assert inline("first line\r\n\n\tsecond\u2028third") == "first line second third"


def test_inline_turns_html_into_entities() -> None:
    assert inline("<!-- baton:card:end --> & <b>") == (
        "&lt;!-- baton:card:end --&gt; &amp; &lt;b&gt;"
    )


def test_inline_neutralises_team_mentions_but_not_people() -> None:
    assert inline("paging @acme/sre and @bob") == (f"paging @{ZERO_WIDTH_JOINER}acme/sre and @bob")


LINE_START_BLOCK = re.compile(r"(?:#{1,6}|[*+-]|\d{1,9}[.)])(?:\s|$)|`{3}|~{3}|(?:=+|-+)\s*$")


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("# big", "\\# big"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("---", "\\---"),
        ("=", "\\="),
        ("```sh", "\\```sh"),
        ("#123 is related", "#123 is related"),
        ("1.5 million users", "1.5 million users"),
        ("**bold** start", "**bold** start"),
        ("ends with #", "ends with \\#"),
        ("issue #12", "issue #12"),
    ],
)
def test_inline_is_harmless_even_at_the_start_of_a_line(typed: str, shown: str) -> None:
    assert inline(typed) == shown
    assert LINE_START_BLOCK.match(inline(typed)) is None


def test_inline_keeps_markdown_harmless_on_one_line() -> None:
    assert inline("big\n> quote\n---\n- item") == "big &gt; quote --- - item"


def test_inline_truncates_with_an_ellipsis() -> None:
    assert inline("word " * 100, limit=12) == "word word w…"


def test_inline_truncation_never_splits_an_entity() -> None:
    assert inline("ab<<<<", limit=9) == "ab&lt;…"


def test_inline_leaves_short_text_alone() -> None:
    assert inline("checkout is down for EU customers") == "checkout is down for EU customers"


# --- cell --------------------------------------------------------------------------------------


def test_cell_escapes_pipes() -> None:
    assert cell("a | b") == "a \\| b"


def test_cell_keeps_a_backslash_before_a_pipe_from_freeing_it() -> None:
    escaped = cell("a\\|b")
    assert escaped == "a\\\\\\|b"
    assert unescaped_pipes(escaped) == []


def test_cell_neutralises_every_mention() -> None:
    assert cell("@bob and @acme/sre") == (
        f"@{ZERO_WIDTH_JOINER}bob and @{ZERO_WIDTH_JOINER}acme/sre"
    )


def test_cell_leaves_an_email_like_at_sign_alone_when_nothing_follows() -> None:
    assert cell("costs 3 @ 5") == "costs 3 @ 5"


# --- block -------------------------------------------------------------------------------------


def test_block_keeps_lines() -> None:
    assert block("rolled back\n\n- step one\n- step two") == "rolled back\n\n- step one\n- step two"


def test_block_neutralises_comments_markers_and_html() -> None:
    result = block("hide <!-- this\n<!-- baton:card:start -->\n<details>\n-->")
    assert "<!--" not in result
    assert "-->" not in result
    assert "<details>" not in result
    assert result.count("\n") == 3


def test_block_neutralises_team_mentions_outside_code() -> None:
    assert block("cc @acme/sre and @bob") == f"cc @{ZERO_WIDTH_JOINER}acme/sre and @bob"


def test_block_keeps_fenced_code_as_written() -> None:
    text = "look:\n```python\nif a < b and c > d:\n    ping('@acme/sre')\n```\nafter"
    assert block(text) == text


def test_block_breaks_comment_tokens_even_in_code() -> None:
    result = block("```\n<!-- baton:state {} -->\n```")
    assert "<!--" not in result
    assert "-->" not in result
    assert result.startswith("```\n<!") and result.endswith("\n```")


def test_block_closes_an_unclosed_fence() -> None:
    assert block("~~~~\ncode") == "~~~~\ncode\n~~~~"
    assert block("```sh\nrm -rf /tmp/x\n``") == "```sh\nrm -rf /tmp/x\n``\n```"


def test_block_does_not_mistake_inline_code_for_a_fence() -> None:
    assert block("```a` b```") == "```a` b```"


def test_block_normalises_line_endings() -> None:
    assert block("one\r\ntwo\rthree") == "one\ntwo\nthree"


def test_block_truncates_with_a_note() -> None:
    result = block("x" * 30000)
    assert len(result) <= 20000
    assert result.endswith("\n\n" + TRUNCATION_NOTE)
    assert result.startswith("x" * 19000)


def test_block_truncation_closes_the_fence_it_cut() -> None:
    result = block("```\n" + "y\n" * 200, limit=150)
    assert len(result) <= 150
    assert result.endswith("\n```\n\n" + TRUNCATION_NOTE)
    assert open_fence(result) is None


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=300)
@given(hostile_text, st.integers(min_value=1, max_value=400))
def test_inline_is_always_one_safe_line(value: str, limit: int) -> None:
    result = inline(value, limit)
    assert len(result) <= limit
    assert "<" not in result and ">" not in result
    assert not any(char in result for char in LINE_BREAKS + "\t")
    assert TEAM_MENTION.search(result) is None
    assert LINE_START_BLOCK.match(result) is None


@settings(max_examples=300)
@given(hostile_text, st.integers(min_value=1, max_value=400))
def test_cell_is_always_one_safe_cell(value: str, limit: int) -> None:
    result = cell(value, limit)
    assert len(result) <= limit
    assert "<" not in result and ">" not in result
    assert not any(char in result for char in LINE_BREAKS + "\t")
    assert ANY_MENTION.search(result) is None
    assert unescaped_pipes(result) == []


@settings(max_examples=300)
@given(hostile_text, st.integers(min_value=len(TRUNCATION_NOTE) + 10, max_value=500))
def test_block_is_always_safe(value: str, limit: int) -> None:
    result = block(value, limit)
    assert len(result) <= limit
    assert "<!--" not in result
    assert "-->" not in result
    assert open_fence(result) is None


@given(hostile_text.filter(lambda text: "`" not in text and "~" not in text))
def test_block_without_code_has_no_team_mention_and_no_tags(value: str) -> None:
    result = block(value)
    assert TEAM_MENTION.search(result) is None
    assert re.search(r"<[A-Za-z/!?]", result) is None


def test_huge_text_is_bounded_everywhere() -> None:
    huge = "<!--@acme/sre|\n" * 5000  # 75,000 characters
    assert len(inline(huge)) <= 300
    assert len(cell(huge)) <= 300
    assert len(block(huge)) <= 20000


# --- invisible characters ----------------------------------------------------------------------

# Bidirectional controls and zero-width characters: they reorder or hide what a reader sees.
INVISIBLE = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u061c",
    "\u00ad",
    "\U000e0041",
]
sneaky_text = st.lists(
    st.one_of(st.text(max_size=8), st.sampled_from(HOSTILE), st.sampled_from(INVISIBLE)),
    max_size=30,
).map("".join)


def stray_format_characters(text: str) -> list[str]:
    """Format characters (category Cf) other than the joiners the filters put in on purpose:
    after an `@` to break a mention, inside `<!--` and `-->` in code to break a comment."""
    for token in ("@", "<!", "--"):
        text = text.replace(token + ZERO_WIDTH_JOINER, token)
    return [char for char in text if unicodedata.category(char) == "Cf"]


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_invisible_characters_are_removed_everywhere(invisible: str) -> None:
    typed = f"pay{invisible}ments gnp.{invisible}exe"
    assert inline(typed) == "payments gnp.exe"
    assert cell(typed) == "payments gnp.exe"
    assert block(f"{typed}\n```\n{typed}\n```") == "payments gnp.exe\n```\npayments gnp.exe\n```"


def test_a_right_to_left_override_cannot_reverse_a_title() -> None:
    assert inline("Checkout down \u202eteg\u202c for EU") == "Checkout down teg for EU"


def test_a_hidden_character_cannot_smuggle_a_mention_past_the_filter() -> None:
    assert cell("@\u200bbob") == "@" + ZERO_WIDTH_JOINER + "bob"
    assert inline("@\u2060acme/sre") == "@" + ZERO_WIDTH_JOINER + "acme/sre"


@settings(max_examples=300)
@given(sneaky_text, st.integers(min_value=1, max_value=400))
def test_no_invisible_character_survives_a_filter(value: str, limit: int) -> None:
    assert stray_format_characters(inline(value, limit)) == []
    assert stray_format_characters(cell(value, limit)) == []
    assert stray_format_characters(block(value, max(limit, 100))) == []
