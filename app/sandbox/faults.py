"""Planned misbehaviour: make chosen requests fail the way GitHub and networks fail."""

from __future__ import annotations

from dataclasses import dataclass, field

FAULT_KINDS = ("status", "secondary_rate_limit", "rate_limit", "slow", "drop")


@dataclass
class Fault:
    method: str | None = None  # None matches any
    route: str | None = None  # a route template such as "/repos/{owner}/{repo}/issues"
    kind: str = "status"
    status: int = 502
    retry_after: int = 1
    delay: float = 0.0
    times: int = 1  # how many matching requests it hits

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")

    def matches(self, method: str, route: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.route is None or self.route == route
        )


@dataclass
class FaultPlan:
    planned: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> Fault:
        self.planned.append(fault)
        return fault

    def clear(self) -> None:
        self.planned.clear()

    def take(self, method: str, route: str) -> Fault | None:
        """The first fault matching this request, used up by one hit."""
        for fault in self.planned:
            if fault.times > 0 and fault.matches(method, route):
                fault.times -= 1
                if fault.times == 0:
                    self.planned.remove(fault)
                return fault
        return None
