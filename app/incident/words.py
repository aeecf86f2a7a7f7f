"""Every word Baton writes comes from a Jinja2 template in `app/templates/`.

Rendering is pure: the templates ship with the package and are loaded once. User-supplied text
must pass through one of the escaping filters (`inline`, `cell`, `block`), which come from
`app.incident.text`, before it reaches a template's output.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from app.incident import text


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


def render(template: str, **context: Any) -> str:
    """Render `app/templates/<template>` (e.g. "reply/handoff_accepted.md.j2")."""
    return environment().get_template(template).render(**context).strip() + "\n"
