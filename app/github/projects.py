"""Keeps the configured project board (GitHub Projects v2) in step with an incident.

What a board is made of (its id, the Status and Severity fields, their options) is read with one
GraphQL query and remembered for an hour (`Caches.boards`) per App, installation and board;
the value last set on each item is remembered too, so an unchanged incident costs no request at
all. Adding an issue is idempotent on GitHub's side (`addProjectV2ItemById` returns the item
already there); when GitHub answers with no item, the incident says so and the next change adds
it again.
A board that cannot be used is never an error of the unit of work: `sync_board` returns a
sentence for the incident instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from githubkit.exception import GraphQLFailed, RequestFailed

from app.config import Config, Project
from app.github.client import GitHubSession
from app.incident.state import IncidentState

log = logging.getLogger(__name__)

MOST_FIELDS = 100  # GitHub allows at most 50 fields per board; one page reads them all
PERMISSION_ADVICE = "give the App organization projects (write) access"
T = TypeVar("T")
_BOARD_URL = re.compile(r"/(orgs|users)/([^/\s]+)/projects/(\d+)")

BOARD_QUERY = """
query($login: String!, $number: Int!) {
  owner: %s(login: $login) {
    projectV2(number: $number) {
      id
      fields(first: %d) {
        nodes {
          ... on ProjectV2SingleSelectField { id name options { id name } }
          ... on ProjectV2Field { id name }
        }
      }
    }
  }
}
"""
ADD_ITEM = """
mutation($project: ID!, $content: ID!) {
  addProjectV2ItemById(input: {projectId: $project, contentId: $content}) { item { id } }
}
"""
SET_ONE_VALUE = """
  %(alias)s: updateProjectV2ItemFieldValue(input: {
    projectId: $project, itemId: $item, fieldId: $%(alias)sField,
    value: {singleSelectOptionId: $%(alias)sOption}
  }) { projectV2Item { id } }
"""


@dataclass(frozen=True)
class BoardField:
    id: str
    options: Mapping[str, str] | None  # option name -> id; None: not a single-select field


@dataclass
class KnownItem:
    id: str
    values: dict[str, str] = field(default_factory=dict)  # field id -> option id Baton set


@dataclass
class KnownBoard:
    project_id: str
    fields: Mapping[str, BoardField]  # by field name
    items: dict[str, KnownItem] = field(default_factory=dict)  # by issue node id


class ItemNotAdded(Exception):
    """GitHub answered `addProjectV2ItemById` with no item: the issue is not on the board."""


class BoardProblem(Exception):
    """The board cannot be kept in step; `sentence` says why, for the incident."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


async def sync_board(
    session: GitHubSession,
    config: Config,
    *,
    issue_node_id: str,
    state: IncidentState,
) -> str | None:
    """Put the incident issue on the configured board with its status (and severity).

    Returns None when the board is in step (or none is configured), otherwise a plain-language
    sentence for the incident. GitHub being busy or down (`GitHubBusy`, `GitHubUnavailable`)
    propagates, so the unit of work is retried as for any other request.
    """
    project = config.project
    if project is None:
        return None
    memory = session.caches.boards
    key = (getattr(session.github.auth, "installation_id", None), project.url)
    try:
        board: KnownBoard | None = memory.get(key)
        if board is None:
            board = memory[key] = await _read_board(session, project)
        wanted, problems = _wanted_values(board, project, state)
        await _place(session, board, issue_node_id, wanted)
    except GraphQLFailed as failure:
        memory.pop(key, None)
        return _refusal_sentence(project.url, failure)
    except RequestFailed as failure:
        status = failure.response.status_code
        return f"GitHub refused Baton's request about the project board {project.url} ({status})"
    except BoardProblem as problem:
        return problem.sentence
    except ItemNotAdded:
        return (
            f"GitHub did not add the incident to the project board {project.url}; "
            "Baton tries again at the incident's next change"
        )
    return "; ".join(problems) or None


# -- reading the board --------------------------------------------------------------------
async def _read_board(session: GitHubSession, project: Project) -> KnownBoard:
    found = _BOARD_URL.search(project.url)
    if found is None:
        raise BoardProblem(f"{project.url} is not the address of a project board")
    kind, login, number = found.groups()
    owner_field = "organization" if kind == "orgs" else "user"
    query = BOARD_QUERY % (owner_field, MOST_FIELDS)
    variables = {"login": login, "number": int(number)}
    data = await session.read(lambda: session.github.async_graphql(query, variables))
    board = (data.get("owner") or {}).get("projectV2")
    if board is None:
        raise BoardProblem(_not_found_sentence(project.url))
    nodes = board["fields"]["nodes"] or []
    fields = {node["name"]: _board_field(node) for node in nodes if node and "name" in node}
    return KnownBoard(board["id"], fields)


def _board_field(node: Mapping[str, Any]) -> BoardField:
    options = node.get("options")
    named = None if options is None else {o["name"]: o["id"] for o in options}
    return BoardField(node["id"], named)


