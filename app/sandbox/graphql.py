"""The stand-in's GraphQL endpoint: the Projects (v2) subset Baton uses to keep a board in step.

`POST /graphql` answers like GitHub's: HTTP 200 with `{"data": ..., "errors": [...]}`, each
error carrying GitHub's `type` (NOT_FOUND, FORBIDDEN) and `path`. Boards live beside the world
(one `Boards` per API object); tests and the demo set them up with `add_project` and read them
with `project_items`.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from graphql import GraphQLError, GraphQLResolveInfo, build_schema, graphql

from app.sandbox.http import Call, Reply, error
from app.sandbox.shapes import node_id
from app.sandbox.world import AccessToken, Account, Issue, Repo, World

if TYPE_CHECKING:
    from app.sandbox.api import GitHubApi
    from app.sandbox.standin import StandIn

LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
PERMISSION = "organization_projects"
MOST_FIELDS = 100  # GitHub's ceiling for `first` on a connection

SCHEMA = build_schema(
    """
    scalar Date

    type Query {
      organization(login: String!): Organization
      user(login: String!): User
    }

    type Organization { login: String!  projectV2(number: Int!): ProjectV2 }
    type User { login: String!  projectV2(number: Int!): ProjectV2 }

    type ProjectV2 {
      id: ID!
      number: Int!
      title: String!
      fields(first: Int, after: String): ProjectV2FieldConfigurationConnection!
    }

    type ProjectV2FieldConfigurationConnection {
      nodes: [ProjectV2FieldConfiguration]
      totalCount: Int!
    }

    union ProjectV2FieldConfiguration = ProjectV2Field | ProjectV2SingleSelectField

    enum ProjectV2FieldType { TITLE TEXT SINGLE_SELECT }

    type ProjectV2Field { id: ID!  name: String!  dataType: ProjectV2FieldType! }

    type ProjectV2SingleSelectField {
      id: ID!
      name: String!
      dataType: ProjectV2FieldType!
      options: [ProjectV2SingleSelectFieldOption!]!
    }

    type ProjectV2SingleSelectFieldOption { id: String!  name: String! }

    type ProjectV2Item { id: ID!  project: ProjectV2! }

    input AddProjectV2ItemByIdInput {
      projectId: ID!
      contentId: ID!
      clientMutationId: String
    }

    type AddProjectV2ItemByIdPayload { item: ProjectV2Item  clientMutationId: String }

    input ProjectV2FieldValue {
      text: String
      number: Float
      date: Date
      singleSelectOptionId: String
      iterationId: String
    }

    input UpdateProjectV2ItemFieldValueInput {
      projectId: ID!
      itemId: ID!
      fieldId: ID!
      value: ProjectV2FieldValue!
      clientMutationId: String
    }

    type UpdateProjectV2ItemFieldValuePayload {
      projectV2Item: ProjectV2Item
      clientMutationId: String
    }

    type Mutation {
      addProjectV2ItemById(input: AddProjectV2ItemByIdInput!): AddProjectV2ItemByIdPayload
      updateProjectV2ItemFieldValue(
        input: UpdateProjectV2ItemFieldValueInput!
      ): UpdateProjectV2ItemFieldValuePayload
    }
    """
)


# -- the boards -----------------------------------------------------------------------------
@dataclass
class Option:
    id: str
    name: str


@dataclass
class Field:
    id: str
    name: str
    options: list[Option] | None  # None: not a single-select field
    data_type: str = "SINGLE_SELECT"

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options or () if o.id == option_id), None)


@dataclass
class Item:
    id: str
    repo: Repo
    issue: Issue
    values: dict[str, str] = field(default_factory=dict)  # field id -> option id


@dataclass
class Project:
    id: str
    owner: Account
    number: int
    title: str
    fields: list[Field]
    items: list[Item] = field(default_factory=list)
    # How many of the next `addProjectV2ItemById` answer with a null item, as its schema allows.
    items_not_added: int = 0

    def field_by_id(self, field_id: str) -> Field | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def item_by_id(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


@dataclass
class Boards:
    projects: dict[tuple[str, int], Project] = field(default_factory=dict)  # (owner, number)

    def by_id(self, project_id: str) -> Project | None:
        return next((p for p in self.projects.values() if p.id == project_id), None)


_BOARDS: WeakKeyDictionary[GitHubApi, Boards] = WeakKeyDictionary()


def boards_of(api: GitHubApi) -> Boards:
    return _BOARDS.setdefault(api, Boards())


def _global_id(prefix: str) -> str:
    return f"{prefix}_{base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()}"


# -- world set-up and inspection (no webhooks) ------------------------------------------------
def add_project(
    standin: StandIn,
    owner: str,
    number: int,
    title: str = "Incidents",
    fields: Mapping[str, Sequence[str] | None] | None = None,
) -> Project:
    """A board owned by an existing organisation or user; `fields` maps each field's name to
    its single-select options (None: a text field). GitHub's built-in Title field comes first."""
    account = standin.world.account(owner)
    if account is None:
        raise KeyError(f"no account {owner!r}; call add_org or add_user first")
    wanted = {"Status": ["Todo", "In Progress", "Done"]} if fields is None else fields
    made = [Field(_global_id("PVTF"), "Title", None, "TITLE")]
    for name, options in wanted.items():
        if options is None:
            made.append(Field(_global_id("PVTF"), name, None, "TEXT"))
        else:
            choices = [Option(secrets.token_hex(4), option) for option in options]
            made.append(Field(_global_id("PVTSSF"), name, choices))
    project = Project(_global_id("PVT"), account, number, title, made)
    boards_of(standin.api).projects[(owner.lower(), number)] = project
    return project


