"""One file's YAML, read with bounds so that a hostile file costs little (docs/configuration.md,
Limits): its size, its nesting and the values it stands for, aliases counted in full."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import yaml

from app.config.problems import FILE_IGNORED, ConfigProblem, not_a_mapping

MAX_FILE_BYTES: Final = 64 * 1024
MAX_DEPTH: Final = 16  # levels of nesting, the top-level mapping being the first
MAX_VALUES: Final = 10_000  # scalars, lists and mappings, each use of an alias counted in full


class _OverLimit(yaml.YAMLError):
    """A file that goes beyond what Baton reads, and where."""

    def __init__(self, reason: str, mark: yaml.Mark) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mark = mark


class _ConfigLoader(yaml.SafeLoader):
    """YAML with 1.2-style scalars: `NO` stays Norway, `17:00` stays a time, `on` a word.

    Bounded while it is composed, before anything is built from it: at most MAX_DEPTH levels
    of nesting, and at most MAX_VALUES values counting each use of an alias as a copy of what it
    names, so that a few lines of anchors cannot stand for a billion values (or for themselves).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._values: dict[int, int] = {}  # id of a composed node: the values it stands for

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        is_alias = self.check_event(yaml.AliasEvent)
        mark = self.peek_event().start_mark
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _OverLimit(f"nested more than {MAX_DEPTH} levels deep", mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if node is not None:
            self._values[id(node)] = self._count(node, is_alias, mark)
        return node

    def _count(self, node: yaml.Node, is_alias: bool, mark: yaml.Mark) -> int:
        """The values a node stands for: its own and its children's, an alias's in full."""
        if not is_alias:
            values = 1 + sum(self._values[id(child)] for child in _children(node))
        elif id(node) in self._values:
            values = self._values[id(node)]
        else:  # the alias's node is still being composed
            raise _OverLimit("an alias names the value it is part of", mark)
        if values > MAX_VALUES:
            raise _OverLimit(
                f"more than {MAX_VALUES:,} values, counting each use of an alias as a copy of "
                "what it names",
                mark,
            )
        return values


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _timestamp_or_text(loader: _ConfigLoader, node: yaml.Node) -> object:
    """`2026-02-30` looks like a date but is not one: keep the text, the key reports it."""
    try:
        return loader.construct_yaml_timestamp(node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
_ConfigLoader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern)
        for tag, pattern in resolvers
        if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def parse_document(
    text: str, source: str
) -> tuple[Mapping[object, object] | None, ConfigProblem | None]:
    """One file's YAML: its mapping (empty for an empty file), or None and the problem."""
    size = len(text.encode(errors="replace"))
    if size > MAX_FILE_BYTES:
        message = f"the file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} Baton reads"
        return None, ConfigProblem(source, f"{message}; {FILE_IGNORED}")
    try:
        document = yaml.load(text, Loader=_ConfigLoader)
    except _OverLimit as error:
        where = f"line {error.mark.line + 1}, column {error.mark.column + 1}"
        return None, ConfigProblem(source, f"{error.reason} ({where}); {FILE_IGNORED}")
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = error.problem or error.context or "invalid YAML"
        message = (
            f"YAML does not parse{where}: {reason}; Baton uses the defaults instead of this file"
        )
        return None, ConfigProblem(source, message)
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        message = f"YAML does not parse: {type(error).__name__}; {FILE_IGNORED}"
        return None, ConfigProblem(source, message)
    if document is None:
        return {}, None
    if not isinstance(document, Mapping):
        return None, ConfigProblem(source, not_a_mapping(document))
    return document, None
