"""The random draw (双随机、一公开), a pure and reproducible function of its published inputs.

`candidates` turns the enterprises' files into integer weights (risk class
times history, from rules/plan.yaml), leaving out key enterprises (they are
inspected on a fixed cycle), closed ones and those not registered. `select`
then draws, using only integers and SHA-256 so that an auditor in any language
gets the same list:

- enterprises: at step i, r = SHA-256(seed ␟ period ␟ "enterprise" ␟ i) as a
  256-bit integer, modulo the total weight left; the candidate whose slice of
  the cumulative weights (in USCC order) holds r is drawn and leaves the pool;
- inspectors: for each drawn enterprise in draw order, among the pairs of
  inspectors with no declared conflict with it, under their load cap, and not
  the pair its previous draw sent, the pair with the least
  SHA-256(seed ␟ period ␟ uscc ␟ a ␟ b) (a < b) is sent.

`draw_event` records the result with everything needed to re-run it;
`rerun` does so from a recorded event and the roster.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from engine.contract.intake import law_enforcement
from engine.enterprise.coverage import enforced
from engine.enterprise.state import EnterpriseFile
from engine.kernel.ids import output_id
from engine.kernel.outputs import envelope
from engine.kernel.time import iso
from engine.plan.rules import Inspector, PlanRules

DRAWN_TYPE = "safety.inspection.drawn"
SCALE = 100  # weights are kept as integers: rules' weights times SCALE, rounded


class DrawError(ValueError):
    """A draw that cannot be made or re-run as asked (e.g. a roster that changed since)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An enterprise the draw may pick, with its integer weight."""

    uscc: str
    weight: int


def _sha(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest(), "big")


def weight_of(f: EnterpriseFile, rules: PlanRules, now: int) -> int:
    """An enterprise's integer weight: its risk class's weight times its history's multipliers."""
    w, h = rules.draw.weights, rules.draw.history
    value = getattr(w, f.risk_class) if f.risk_class else w.unclassified
    if f.overdue(now):
        value *= h.overdue_hazard
    if f.violations:
        value *= h.violated_order
    if f.inspections == 0:
        value *= h.never_inspected
    return max(1, round(value * SCALE))


def candidates(files: Iterable[EnterpriseFile], rules: PlanRules,
               now: int) -> tuple[list[Candidate], dict[str, int]]:
    """The enterprises the draw may pick, in USCC order, and how many were left out and why."""
    out, excluded = [], {"key_enterprise": 0, "closed": 0, "unregistered": 0}
    for f in files:
        status = f.status()
        if status != "registered":
            excluded[status] += 1
        elif f.key:
            excluded["key_enterprise"] += 1  # inspected on its fixed cycle instead
        else:
            out.append(Candidate(f.id, weight_of(f, rules, now)))
    return sorted(out, key=lambda c: c.uscc), excluded


def pick_enterprises(seed: str, period: str, pool: list[Candidate], count: int) -> list[Candidate]:
    """`count` enterprises drawn without replacement, each step in proportion to its weight."""
    left = sorted(pool, key=lambda c: c.uscc)
    drawn = []
    for step in range(min(count, len(left))):
        r = _sha(seed, period, "enterprise", step) % sum(c.weight for c in left)
        for i, c in enumerate(left):
            if r < c.weight:
                drawn.append(left.pop(i))
                break
            r -= c.weight
    return drawn


def pick_pair(seed: str, period: str, uscc: str, roster: Iterable[Inspector], load: Mapping[str, int],
              cap: int, previous: tuple[str, str] | None) -> tuple[str, str] | None:
    """The pair sent to one enterprise, or None when no pair meets the constraints."""
    free = sorted(i.id for i in roster if uscc not in i.conflicts and load.get(i.id, 0) < cap)
    pairs = [p for p in combinations(free, 2) if previous is None or set(p) != set(previous)]
    return min(pairs, key=lambda p: _sha(seed, period, uscc, *p)) if pairs else None


def select(seed: str, period: str, pool: list[Candidate], roster: tuple[Inspector, ...],
           previous: Mapping[str, tuple[str, str]], count: int, cap: int) -> list[dict[str, Any]]:
    """The draw: enterprises in draw order, each with its pair of inspectors or why it has none."""
    load: dict[str, int] = {}
    picks = []
    for c in pick_enterprises(seed, period, pool, count):
        pair = pick_pair(seed, period, c.uscc, roster, load, cap, previous.get(c.uscc))
        pick: dict[str, Any] = {"uscc": c.uscc, "weight": c.weight}
        if pair is None:
            pick["inspectors"] = []
            pick["unassigned"] = ("no pair of inspectors is free of a declared conflict, under the "
                                  "load cap and other than the previous pair")
        else:
            pick["inspectors"] = list(pair)
            for i in pair:
                load[i] = load.get(i, 0) + 1
        picks.append(pick)
    return picks


def standing(draws: Iterable[Mapping[str, Any]], period: str) -> Mapping[str, Any] | None:
    """The draw of `period` that stands (events' data, in the order recorded): the first recorded.
    One draw per period: `plan draw --record` refuses a second (since 2026-12-07), since a draw that
    can be re-done until it suits is no random draw. Of two recorded before then, the first stands,
    for `plan publish` and `previous_pairs` alike (until then publish took the last, previous_pairs
    the first, so the next period's "never the same pair" checked another pair than was sent)."""
    return next((d for d in draws if d["period"] == period), None)


