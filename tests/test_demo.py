"""`baton demo` plays a whole incident and prints it as a reader of the issue would see it."""

from __future__ import annotations

import io

from rich.console import Console

from app.demo.play import play


async def test_the_demo_tells_the_whole_incident() -> None:
    out = io.StringIO()
    await play(Console(file=out, width=200), plain=True)
    story = out.getvalue()

    for line in (
        "Checkout fails for card payments — closed",
        "### Incident declared",
        "@alice is now the Incident Commander for this incident.",
        "@bob, @alice asks you to take over as Incident Commander",
        "@bob is now the Incident Commander for this incident, taking over from @alice.",
        "@carol joins this incident as Subject Matter Expert for database.",
        "### Status update",
        "**To everyone following this issue:** we believe the problem is fixed.",
        "the incident report is done",
        "the incident is now **closed**",
        "Retrospective: [Incident]: Checkout fails for card payments (#1)",
        "## Five whys",
        "## Timeline",
    ):
        assert line in story, line
    assert "<!--" not in story  # hidden markers stay hidden, as on GitHub
    assert story.index("taking over from @alice") < story.index("## Timeline")
