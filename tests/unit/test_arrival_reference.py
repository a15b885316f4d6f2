"""A fault run is judged by when its events reached the broker, where that lawfully changes a subject.

The fault cases with a running clock compare the engine with a reference that
has every event reach the engine before any later deadline. A publisher held
up on a busy machine appends an event after such a deadline, and the engine
may then decide it after the deadline fired: a second lawful outcome for that
subject (`faults.scenario.arrival_reference`, `lawful`). These tests play
the engine's outcomes with the pure core and check that the accounting takes
either lawful outcome and still reports any other.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from faults.scenario import START, Observed, Reference, account, arrival_reference, reference_run

from engine.clocks.timesource import ScaledTime
from engine.ruleset import load_rules
from engine.simulate import DAY, District, Planned

REPO = Path(__file__).resolve().parents[2]
RULES = load_rules(REPO / "rules")
S0 = int(START.timestamp())
END = S0 + 40 * DAY
EVENTS = [p for p in District(START, seed=7, min_gap_days=7, office_hours=(8, 12)).events(30, 12)
          if p.at < END - DAY]
CLOCK = ScaledTime(S0, 1_000_000.0, DAY / 4.0, float(END))  # four real seconds a simulated day
WANT = reference_run(EVENTS, END, RULES)
HELD_UP = 3 * DAY  # how long the publisher sat on one event, in simulated seconds


def _delayed(event: Planned) -> list[Planned]:
    return sorted([Planned(p.at + HELD_UP, p.event) if p is event else p for p in EVENTS],
                  key=lambda p: p.at)


def _changing() -> Planned:
    """The first completion claim that, appended three days late, ends its hazard otherwise."""
    for p in EVENTS:
        if p.event["type"].endswith("completed"):
            late = reference_run(_delayed(p), END, RULES)
            if late.output_ids != WANT.output_ids:
                return p
    raise AssertionError("no claim in the district changes its hazard when it comes late")


CLAIM = _changing()
HAZARD = CLAIM.event["subject"]


def _run(held_up: Planned | None) -> Any:
    """A run whose publisher appended every event a tenth of a second after its time, but
    `held_up` three simulated days late."""
    records = []
    for p in EVENTS:
        at = p.at + (HELD_UP if p is held_up else 0)
        records.append(SimpleNamespace(value=json.dumps(p.event).encode(),
                                       timestamp=int((CLOCK.real_time_of(at) + 0.1) * 1000)))
    return SimpleNamespace(observed=SimpleNamespace(intake=records), clock=CLOCK)


def _engine(outcome: Reference) -> Observed:
    """What a run left on the broker, for the accounting of states and outputs: `outcome`'s."""
    return Observed([], [], [], [], sorted(outcome.output_ids), outcome.hazards, outcome.alerts)


def _account(outcome: Reference, run: Any) -> Any:
    ns = SimpleNamespace(prefix="t.")
    return account(ns, _engine(outcome), RULES, WANT, "arrival", 0,
                   late=arrival_reference(EVENTS, run, END, RULES))


def test_a_claim_appended_after_its_deadline_may_be_decided_after_it() -> None:
    """The claim held up past its hazard's deadline, the engine firing the deadline first: the
    hazard is judged by arrival, and nothing is missing or extra."""
    engine = reference_run(_delayed(CLAIM), END, RULES)
    acc = _account(engine, _run(CLAIM))
    assert acc.problems == []
    assert acc.extras["judged_by_arrival"] == 1 and acc.extras["by_arrival"] == [HAZARD]
    assert acc.extras["publisher_late_s"] == HELD_UP / DAY * 4.0 + 0.1


def test_or_before_it_when_the_engine_met_it_first() -> None:
    """The same late claim decided before the deadline (a worker catching up on a backlog) is
    the planned outcome, judged as always."""
    acc = _account(WANT, _run(CLAIM))
    assert acc.problems == []
    assert acc.extras["judged_by_arrival"] == 0


def test_a_deadline_fired_before_a_claim_on_the_broker_in_time_is_reported() -> None:
    """The claim appended in time, the engine deciding it after the deadline anyway: a fault of
    the engine's, reported as outputs extra and a state that differs."""
    engine = reference_run(_delayed(CLAIM), END, RULES)
    acc = _account(engine, _run(None))
    assert acc.extras["judged_by_arrival"] == 0
    assert acc.extra and acc.states_differ == 1
    assert any(f"hazard {HAZARD} differs" in p for p in acc.problems)


def test_an_outcome_of_neither_reference_is_reported() -> None:
    """The claim held up, but the engine's hazard ending as neither run gives it: reported."""
    engine = reference_run(_delayed(CLAIM), END, RULES)
    other = next(s for s in WANT.hazards if s != HAZARD)
    hazards = dict(engine.hazards)
    hazards[HAZARD] = WANT.hazards[other]
    mixed = Reference(hazards, {}, engine.output_ids, engine.sent_by)
    acc = _account(mixed, _run(CLAIM))
    assert acc.extras["judged_by_arrival"] == 0
    assert any(f"hazard {HAZARD} differs" in p for p in acc.problems)


def test_every_output_of_a_reference_is_some_subjects() -> None:
    """The outputs by subject are the reference's outputs, none left out."""
    assert set().union(*WANT.sent_by.values()) == WANT.output_ids
    assert {kind for kind, _ in WANT.sent_by} == {"hazard"}
