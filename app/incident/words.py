"""Every word Baton writes comes from a Jinja2 template in `app/templates/`.

Rendering is pure: the templates ship with the package and are loaded once. In Markdown, user-
supplied text must pass through one of the escaping filters (`inline`, `cell`, `block`), which
come from `app.incident.text`, before it reaches a template's output. HTML templates
(`*.html.j2`, `render_html`) escape every value themselves.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from app.incident import text
from app.incident.state import format_time


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("app", "templates"),
        autoescape=False,  # Markdown, not HTML: escaping is explicit, per context, via filters
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        inline=text.inline,
        cell=text.cell,
        block=text.block,
        user=text.user,
        when=text.when,
        code=text.code,
        chat=text.chat,
        chat_line=text.chat_line,
    )
    return env


@cache
def html_environment() -> Environment:
    """The environment of the HTML pages: every value is escaped (autoescape)."""
    env = Environment(
        loader=PackageLoader("app", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=text.when, iso=format_time)
    return env


def render_html(template: str, **context: Any) -> str:
    """Render the HTML template `app/templates/<template>`, every value escaped."""
    return html_environment().get_template(template).render(**context).strip() + "\n"


def render(template: str, **context: Any) -> str:
    """Render `app/templates/<template>` (e.g. "reply/handoff_accepted.md.j2")."""
    return environment().get_template(template).render(**context).strip() + "\n"
