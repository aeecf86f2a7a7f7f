"""Baton's configuration: `.github/baton.yml` (docs/configuration.md).

Built-in defaults < the organisation's `.github` repository's file < the repository's file,
each file optionally `_extends`-ing another one below it. Every key is validated on its own:
a broken key falls back to its default and is reported with its exact path and a fix, while
the valid keys still apply. I/O stays at the edge: `load_config` is given a `fetch` function.

- `keys`: every key, its default and meaning (the docs table too);
- `values`: the kind of value each key holds, as a type with constraints;
- `validate`: a merged document read into a `Config`, key by key;
- `document`: one file's YAML, within limits; `extends`: a file and those it `_extends`;
- `layers`: defaults, the organisation's file and the repository's, merged;
- `check`: `baton check-config`.

The typed `Config` itself lives in the core (`app.incident.config`), which imports nothing
of this package.
"""

from typing import Final

from app.config.check import check_config_file, check_loaded
from app.config.document import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, parse_document
from app.config.durations import parse_duration
from app.config.extends import (
    CONFIG_PATH,
    MAX_EXTENDS,
    ConfigSource,
    Fetch,
    Unreadable,
    extends_target,
)
from app.config.keys import SETTINGS, Setting, configuration_table
from app.config.layers import DEFAULTS, ORG_CONFIG_REPO, config_from_layers, load_config
from app.config.problems import ConfigProblem, LoadResult
from app.config.validate import MAX_REGIONS
from app.config.values import (
    DAY_NAMES,
    LABEL_MAX_LENGTH,
    MAX_SEVERITIES,
    PERMISSIONS,
    RETROSPECTIVE_OPENINGS,
)
from app.incident.config import (
    Clocks,
    Config,
    Escalation,
    Labels,
    Notify,
    Project,
    Responders,
    Retrospective,
)
from app.incident.state import Status

STATUSES: Final = tuple(Status)

__all__ = [
    "CONFIG_PATH",
    "DAY_NAMES",
    "DEFAULTS",
    "LABEL_MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "MAX_REGIONS",
    "MAX_SEVERITIES",
    "MAX_VALUES",
    "ORG_CONFIG_REPO",
    "PERMISSIONS",
    "RETROSPECTIVE_OPENINGS",
    "SETTINGS",
    "STATUSES",
    "Clocks",
    "Config",
    "ConfigProblem",
    "ConfigSource",
    "Escalation",
    "Fetch",
    "Labels",
    "LoadResult",
    "Notify",
    "Project",
    "Responders",
    "Retrospective",
    "Setting",
    "Unreadable",
    "check_config_file",
    "check_loaded",
    "config_from_layers",
    "configuration_table",
    "extends_target",
    "load_config",
    "parse_document",
    "parse_duration",
]
