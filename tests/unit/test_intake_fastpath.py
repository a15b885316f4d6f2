"""The fast accept path and pydantic agree on every record: same outcome, same bytes, same reasons.

`decide_intake` tries `engine.intake.fast` first and falls back to pydantic;
here each record also goes through pydantic alone (the fast path switched off
by monkeypatching, a test hook that lives here) and the two outcomes must be
equal in every field. The records are the fault suite's fuzz generator's:
schema-valid events, single mutations of them, raw bytes, hostile keys and
headers, null keys; plus hand-made edge cases of the shapes the fast path
reads (numbers, times, optional fields, actors) that sit just inside or just
outside the contract.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from typing import Any

import pytest
from faults.fuzzgen import records

from bench import core
from bench.workload import START, build
from engine.contract.envelope import EVENT_TYPES
from engine.intake import fast, process
from engine.intake.process import Outcome, Record, decide_intake
from engine.ruleset import load_rules
from engine.settings import Settings

# INTAKE_FUZZED=1000000 runs a deeper comparison locally (about 3 minutes; fewer than the default may
# not exercise both paths enough for the checks below); CI runs the default.
FUZZED = int(os.environ.get("INTAKE_FUZZED", "20000"))
PARTITIONS = 3


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules(Settings().rules_dir)


def _home(subject: str) -> int:
    return zlib.crc32(subject.encode("utf-8")) % PARTITIONS


class Both:
    """Runs each record through both paths, each with its own de-duplication marks."""

    def __init__(self, known: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.known = known
        self.monkeypatch = monkeypatch
        self.marks: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self.fast_accepts = Counter[str]()
        real = fast.accept

        def counting(*args: Any) -> Any:
            result = real(*args)
            if result is not None:
                self.fast_accepts[result.event_type.name] += 1
            return result

        monkeypatch.setattr(fast, "accept", counting)

    def _one(self, record: Record, topic: str, marks: dict[str, str]) -> Outcome | str:
        try:
            outcome = decide_intake(record, marks.get, self.known, contract_topic=topic, home=_home)
        except Exception as exc:  # the runtime turns it into a processing_error; both must raise alike
            return f"raised {type(exc).__name__}: {exc}"
        if outcome.remember is not None:
            marks[outcome.remember[0]] = outcome.remember[1]
        return outcome

    def check(self, record: Record) -> Outcome | str:
        """The record's outcome, the same on the fast path and on pydantic's alone."""
        quick = self._one(record, record.topic, self.marks[0])
        with self.monkeypatch.context() as m:
            m.setattr(process, "_fast", lambda *args: None)
            slow = self._one(record, record.topic, self.marks[1])
        assert quick == slow, (record, quick, slow)
        return quick


def test_fuzzed_records_agree(rules: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`FUZZED` fuzzed records (20,000 unless told): each gets the same outcome, sends and reasons on
    both paths."""
    both = Both(rules.reference, monkeypatch)
    kinds = Counter[str]()
    for offset, fz in enumerate(records(FUZZED, sorted(rules.reference.towns))):
        record = Record(fz.topic, offset % PARTITIONS, offset, fz.key, fz.value,
                        1_788_000_000_000 + offset, tuple(fz.headers))
        outcome = both.check(record)
        kinds[outcome.kind if isinstance(outcome, Outcome) else "raised"] += 1
    assert sum(kinds.values()) == FUZZED
    # Both paths were really exercised: pydantic rejected and accepted, the fast path accepted
    # thousands. Schema-drawn inspections seldom also meet the model's own rules (two officers,
    # one hazard a finding), and how many do varies with Hypothesis's draws, so inspections are
    # not required here; the edge cases below accept them on both paths.
    assert kinds["rejected"] > 1000 and kinds["accepted"] > 1000, kinds
    assert sum(both.fast_accepts.values()) > 1000, both.fast_accepts
    assert set(both.fast_accepts) >= set(fast._DATA) - {"safety.inspection.recorded"}, both.fast_accepts