def _wanted_values(
    board: KnownBoard, project: Project, state: IncidentState
) -> tuple[dict[str, str], list[str]]:
    """Option ids by field id that the incident calls for, and what could not be matched."""
    wanted: dict[str, str] = {}
    problems: list[str] = []
    choices = [(project.status_field, project.status_map.get(state.status, ""))]
    if project.severity_field is not None:
        choices.append((project.severity_field, state.severity))
    for field_name, option_name in choices:
        try:
            field_id, option_id = _option(board, project.url, field_name, option_name)
        except BoardProblem as problem:
            problems.append(problem.sentence)
        else:
            wanted[field_id] = option_id
    return wanted, problems


def _option(board: KnownBoard, url: str, field_name: str, option_name: str) -> tuple[str, str]:
    board_field = _named(board.fields, field_name)
    if board_field is None:
        raise BoardProblem(f"the project board {url} has no field called {field_name}")
    if board_field.options is None:
        raise BoardProblem(
            f"the field {field_name} on the project board {url} is not a single-select field"
        )
    option_id = _named(board_field.options, option_name)
    if option_id is None:
        raise BoardProblem(
            f"the project board {url} has no option called {option_name} in {field_name}"
        )
    return board_field.id, option_id


def _named(by_name: Mapping[str, T], name: str) -> T | None:
    """The entry called `name`, exactly or else ignoring case (people type "sev1" for "SEV1")."""
    if name in by_name:
        return by_name[name]
    folded = name.casefold()
    return next((v for k, v in by_name.items() if k.casefold() == folded), None)


# -- changing the board -------------------------------------------------------------------
async def _place(
    session: GitHubSession, board: KnownBoard, issue_node_id: str, wanted: dict[str, str]
) -> None:
    item = board.items.get(issue_node_id)
    if item is not None:
        changed = _changes(item, wanted)
        if not changed:
            return
        try:
            await _set_values(session, board, item, changed)
            return
        except GraphQLFailed as failure:
            if not _is_a(failure, "NOT_FOUND"):
                raise
            # Someone took the item off the board since Baton put it there: add it again.
    item = await _add(session, board, issue_node_id)
    if wanted:
        await _set_values(session, board, item, wanted)


def _changes(item: KnownItem, wanted: dict[str, str]) -> dict[str, str]:
    return {f: o for f, o in wanted.items() if item.values.get(f) != o}


async def _add(session: GitHubSession, board: KnownBoard, issue_node_id: str) -> KnownItem:
    variables = {"project": board.project_id, "content": issue_node_id}
    data = await session.write(lambda: session.github.async_graphql(ADD_ITEM, variables))
    added = (data.get("addProjectV2ItemById") or {}).get("item")
    if added is None:  # the schema allows it: the issue is not on the board, and Baton says so
        log.warning("GitHub did not add %s to the board %s", issue_node_id, board.project_id)
        raise ItemNotAdded(issue_node_id)
    item = board.items[issue_node_id] = KnownItem(added["id"])
    return item


async def _set_values(
    session: GitHubSession, board: KnownBoard, item: KnownItem, changed: dict[str, str]
) -> None:
    """Every changed field in one request: one aliased mutation per field."""
    aliases = {f"f{index}": pair for index, pair in enumerate(changed.items())}
    declarations = "".join(f", ${a}Field: ID!, ${a}Option: String!" for a in aliases)
    body = "".join(SET_ONE_VALUE % {"alias": alias} for alias in aliases)
    mutation = f"mutation($project: ID!, $item: ID!{declarations}) {{{body}}}"
    variables: dict[str, Any] = {"project": board.project_id, "item": item.id}
    for alias, (field_id, option_id) in aliases.items():
        variables |= {f"{alias}Field": field_id, f"{alias}Option": option_id}
    await session.write(lambda: session.github.async_graphql(mutation, variables))
    item.values.update(changed)


# -- sentences ----------------------------------------------------------------------------
def _is_a(failure: GraphQLFailed, kind: str) -> bool:
    return any(error.type == kind for error in failure.response.errors or [])


def _not_found_sentence(url: str) -> str:
    advice = PERMISSION_ADVICE
    if "/users/" in url:
        advice = (
            "a GitHub App cannot reach a board owned by a user; use an organization's board "
            "(or, in Action mode, a token that may write this board)"
        )
    return f"the project board {url} was not found, or Baton cannot see it: {advice}"


def _refusal_sentence(url: str, failure: GraphQLFailed) -> str:
    if _is_a(failure, "FORBIDDEN"):
        return (
            f"Baton may not use the project board {url}: {PERMISSION_ADVICE} (in Action mode, "
            "the GITHUB_TOKEN cannot reach organization projects: use an App token)"
        )
    if _is_a(failure, "NOT_FOUND"):
        return _not_found_sentence(url)
    errors = failure.response.errors or []
    reason = errors[0].message if errors else "no reason given"
    return f"GitHub refused to update the project board {url}: {reason}"
