"""GitHub logins: what one looks like, and when two name the same person."""

from __future__ import annotations

import re

# An account name (a person or an organisation): alphanumerics and single inner hyphens, at most
# 39 characters. An App acts as `<slug>[bot]`.
ACCOUNT_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
LOGIN_PATTERN = rf"{ACCOUNT_PATTERN}(?:\[bot\])?"
_ACCOUNT = re.compile(ACCOUNT_PATTERN)
_LOGIN = re.compile(LOGIN_PATTERN)


def is_login(text: str) -> bool:
    """Whether `text` is shaped like a login (a person's or an App's). Only logins of this shape
    are ever echoed or stored."""
    return _LOGIN.fullmatch(text) is not None


def is_account_name(text: str) -> bool:
    """Whether `text` is shaped like the name of a person or an organisation (no `[bot]`)."""
    return _ACCOUNT.fullmatch(text) is not None


def same_login(one: str | None, other: str | None) -> bool:
    """GitHub logins are case-insensitive: `@Bob` and `bob` are the same person."""
    return one is not None and other is not None and one.casefold() == other.casefold()