def project_items(standin: StandIn, owner: str, number: int) -> list[dict[str, Any]]:
    """The board's items: `{"repo", "number", "fields": {field name: option name}}` each."""
    project = boards_of(standin.api).projects[(owner.lower(), number)]
    return [
        {
            "repo": item.repo.full_name,
            "number": item.issue.number,
            "fields": {
                board_field.name: option.name
                for board_field in project.fields
                if (option := board_field.option(item.values.get(board_field.id, "")))
            },
        }
        for item in project.items
    ]


# -- answering ------------------------------------------------------------------------------
class Problem(Exception):
    """One of GitHub's typed GraphQL errors (the field resolves to null)."""

    def __init__(self, kind: str | None, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _not_found(message: str) -> Problem:
    return Problem("NOT_FOUND", message)


def _no_node(global_id: str) -> Problem:
    return _not_found(f"Could not resolve to a node with the global id of '{global_id}'.")


@dataclass
class Viewer:
    """Who asks, and the world and boards they ask about."""

    token: AccessToken
    world: World
    boards: Boards

    def require(self, level: str) -> None:
        granted = self.token.installation.permissions.get(PERMISSION, "none")
        if LEVELS[granted] < LEVELS[level]:
            raise Problem("FORBIDDEN", "Resource not accessible by integration")

    def sees(self, repo: Repo) -> bool:
        only = self.token.only_repo
        return self.token.installation.covers(repo) and only in (None, repo.full_name.lower())

    def project(self, project_id: str, level: str) -> Project:
        self.require(level)
        project = self.boards.by_id(project_id)
        if project is None or not self._owns(project):
            raise _no_node(project_id)
        return project

    def project_of(self, owner: Account, number: int) -> Project:
        self.require("read")
        project = self.boards.projects.get((owner.login.lower(), number))
        if project is None or not self._owns(project):
            raise _not_found(f"Could not resolve to a ProjectV2 with the number {number}.")
        return project

    def issue(self, content_id: str) -> tuple[Repo, Issue]:
        for repo in self.world.repos.values():
            for issue in repo.issues.values():
                if node_id("Issue", issue.id) == content_id and self.sees(repo):
                    return repo, issue
        raise _no_node(content_id)

    def _owns(self, project: Project) -> bool:
        # An installation reaches the boards of the account it is installed on.
        return self.token.installation.account is project.owner


def _viewer(info: GraphQLResolveInfo) -> Viewer:
    viewer = info.context
    assert isinstance(viewer, Viewer)
    return viewer


def _owner_resolver(kind: str, label: str) -> Any:
    def resolve(_: None, info: GraphQLResolveInfo, login: str) -> Account:
        account = _viewer(info).world.account(login)
        is_org = account is not None and account.type == "Organization"
        if account is None or is_org != (kind == "Organization") or account.type == "Bot":
            raise _not_found(f"Could not resolve to {label} with the login of '{login}'.")
        return account

    return resolve


def _project_v2(owner: Account, info: GraphQLResolveInfo, number: int) -> dict[str, Any]:
    return _project_shape(_viewer(info).project_of(owner, number))


def _project_shape(project: Project) -> dict[str, Any]:
    def fields(_: GraphQLResolveInfo, first: int | None = None, after: str | None = None) -> Any:
        if first is None or not 0 <= first <= MOST_FIELDS:
            raise Problem(None, f"`first` must be between 0 and {MOST_FIELDS}.")
        return {
            "nodes": [_field_shape(f) for f in project.fields[:first]],
            "totalCount": len(project.fields),
        }

    return {"id": project.id, "number": project.number, "title": project.title, "fields": fields}


def _field_shape(board_field: Field) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "id": board_field.id,
        "name": board_field.name,
        "dataType": board_field.data_type,
    }
    if board_field.options is None:
        return {**shape, "__typename": "ProjectV2Field"}
    options = [{"id": o.id, "name": o.name} for o in board_field.options]
    return {**shape, "__typename": "ProjectV2SingleSelectField", "options": options}