def previous_pairs(draws: Iterable[Mapping[str, Any]], period: str) -> dict[str, tuple[str, str]]:
    """Each enterprise's pair in the latest earlier draw that sent one (events' data, in the order
    recorded; of a period's draws only the one that stands, `standing`)."""
    latest: dict[str, tuple[str, tuple[str, str]]] = {}
    seen: set[str] = set()
    for d in draws:
        if d["period"] >= period or d["period"] in seen:
            continue  # a draw of this period or a later one is not "previous"; a second one never stood
        seen.add(d["period"])
        for p in d["picks"]:
            if len(p["inspectors"]) == 2 and (p["uscc"] not in latest or d["period"] > latest[p["uscc"]][0]):
                latest[p["uscc"]] = (d["period"], (p["inspectors"][0], p["inspectors"][1]))
    return {uscc: pair for uscc, (_, pair) in latest.items()}


def draw_event(seed: str, period: str, files: Iterable[EnterpriseFile], rules: PlanRules,
               earlier: Iterable[Mapping[str, Any]], now: int) -> dict[str, Any]:
    """The `safety.inspection.drawn` event of one period: its inputs, its method and its picks."""
    pool, excluded = candidates(files, rules, now)
    prev = previous_pairs(earlier, period)
    prev = {c.uscc: prev[c.uscc] for c in pool if c.uscc in prev}
    count, cap = rules.draw.per_period, rules.draw.max_per_inspector
    picks = select(seed, period, pool, rules.inspectors, prev, count, cap)
    inputs = {"candidates": [[c.uscc, c.weight] for c in pool],
              "previous": [[u, *pair] for u, pair in sorted(prev.items())],
              "per_period": count, "max_per_inspector": cap, "roster_digest": rules.roster_digest}
    draw_id = output_id("draw", period, seed, _sha(*(str(v) for v in inputs.values())))
    data = {"draw_id": draw_id, "period": period, "seed": seed, "rules_version": rules.version,
            "method": "engine/plan/draw.py (SHA-256, integer weights; see its docstring)",
            "excluded": excluded, "inputs": inputs, "picks": picks}
    return envelope(DRAWN_TYPE, draw_id, period, now, data)


def rerun(data: Mapping[str, Any], rules: PlanRules) -> list[dict[str, Any]]:
    """The picks a recorded draw's own inputs give with this roster (an auditor's re-run)."""
    inputs = data["inputs"]
    if inputs["roster_digest"] != rules.roster_digest:
        raise DrawError(f"the roster differs from the one draw {data['draw_id']} used "
                        f"(digest {inputs['roster_digest'][:12]}…, this one {rules.roster_digest[:12]}…): "
                        "re-run it with the roster of that time")
    pool = [Candidate(u, w) for u, w in inputs["candidates"]]
    prev = {u: (a, b) for u, a, b in inputs["previous"]}
    return select(data["seed"], data["period"], pool, rules.inspectors, prev, inputs["per_period"],
                  inputs["max_per_inspector"])


PUBLISHED_TYPE = "safety.inspection.published"


def publication(data: Mapping[str, Any], files: Mapping[str, EnterpriseFile], at: int,
                drawn_at: int) -> tuple[dict[str, Any] | None, list[str]]:
    """The `safety.inspection.published` event of a recorded draw (一公开), or the USCCs not inspected yet.

    Published only once every enterprise that was sent a pair has, on file, a law-enforcement
    inspection (an expert check is not one: the contract, section 3) in the draw's period, made at
    or after the draw (`drawn_at`, the draw event's time), done or refused (拒绝、阻碍检查: the
    refusal is its result, and the public is owed it as much as a finding); until then the list
    stays unpublished, so that no enterprise learns in advance that it was drawn. An inspection
    before the draw, or an expert's visit, is not the random check's result: until 2026-12-07 any
    inspection in the period was taken for it.
    """
    picks, missing = [], []
    for p in data["picks"]:
        f = files.get(p["uscc"])
        count = f.months.get(data["period"], 0) if f is not None else 0
        after = [t for t in (enforced(f) if f is not None else ())
                 if t >= drawn_at and iso(t)[:7] == data["period"]]
        refused = sorted((t, iid) for iid, t in (f.refusals.items() if f is not None else ())
                         if iso(t)[:7] == data["period"] and t >= drawn_at)
        if p["inspectors"] and not after and not refused:
            missing.append(p["uscc"])
            continue
        last = f.last_inspection if f is not None else None
        in_period = (last is not None and iso(last[0])[:7] == data["period"] and last[0] >= drawn_at
                     and law_enforcement(last[2]))
        picks.append({"uscc": p["uscc"], "name": f.name if f else None, "town": f.town if f else None,
                      "inspectors": p["inspectors"], "inspections_in_period": count,
                      "last_inspection": ({"inspection_id": last[1], "kind": last[2], "time": iso(last[0]),
                                           "findings": last[3]} if in_period else None),
                      "refused_in_period": [{"inspection_id": iid, "time": iso(t)} for t, iid in refused]})
    if missing:
        return None, missing
    eid = output_id("published", data["draw_id"])
    body = {"draw_id": data["draw_id"], "period": data["period"], "seed": data["seed"],
            "method": data["method"], "rules_version": data["rules_version"], "picks": picks,
            "inputs_sha256": hashlib.sha256(json.dumps(data["inputs"], sort_keys=True).encode()).hexdigest()}
    return envelope(PUBLISHED_TYPE, eid, data["period"], at, body), []