def _edge_cases() -> list[tuple[str, dict[str, Any]]]:
    """Workload events with one field set to a value at or past an edge of what the contract allows."""
    base: dict[str, dict[str, Any]] = {}
    values = [item.value for item in build(400)] + [value for _, value in core.hazard_events(3)]
    for value in values:  # the workload has no progress reports; the history bench has
        event = json.loads(value)
        base.setdefault(event["type"], event)
    times = ["2026-11-30T09:12:00.5+08:00", "2026-11-30T09:12:00.1234567+08:00", "2026-11-30T09:12:00z",
             "2026-11-30t09:12:00Z", "2026-11-30 09:12:00Z", "2026-11-30T09:12:00+0800",
             "2026-11-30T09:12:00+08", "2026-11-30T24:00:00Z", "2026-11-30T23:59:60Z",
             "2026-02-30T09:12:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59",
             "2026-11-30T09:12:00+23:59", "2026-11-30T09:12:00-00:00", "２０２６-11-30T09:12:00Z",
             "2026-11-30T09:12:00.000000Z", "2026-11-30T09:12Z", "2026-11-30",
             # the fast path keeps a +08:00 time as sent from 1992 to 2099 (no summer time since)
             "1991-07-01T12:00:00+08:00", "1991-12-31T23:59:59+08:00", "1992-01-01T00:00:00+08:00",
             "2099-12-31T23:59:59+08:00", "2100-01-01T00:00:00+08:00", "2026-02-29T09:00:00+08:00",
             "2026-11-30T09:12:00.000000+08:00", "2026-11-30T09:12:00.250+08:00",
             # the contract's span of dates (1901 to 2199); beyond it, near year 1 or 9999, the
             # hour in Asia/Shanghai overflowed and both paths raised
             "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "1900-12-31T23:59:59+08:00",
             "1901-01-01T00:00:00+08:00", "1901-01-01T00:00:00+14:00", "2199-12-31T23:59:59-10:00",
             "2200-01-01T00:00:00+08:00"]
    deadlines = ["2026-12-01", "2026-12-01T10:00:00", "2026-12-01T10:00:00+08:00", "20261201",
                 "2026-W49-1", "2026-12-01T10:00:00.123456789+08:00", 20261201, None, "", "2026-13-01",
                 "2026-12-01T00:00:00+08:00", "2026-11-30T16:00:00Z", "2026-12-01T00:00:00.000001+08:00",
                 "0001-01-02", "0001-01-01T00:00:00+14:00", "9999-12-31", "9999-12-31T23:59:59-10:00",
                 "2199-12-31", "2199-12-31T23:59:59-10:00", "2200-01-01", "1900-12-31T23:59:59+08:00"]
    numbers = [0, 1, -1, 0.0, -0.0, 1.5, 100, 101, 90, 90.0000001, -180, 1e300, True, False, "5", None]
    strings = ["", "x", "x" * 200, "x" * 201, "火" * 4000, "火" * 4001, 5, None, ["a"], {"a": 1}]
    actors = [{"id": "a", "role": "inspector"}, {"role": "public", "anonymous": True},
              {"role": "public", "anonymous": True, "name": "n"}, {"role": "inspector", "anonymous": True},
              {"role": "inspector"}, {"id": "a", "role": "boss"}, {"id": "a", "role": "expert", "x": 1},
              {"id": "a", "role": "expert", "anonymous": 0},
              {"id": None, "role": "public", "anonymous": True},
              {"id": "a", "role": "public", "anonymous": True},
              {"id": "a", "role": "inspector", "name": None, "anonymous": False}, "a", None]
    out: list[tuple[str, dict[str, Any]]] = []

    def vary(type_: str, path: tuple[str, ...], values: list[Any]) -> None:
        for value in values:
            event = json.loads(json.dumps(base[type_]))
            where = event
            for step in path[:-1]:
                where = where[step]
            where[path[-1]] = value
            if path != ("id",):  # a fresh id, so that no case is a duplicate of another
                event["id"] = f"edge-{len(out)}"
            out.append((type_, event))

    for type_ in base:
        vary(type_, ("time",), times)
        vary(type_, ("id",), strings)
        vary(type_, ("subject",), strings)
        vary(type_, ("specversion",), ["1.0", "1.1", 1.0, None])
        vary(type_, ("datacontenttype",), ["application/json", "text/plain"])
        vary(type_, ("extension",), ["x"])
        vary(type_, ("data", "extra"), ["x"])
        if "by" in base[type_]["data"]:
            vary(type_, ("data", "by"), actors)
    reported = "safety.hazard.reported"
    vary(reported, ("data", "location", "lat"), numbers)
    vary(reported, ("data", "location", "lon"), numbers)
    # A place with both coordinates, each at or past its bound (one alone is refused for the pair).
    place = {**base[reported]["data"]["location"], "lat": 30.0, "lon": 120.0}
    vary(reported, ("data", "location"), [{**place, axis: value}
                                          for axis, bound in (("lat", 90), ("lon", 180))
                                          for value in (bound, -bound, bound + 0.5, -bound - 0.5)])
    vary(reported, ("data", "location", "town"), ["nowhere", "", None, 5])
    vary(reported, ("data", "location", "address"), strings)
    vary(reported, ("data", "enterprise"), [None, {"uscc": "913715NL60ABF8TX61", "name": "E"},
                                           {"uscc": "913715NL60ABF8TX62", "name": "E"}, {"uscc": "x"}])
    vary(reported, ("data", "evidence"), [[], ["u"] * 100, ["u"] * 101, [""], None, "u", [1]])
    vary(reported, ("data", "rectify_by"), deadlines)
    vary(reported, ("data", "sector"), ["gas", "Gas", "", None])
    vary("safety.rectification.planned", ("data", "target_date"), deadlines)
    vary("safety.rectification.planned", ("data", "funds_cny"), numbers)
    vary("safety.rectification.progressed", ("data", "percent"), numbers)
    verified = "safety.hazard.verified"
    vary(verified, ("data", "lead_department"), [None, "no-such-department", 5])
    vary(verified, ("data", "grade"), [None, "general", "major", "minor"])
    vary(verified, ("data", "verdict"), ["confirmed", "unfounded", "duplicate"])
    vary(verified, ("data", "duplicate_of"), [None, base[verified]["data"]["hazard_id"], "HZ-OTHER"])
    vary("safety.rectification.reviewed", ("data", "by"), [{"id": "a", "role": r} for r in
                                                             ("inspector", "expert", "enterprise")])
    recorded = "safety.inspection.recorded"
    inspection = base[recorded]["data"]
    two = inspection["inspectors"][:2]
    finding = {"hazard_id": "HZ-EDGE-1", "sector": "gas", "grade": "general", "clause": "c",
               "description": "d"}
    vary(recorded, ("data", "inspectors"), [two[:1], two, [], two * 25, two * 26, [None], "x"])
    vary(recorded, ("data", "kind"), ["expert_check", "routine", "audit"])
    vary(recorded, ("data", "outcome"), ["completed", "refused", "Refused", None])
    vary(recorded, ("data", "findings"), [
        [], [finding], [finding, finding], [finding, {**finding, "hazard_id": "HZ-EDGE-2"}],
        [{**finding, "immediate": True}], [{**finding, "immediate": 1}], [{**finding, "rectify_by": d}
                                                                          for d in deadlines[:1]],
        [{**finding, "grade": "unknown"}], [{**finding, "extra": 1}], None, [finding] * 501,
        *([{**finding, "hazard_id": f"HZ-EDGE-{n}"} for n in range(many)] for many in (500, 501))])
    vary(recorded, ("data", "enterprise"), [None, {"uscc": "913715NL60ABF8TX61", "name": "E"}])
    raised, updated = "safety.alert.raised", "safety.alert.updated"
    counts = [0, 1, 1_000_000, 1_000_001, -1, 1.0, True, "3", None]
    vary(raised, ("data", "casualties"), [{}, {"dead": 1}, {"trapped": 2, "injured": 1}, {"dead": None},
                                          {"wounded": 1}, None, [], "x"])
    vary(raised, ("data", "casualties", "missing"), counts)
    vary(raised, ("data", "people_to_evacuate"), counts)
    vary(raised, ("data", "estimated_loss_cny"), numbers)
    vary(raised, ("data", "crowded_place"), [True, False, None, 1, "true"])
    vary(raised, ("data", "exercise"), [True, False, None, 0])
    vary(raised, ("data", "post"), ["A", "B", "C", "a", None, 1])
    vary(raised, ("data", "kind"), ["fire", "gas_leak", "other", "earthquake", "", None])
    vary(raised, ("data", "incident_class"), ["production_accident", "natural_disaster", "accident", None])
    vary(raised, ("data", "enterprise"), [None, {"uscc": "913715NL60ABF8TX61", "name": "E"},
                                          {"uscc": "913715NL60ABF8TX62", "name": "E"}])
    vary(raised, ("data", "description"), strings)
    vary(raised, ("data", "reporter"), actors)
    vary(raised, ("data", "location", "town"), ["nowhere", "", None])
    for data in ({}, {"note": None}, {"casualties": None, "note": None}, {"note": "n"},
                 {"casualties": {}}, {"casualties": {"injured": 3}}, {"estimated_loss_cny": 0},
                 {"people_to_evacuate": 0}, {"people_to_evacuate": -1}, {"note": ""}, {"unknown": 1}):
        event = json.loads(json.dumps(base[updated]))
        event["id"] = f"edge-{len(out)}"
        event["data"] = {"alert_id": event["data"]["alert_id"], **data}
        out.append((updated, event))
    vary("safety.alert.acknowledged", ("data", "unit"), strings)
    vary("safety.alert.closed", ("data", "note"), strings)
    for kind, outcome, findings in (("expert_check", "refused", []), ("routine", "refused", []),
                                    ("routine", "refused", [finding]), ("expert_check", "completed", [])):
        event = json.loads(json.dumps(base[recorded]))
        event["id"] = f"edge-{len(out)}"
        event["data"].update(kind=kind, outcome=outcome, findings=findings, inspectors=two[:1])
        out.append((recorded, event))
        event = json.loads(json.dumps(event))
        event["id"] = f"edge-{len(out)}"
        event["data"]["inspectors"] = two
        out.append((recorded, event))
    return out