def _item_shape(project: Project, item: Item) -> dict[str, Any]:
    return {"id": item.id, "project": _project_shape(project)}


def _add_item(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    viewer = _viewer(info)
    project = viewer.project(input["projectId"], "write")
    repo, issue = viewer.issue(input["contentId"])
    if project.items_not_added > 0:
        project.items_not_added -= 1
        return {"item": None, "clientMutationId": input.get("clientMutationId")}
    item = next((i for i in project.items if i.issue is issue), None)
    if item is None:
        item = Item(_global_id("PVTI"), repo, issue)
        project.items.append(item)
    return {"item": _item_shape(project, item), "clientMutationId": input.get("clientMutationId")}


def _update_value(_: None, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    project = _viewer(info).project(input["projectId"], "write")
    item = project.item_by_id(input["itemId"])
    if item is None:
        raise _no_node(input["itemId"])
    board_field = project.field_by_id(input["fieldId"])
    if board_field is None:
        raise _no_node(input["fieldId"])
    option_id = input["value"].get("singleSelectOptionId")
    if board_field.options is None or option_id is None:
        raise Problem(None, "Only single-select values are supported by this stand-in.")
    if board_field.option(option_id) is None:
        raise Problem(None, "The single select option Id does not belong to the field")
    item.values[board_field.id] = option_id
    return {
        "projectV2Item": _item_shape(project, item),
        "clientMutationId": input.get("clientMutationId"),
    }


def _wire_resolvers() -> None:
    query, mutation = SCHEMA.query_type, SCHEMA.mutation_type
    assert query is not None and mutation is not None
    query.fields["organization"].resolve = _owner_resolver("Organization", "an Organization")
    query.fields["user"].resolve = _owner_resolver("User", "a User")
    for owner_type in ("Organization", "User"):
        SCHEMA.get_type(owner_type).fields["projectV2"].resolve = _project_v2  # type: ignore[union-attr]
    mutation.fields["addProjectV2ItemById"].resolve = _add_item
    mutation.fields["updateProjectV2ItemFieldValue"].resolve = _update_value


_wire_resolvers()


def _error_shape(problem: GraphQLError) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    cause = problem.original_error
    if isinstance(cause, Problem) and cause.kind is not None:
        shape["type"] = cause.kind
    if problem.path is not None:
        shape["path"] = list(problem.path)
    if isinstance(cause, Problem) and cause.kind == "FORBIDDEN":
        shape["extensions"] = {"saml_failure": False}
    if problem.locations:
        shape["locations"] = [{"line": p.line, "column": p.column} for p in problem.locations]
    shape["message"] = problem.message
    return shape


class GraphQLEndpoint:
    """`POST /graphql` for the stand-in's API object."""

    def __init__(self, api: GitHubApi) -> None:
        self.api = api

    async def answer(self, call: Call) -> Reply:
        token = self.api.token_for(call.headers)
        if token is None:
            raise error(401, "Bad credentials")
        body = call.json if isinstance(call.json, dict) else {}
        query = body.get("query")
        if not isinstance(query, str):
            message = "A query attribute must be specified and must be a string."
            return Reply(200, {"errors": [{"message": message}]})
        variables = body.get("variables")
        result = await graphql(
            SCHEMA,
            query,
            context_value=Viewer(token, self.api.world, boards_of(self.api)),
            variable_values=variables if isinstance(variables, dict) else None,
            operation_name=body.get("operationName"),
        )
        answer: dict[str, Any] = {"data": result.data} if result.data is not None else {}
        if result.errors:
            if result.data is None and any(e.path for e in result.errors):
                answer["data"] = None
            answer["errors"] = [_error_shape(e) for e in result.errors]
        return Reply(200, answer)
