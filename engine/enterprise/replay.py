"""A pure, in-memory run of every core together, links included: what the worker's decide stage does.

The worker sends a link (engine/enterprise/links.py) to the timeline and meets
it again on the enterprise's partition; here it is fed back at once. Tests,
the demo and the benchmark of files use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.cores import Core, build_cores
from engine.intake.process import TIMELINE
from engine.kernel.outputs import Out


@dataclass
class DistrictReplay:
    """States of every subject of every kind, and every output except the links it fed back."""

    cores: dict[str, Core]
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> subject -> state
    outputs: list[Out] = field(default_factory=list)

    @classmethod
    def of(cls, rules: Any, alert_rules: Any = None, plan: Any = None) -> DistrictReplay:
        """A replay of the cores a worker with these rules runs."""
        return cls(build_cores(rules, alert_rules, plan))

    def feed(self, entry: dict[str, Any]) -> list[Out]:
        """Apply one timeline entry, then every link it causes; return the other outputs."""
        pending, outs = [entry], []
        while pending:
            e = pending.pop(0)
            core = self.cores.get(e.get("subject_kind"))
            if core is None:
                continue  # an inspection's own entry: no rules act on it
            table = self.states.setdefault(core.kind, {})
            new, caused = core.decide(table.get(e["subject"]), e)
            table[e["subject"]] = new
            for out in caused:
                if out.topic == TIMELINE:
                    pending.append(out.event)
                else:
                    outs.append(out)
        self.outputs += outs
        return outs

    def state(self, kind: str, subject: str) -> Any:
        """The state of one subject, or None."""
        return self.states.get(kind, {}).get(subject)
