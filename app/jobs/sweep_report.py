"""What a run of the sweep did, or would do with `--dry-run`, within its operations budget."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.incident.plan import Plan

DEFAULT_BUDGET = 100  # write operations per run, like actions/stale's operations-per-run


@dataclass
class OperationsBudget:
    """Write operations one run may make; a run stops before it would exceed them."""

    limit: int = DEFAULT_BUDGET
    used: int = 0

    def allows(self, writes: int) -> bool:
        return self.used + writes <= self.limit

    def spend(self, writes: int) -> None:
        self.used += writes


@dataclass
class PlannedNudge:
    repo: str
    number: int
    nudges: tuple[str, ...]  # nudge keys
    writes: int
    plan: Plan | None = None  # None when handed to the worker


@dataclass
class SweepReport:
    listed: int = 0
    acted: list[PlannedNudge] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    deferred: list[str] = field(default_factory=list)  # left for the next run: over budget
    # (repository, its configuration's problems): swept with those keys at their defaults
    config_problems: list[tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def merge(self, other: SweepReport) -> None:
        self.listed += other.listed
        self.acted += other.acted
        self.skipped += other.skipped
        self.deferred += other.deferred
        self.config_problems += other.config_problems

    def summary(self) -> str:
        verb = "would nudge" if self.dry_run else "nudged"
        return (
            f"{self.listed} open incidents; {verb} {len(self.acted)}; "
            f"skipped {len(self.skipped)}; left for the next run {len(self.deferred)}"
        )

    def lines(self) -> list[str]:
        """What was (or would be) done, one line each, for `baton sweep`."""
        out = [config_line(repo, problems) for repo, problems in self.config_problems]
        out += [
            f"{a.repo}#{a.number}: {', '.join(a.nudges)} ({_writes_words(a)})" for a in self.acted
        ]
        out += [f"{where}: skipped, {why}" for where, why in self.skipped]
        out += [f"{where}: left for the next run (budget)" for where in self.deferred]
        return out


def config_line(repo: str, problems: str) -> str:
    return f"{repo}: its configuration has problems; these keys have their defaults: {problems}"


def _writes_words(planned: PlannedNudge) -> str:
    plan = planned.plan
    if plan is None:
        return "handed to the worker"
    parts = []
    if plan.state is not None:
        parts.append("card")
    if plan.labels is not None:
        parts.append(f"labels {', '.join(plan.labels)}")
    if plan.issue_state is not None:
        parts.append(f"state {plan.issue_state}")
    parts += [f"comment {reply.key}" for reply in plan.replies]
    return "; ".join(parts) or "nothing"