def test_edge_cases_agree(rules: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values at the edges of the contract get the same outcome on both paths, accepted or not."""
    both = Both(rules.reference, monkeypatch)
    kinds = Counter[str]()
    topics = {t: e.topic for t, e in EVENT_TYPES.items()}
    cases = _edge_cases()
    start = int(START.timestamp() * 1000)
    for offset, (type_, event) in enumerate(cases):
        value = json.dumps(event, ensure_ascii=False).encode()
        key = event["subject"].encode() if isinstance(event.get("subject"), str) else None
        outcome = both.check(Record(topics[type_], 0, offset, key, value, start))
        kinds[outcome.kind if isinstance(outcome, Outcome) else "raised"] += 1
    assert kinds["accepted"] > 50 and kinds["rejected"] > 200, kinds
    assert kinds["raised"] == 0, kinds  # a record the contract refuses is rejected, never an engine failure
    assert set(both.fast_accepts) == set(fast._DATA), both.fast_accepts


def test_the_fast_path_gives_up_rather_than_reject() -> None:
    """It never judges a record bad: anything it cannot accept is None, for pydantic to judge."""
    assert fast.accept({"type": "safety.hazard.verified", "data": None}, "rectification.updates",
                       None, None) is None
    assert fast.accept({}, "hazard.reports", None, None) is None
