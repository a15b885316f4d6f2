"""What a core sends: one `Out` per record, each a CloudEvent from the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.contract.outputs import ENGINE_SOURCE
from engine.kernel.time import iso

# What an exercise's (演练) outputs begin their reason with, so nobody takes a drill for an accident.
EXERCISE = "[演练 EXERCISE] "


@dataclass(frozen=True, slots=True)
class Out:
    """One output record: its topic, its key, and the CloudEvent to write."""

    topic: str
    key: str
    event: dict[str, Any]

    @property
    def id(self) -> str:
        """The output's deterministic id."""
        return self.event["id"]


def envelope(type_: str, id_: str, subject: str, at: int, data: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvent around an output's data, with the engine as its source."""
    return {"specversion": "1.0", "id": id_, "source": ENGINE_SOURCE, "type": type_,
            "time": iso(at), "subject": subject, "datacontenttype": "application/json",
            "data": data}
