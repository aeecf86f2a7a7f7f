"""Layers: the built-in defaults < the organisation's `.github` repository's file < the
repository's file. Mappings merge key by key; anything else (lists too) replaces."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Final

from app.config.extends import ConfigSource, Fetch, Layer, read_chain
from app.config.problems import ConfigProblem, LoadResult, not_a_mapping
from app.config.validate import read_config
from app.incident.config import Config

ORG_CONFIG_REPO: Final = ".github"


def _merge(lower: Mapping[object, object], upper: Mapping[object, object]) -> dict[object, object]:
    """Mappings merge key by key; anything else (lists too) in the upper layer replaces."""
    merged = dict(lower)
    for name, value in upper.items():
        below = merged.get(name)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[name] = _merge(below, value)
        else:
            merged[name] = value
    return merged


def config_from_layers(layers: Sequence[object], sources: Sequence[str] = ()) -> LoadResult:
    """The configuration from layers, lowest priority first, over the built-in defaults.

    Never raises: every problem is reported and the affected key keeps its default.
    A layer that is not a mapping is reported (named by its source when given) and skipped.
    """
    problems: list[ConfigProblem] = []
    merged: dict[object, object] = {}
    for index, layer in enumerate(layers):
        if isinstance(layer, Mapping):
            merged = _merge(merged, layer)
        else:
            source = sources[index] if index < len(sources) else f"layer {index + 1}"
            problems.append(ConfigProblem(source, not_a_mapping(layer)))
    config = read_config(merged, problems)
    return LoadResult(config, tuple(problems), tuple(sources))


DEFAULTS: Final[Config] = config_from_layers(()).config


async def load_config(fetch: Fetch, owner: str, repo: str) -> LoadResult:
    """The repository's configuration: its file over the organisation's, over the defaults.

    `fetch(owner, repo, path)` returns a file's text from the default branch, or None when
    it is absent (not a problem); it raises Unreadable when GitHub refuses the file, which is
    a problem: the file's keys keep their defaults. Any other exception from `fetch`
    propagates. Parsing and checking run in a worker thread: even a file at the limits never
    holds up the event loop.
    """
    problems: list[ConfigProblem] = []
    org = ConfigSource(owner, ORG_CONFIG_REPO)
    org_chain = await read_chain(fetch, org, problems)
    repo_chain: list[Layer] = []
    if repo != ORG_CONFIG_REPO:
        repo_chain = await read_chain(fetch, ConfigSource(owner, repo), problems)
    already_below = {layer.source for layer in repo_chain}
    layers = [layer for layer in org_chain if layer.source not in already_below] + repo_chain
    result = await asyncio.to_thread(
        config_from_layers,
        [layer.document for layer in layers],
        [str(layer.source) for layer in layers],
    )
    return LoadResult(result.config, (*problems, *result.problems), result.sources)
