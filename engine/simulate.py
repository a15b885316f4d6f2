"""A simulated district: field apps reporting, inspecting and rectifying, some on time, some late.

The demo, the crash test and the benchmarks draw their events from here. Every
event is a valid contract event with a time in simulated days; a seeded
random generator makes a workload repeatable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.contract.uscc import ALPHABET, check_character
from engine.ruleset.calendar import SHANGHAI

DAY = 86400
TOWNS = {
    "lihaiwu": ["LHW-01", "LHW-03"],
    "huxi": ["HX-11", "HX-12"],
    "zhulaozhuang": ["ZLZ-01", "ZLZ-02"],
    "yuji": ["YJ-01", "YJ-02"],
}
SECTORS = ["fire_safety", "hazardous_chemicals", "construction", "gas", "industry_trade",
           "special_equipment", "crowded_places", "road_transport"]
PROBLEMS = {
    "fire_safety": "Fire exit blocked by stacked goods",
    "hazardous_chemicals": "Storage tank level alarm disconnected",
    "construction": "Scaffold missing guard rails on level 3",
    "gas": "Gas pipe corroded at the meter",
    "industry_trade": "Dust collector without explosion venting",
    "special_equipment": "Elevator inspection certificate expired",
    "crowded_places": "Emergency lighting dark in the main hall",
    "road_transport": "Tanker parked without wheel chocks",
}


def make_uscc(rng: random.Random) -> str:
    """A random unified social credit code with a correct check character."""
    body = "913715" + "".join(rng.choice(ALPHABET) for _ in range(11))
    return body + check_character(body)


@dataclass(frozen=True, slots=True)
class Planned:
    """One event of the workload: when it happens (epoch seconds) and the CloudEvent."""

    at: int
    event: dict[str, Any]


class District:
    """Generates hazards and their lifecycles; `events()` returns them in time order."""

    def __init__(self, start: datetime, seed: int = 1, min_gap_days: float = 0.3,
                 office_hours: tuple[int, int] = (8, 17)) -> None:
        self.start = int(start.timestamp())
        self.office_hours = office_hours
        self.rng = random.Random(seed)
        self.min_gap = min_gap_days * DAY
        self.enterprises = [(make_uscc(self.rng), f"Enterprise {i} Co., Ltd.") for i in range(60)]
        self.planned: list[Planned] = []
        self._n = 0

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._n:06d}"

    def _work_time(self, t: float) -> int:
        # Field work happens in office hours, never at a deadline's 23:59:59.
        local = datetime.fromtimestamp(t, UTC).astimezone(SHANGHAI)
        first, last = self.office_hours
        hour = first + self.rng.random() * (last - first)
        moment = local.replace(hour=int(hour), minute=int(hour % 1 * 60), second=0, microsecond=0)
        if moment.timestamp() < t:
            moment += timedelta(days=1)
        return int(moment.timestamp())

    def _emit(self, at: float, type_: str, subject: str, data: dict[str, Any], app: str) -> int:
        at = self._work_time(at)
        event = {"specversion": "1.0", "id": self._id("ev"), "source": f"/apps/{app}",
                 "type": type_, "subject": subject, "data": data,
                 "time": datetime.fromtimestamp(at, UTC).astimezone(SHANGHAI).isoformat()}
        self.planned.append(Planned(at, event))
        return at

    def _later(self, t: int, lo: float, hi: float) -> float:
        return t + max(self.min_gap, self.rng.uniform(lo, hi) * DAY)

    def hazard(self, opened: float) -> None:
        """One hazard from opening to wherever its fate takes it."""
        r = self.rng
        sector = r.choice(SECTORS)
        town = r.choice(list(TOWNS))
        uscc, name = r.choice(self.enterprises)
        hid = self._id("HZ")
        location = {"town": town, "grid": r.choice(TOWNS[town])}
        enterprise = {"uscc": uscc, "name": name}
        major = r.random() < 0.1
        grade = "major" if major else "general"
        if r.random() < 0.35:  # found by a law-enforcement inspection: confirmed by it
            iid = self._id("INS")
            immediate = not major and r.random() < 0.2
            t = self._emit(opened, "safety.inspection.recorded", iid, {
                "inspection_id": iid, "kind": r.choice(["routine", "unannounced", "random_check"]),
                "inspectors": [{"id": "insp-1", "role": "inspector"}, {"id": "insp-2", "role": "inspector"}],
                "enterprise": enterprise, "location": location,
                "findings": [{"hazard_id": hid, "sector": sector, "grade": grade,
                              "clause": "安全生产法", "description": PROBLEMS[sector],
                              "immediate": immediate}]}, "inspector/1")
            if immediate:
                return
        else:
            t = self._emit(opened, "safety.hazard.reported", hid, {
                "hazard_id": hid, "title": PROBLEMS[sector], "description": PROBLEMS[sector],
                "sector": sector, "grade_claimed": grade, "found_via": "grid_patrol",
                "location": location, "enterprise": enterprise,
                "reporter": {"id": "gw-1", "role": "grid_worker"}}, "grid/1")
            fate = r.random()
            if fate < 0.08:
                return  # never verified: the department fails its duty
            verdict = "confirmed" if fate < 0.85 else r.choice(["unfounded", "duplicate"])
            data = {"hazard_id": hid, "verdict": verdict, "by": {"id": "sup-1", "role": "supervisor"}}
            if verdict == "confirmed":
                data["grade"] = grade
            elif verdict == "duplicate":
                data["duplicate_of"] = "HZ-000000"
            t = self._emit(self._later(t, 0.2, 4), "safety.hazard.verified", hid, data, "office/1")
            if verdict != "confirmed":
                return
        self._rectify(hid, t, major)

    def _rectify(self, hid: str, t: int, major: bool) -> None:
        r = self.rng
        by = {"id": "ent-1", "role": "enterprise"}
        window = 60 if major else 7
        if r.random() < 0.85:
            t = self._emit(self._later(t, 0.5, 2.5 if major else 3), "safety.rectification.planned",
                           hid, {"hazard_id": hid, "plan_summary": "Fix it", "responsible_person":
                                 "Manager Li", "target_date": datetime.fromtimestamp(
                                     t + window * DAY, UTC).astimezone(SHANGHAI).date().isoformat(),
                                 "by": by}, "enterprise/1")
        fate = r.random()
        if fate < 0.12:
            return  # never finished: the ladder climbs to red
        late = fate > 0.7
        done = self._later(t, window + 2 if late else 1, window + 12 if late else window - 1)
        for attempt in range(2):
            t = self._emit(done, "safety.rectification.completed", hid, {
                "hazard_id": hid, "note": "Done", "evidence": ["https://files.example.org/x.jpg"],
                "by": by}, "enterprise/1")
            if r.random() < 0.06:
                return  # never reviewed: the department fails its duty
            passed = attempt == 1 or r.random() > 0.2
            t = self._emit(self._later(t, 1, 8), "safety.rectification.reviewed", hid, {
                "hazard_id": hid, "outcome": "passed" if passed else "failed", "note": "Checked",
                "by": {"id": "insp-1", "role": "inspector"}}, "inspector/1")
            if passed:
                return
            done = self._later(t, 2, 9)

    def events(self, hazards: int, over_days: float) -> list[Planned]:
        """Generate `hazards` hazards opened evenly over `over_days`; return all events in order."""
        for i in range(hazards):
            self.hazard(self.start + (i + self.rng.random()) * over_days * DAY / hazards)
        return sorted(self.planned, key=lambda p: p.at)
