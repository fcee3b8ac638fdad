"""Per-host state during a run and the result of a run (the PLAY RECAP numbers)."""
from __future__ import annotations

from dataclasses import dataclass, field

STAT_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


@dataclass
class HostState:
    name: str
    failed: bool = False
    unreachable: bool = False
    ended: bool = False
    facts: dict = field(default_factory=dict)
    set_facts: dict = field(default_factory=dict)
    notified: list = field(default_factory=list)
    stats: dict = field(default_factory=lambda: {k: 0 for k in STAT_KEYS})

    @property
    def active(self):
        return not (self.failed or self.unreachable or self.ended)


@dataclass
class PlayResult:
    stats: dict                      # host -> {ok, changed, unreachable, failed, skipped, rescued, ignored}
    events: list = field(default_factory=list)
    duration: float = 0.0            # seconds, load to recap

    @property
    def exit_code(self) -> int:
        if any(s["unreachable"] for s in self.stats.values()):
            return 4
        if any(s["failed"] for s in self.stats.values()):
            return 2
        return 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def changed(self) -> int:
        return sum(s["changed"] for s in self.stats.values())

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(h for h, s in self.stats.items() if s["failed"])

    @property
    def unreachable_hosts(self) -> list[str]:
        return sorted(h for h, s in self.stats.items() if s["unreachable"])
