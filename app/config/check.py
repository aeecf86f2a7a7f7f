"""`baton check-config FILE`, and the verdict on a repository's configuration (`--repo`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.config.document import parse_document
from app.config.extends import extends_target
from app.config.layers import config_from_layers
from app.config.problems import ConfigProblem, LoadResult
from app.config.values import DAY_NAMES
from app.incident.calendar import Region
from app.incident.config import Config


def check_config_file(path: str) -> tuple[int, str]:
    """Exit code (0 ok, 1 problems, 2 unreadable) and the text to print."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return 2, f"{path}: cannot read: {error}"
    document, problem = parse_document(text, path)
    if document is None:
        return 1, str(problem)
    result = config_from_layers([document], [path])
    problems = list(result.problems)
    extends = document.get("_extends")
    if extends is not None:
        try:
            extends_target(extends, "OWNER")
        except ValueError as error:
            problems.append(ConfigProblem("_extends", str(error)))
    return _verdict(path, problems, result.config)


def check_loaded(repo: str, loaded: LoadResult) -> tuple[int, str]:
    """`check_config_file`'s exit code and text for a repository's configuration as read from
    GitHub (`baton check-config --repo`), naming the files merged."""
    files = ", ".join(loaded.sources) or "no file: the defaults"
    return _verdict(repo, loaded.problems, loaded.config, f"{repo} ({files})")


def _verdict(
    name: str, problems: Sequence[ConfigProblem], config: Config, ok: str | None = None
) -> tuple[int, str]:
    if problems:
        lines = [str(item) for item in problems]
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        lines.append(f"{name}: {count}; Baton uses the defaults for these keys")
        return 1, "\n".join(lines)
    return 0, f"ok: {ok or name}\n{_summary(config)}"


def _summary(config: Config) -> str:
    project = config.project.url if config.project else "none"
    regions = "; ".join(_describe_region(region) for region in config.working_hours)
    return "\n".join(
        [
            f"severities: {', '.join(config.severities)} (default {config.default_severity})",
            f"responders: {config.responders.permission} or above"
            + "".join(f", @{team}" for team in config.responders.teams),
            f"working hours: {regions}",
            f"project board: {project}",
        ]
    )


def _describe_region(region: Region) -> str:
    days = ",".join(DAY_NAMES[day] for day in sorted(region.days))
    start, end = (
        f"{minute // 60:02d}:{minute % 60:02d}"
        for minute in (region.start_minute, region.end_minute)
    )
    holidays_of = f" holidays {region.holidays}" if region.holidays else ""
    return f"{region.timezone} {days} {start}-{end}{holidays_of}"
