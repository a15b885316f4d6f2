"""An alert's state keeps a bounded number of reports and CAP messages, and decides as if it kept them all.

The unbounded core is the same code with `bounds.REPORTS_KEPT` raised past any
test's length: folding never happens, every report stays in `reports`.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

import pytest
from decide_fixtures import ENTERPRISE, RULES, at, event
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.alerts import Alert, AlertReplay, bounds, decide_alert, load_alert_rules
from engine.cap import validate as cap_validate
from engine.contract.outputs import ALERTS_CAP
from engine.feeds.filters import RecordPage
from engine.feeds.index import Place, PlaceIndex
from engine.feeds.views import alert_source, alert_view
from engine.kernel.state import MissingHistory, chunk_key
from engine.kernel.time import iso
from engine.ruletest.capview import cap_view
from engine.store import pack, unpack

REPO = Path(__file__).resolve().parents[2]
ALERT_RULES = load_alert_rules(REPO / "rules", RULES.reference)
DOWNGRADE = dataclasses.replace(ALERT_RULES, downgrade_allowed=True)
V1 = Path(__file__).parent / "testdata" / "states-v1"
START = at("2026-11-02 09:00")
OFFICER = {"id": "io-0101", "role": "info_officer", "name": "Chen Jie"}


@contextmanager
def kept(n: int):
    """Run the core with `n` figure reports kept (a huge `n`: the unbounded core)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bounds, "REPORTS_KEPT", n)
        yield


def _raised(aid: str, kind: str = "fire") -> dict[str, Any]:
    [entry] = event("safety.alert.raised", iso(START), {
        "alert_id": aid, "kind": kind, "description": "Smoke from a warehouse roof.",
        "location": {"town": "lihaiwu", "grid": "LHW-03", "address": "No. 8 Binhe Road"},
        "casualties": {"injured": 1}, "reporter": OFFICER, "enterprise": ENTERPRISE}, aid)
    return entry


def _update(aid: str, t: int, **data: Any) -> dict[str, Any]:
    [entry] = event("safety.alert.updated", iso(t), {"alert_id": aid, **data}, aid)
    return entry


def _closed(aid: str, t: int) -> dict[str, Any]:
    [entry] = event("safety.alert.closed", iso(t), {"alert_id": aid, "note": "over", "by": OFFICER}, aid)
    return entry


def replay(entries: list[dict[str, Any]], rules=ALERT_RULES) -> AlertReplay:
    rp = AlertReplay(rules)
    for entry in entries:
        rp.advance_to(at(entry["time"]))
        rp.feed(entry)
    rp.advance_to(at(entries[-1]["time"]) + 40 * 86_400)
    return rp


def facts(a: Alert) -> dict[str, Any]:
    """What the decisions read of an alert, and what a supervisor sees of it."""
    return {"grade": a.grade, "level": a.level, "demanded": a.demanded, "missed": a.missed,
            "figures": a.figures(), "status": a.status(), "clocks": a.clocks}


def outputs(rp: AlertReplay) -> list[tuple[int, str, str, Any]]:
    return [(t, o.topic, o.key, o.event) for t, o in rp.outputs]


FIGURES = st.fixed_dictionaries({"note": st.just("count")}, optional={
    "casualties": st.fixed_dictionaries({}, optional={
        "dead": st.sampled_from([0, 1, 3, 10, 30]), "missing": st.integers(0, 3),
        "seriously_injured": st.sampled_from([0, 5, 10, 50]), "injured": st.integers(0, 30)}),
    "estimated_loss_cny": st.sampled_from([0, 10_000_000, 60_000_000]),
    "people_to_evacuate": st.integers(0, 5000)})
# Update times in minutes after the raising, distinct, across the fire's 7-day re-grade window.
UPDATES = st.lists(st.tuples(st.integers(1, 12 * 24 * 60), FIGURES), min_size=6, max_size=30,
                   unique_by=itemgetter(0))


@settings(max_examples=40, deadline=None)
@given(UPDATES, st.data(), st.booleans(), st.booleans())
def test_folding_reports_decides_as_keeping_them_all(updates, data, downgrade, close) -> None:
    """Updates arriving up to REPORTS_KEPT reports late: the same outputs, grade, level, clocks and
    figures as the unbounded core, with at most REPORTS_KEPT reports kept."""
    aid, rules, keep = "AL-FOLD", DOWNGRADE if downgrade else ALERT_RULES, 4
    timed = sorted(updates)
    # Each update arrives at most keep - 1 places after its place in time order.
    jitter = data.draw(st.lists(st.floats(0, keep - 1), min_size=len(timed), max_size=len(timed)))
    order = sorted(range(len(timed)), key=lambda i: i + jitter[i])
    entries = [_raised(aid)] + [_update(aid, START + 60 * timed[i][0], **timed[i][1]) for i in order]
    if close:
        entries.append(_closed(aid, START + 60 * (timed[-1][0] + 1)))
    with kept(keep):
        bounded = replay(entries, rules)
    with kept(10**9):
        whole = replay(entries, rules)
    assert outputs(bounded) == outputs(whole)
    assert facts(bounded.states[aid]) == facts(whole.states[aid])
    assert len(bounded.states[aid].reports) <= keep
    assert bounded.states[aid].earlier is not None or len(whole.states[aid].reports) <= keep


@settings(max_examples=40, deadline=None)
@given(UPDATES, st.integers(0, 12 * 24 * 60))
def test_folding_decides_as_keeping_them_all_with_a_close_recorded_after_the_updates(updates, closed) -> None:
    """A close dated among the updates whose record comes after them all: the response level the
    figures dated from the close on activated is withdrawn, folded or not. Until 2026-12-07 the
    folded reports gave their highest band and evacuation figure whatever their date, so the level
    stood when they were folded and was withdrawn when they were kept."""
    aid, keep = "AL-FOLD-CLOSE", 4
    entries = [_raised(aid)] + [_update(aid, START + 60 * m, **f) for m, f in sorted(updates)]
    entries.append(_closed(aid, START + 60 * closed))
    with kept(keep):
        bounded = replay(entries)
    with kept(10**9):
        whole = replay(entries)
    assert outputs(bounded) == outputs(whole)
    assert facts(bounded.states[aid]) == facts(whole.states[aid])


def test_a_report_later_than_the_bound_still_counts_in_the_latest_figures_and_the_evacuation() -> None:
    """Beyond the bound the grading moment is approximate (bounds.py); the figures are not."""
    aid = "AL-LATE"
    entries = [_raised(aid)] + [_update(aid, START + 3600 * h, casualties={"injured": h})
                                for h in range(1, 12)]
    entries.append(_update(aid, START + 1800, people_to_evacuate=900, estimated_loss_cny=1_000))
    with kept(3):
        bounded = replay(entries).states[aid]
    with kept(10**9):
        whole = replay(entries).states[aid]
    assert bounded.figures() == whole.figures()
    assert bounded.figures().evacuate == 900 and bounded.figures().loss_cny == 1_000
    assert bounded.level == whole.level and bounded.grade == whole.grade
    assert len(bounded.reports) == 3


def test_a_report_later_than_the_bound_leaves_a_figure_a_later_folded_report_gave() -> None:
    """The loss was given by the first three updates (the last of them 300 CNY), all folded out of
    the bounded reports; a report dated before them, arriving last, gives 1,000 CNY. The latest
    loss is still 300, as with every report kept: an older report does not overwrite a newer
    figure because the newer one was folded."""
    aid = "AL-LOSS"
    entries = [_raised(aid)] + [_update(aid, START + 3600 * h, casualties={"injured": h},
                                        **({"estimated_loss_cny": 100 * h} if h <= 3 else {}))
                                for h in range(1, 12)]
    entries.append(_update(aid, START + 1800, estimated_loss_cny=1_000))
    with kept(3):
        bounded = replay(entries).states[aid]
    with kept(10**9):
        whole = replay(entries).states[aid]
    assert bounded.figures() == whole.figures() and bounded.figures().loss_cny == 300


def test_an_evacuation_figure_older_than_the_bound_still_raises_the_level() -> None:
    """Ten updates, then one dated ten minutes after the raising, arriving last (an app offline),
    that asked 1,500 people evacuated (≥ 1,000: one level higher). It is older than every kept
    report, so it is folded at once; the level is raised all the same, as with every report kept:
    the largest evacuation figure given counts."""
    aid = "AL-EVAC"
    updates = [_update(aid, START + 3600 * h, casualties={"injured": h}) for h in range(1, 11)]
    entries = [_raised(aid), *updates, _update(aid, START + 600, people_to_evacuate=1_500)]
    with kept(3):
        bounded = replay(entries).states[aid]
    with kept(10**9):
        whole = replay(entries).states[aid]
    assert whole.level == "III" and bounded.level == whole.level
    assert bounded.figures().evacuate == 1_500 and len(bounded.reports) == 3


def test_cap_updates_reference_the_alert_and_the_latest_message_only() -> None:
    """Two references at most, CAP 1.2 valid; the sequence goes on; the state keeps two messages."""
    aid = "AL-REFS"
    entries = [_raised(aid)] + [_update(aid, START + 600 * n, note=f"update {n}") for n in range(1, 6)]
    entries.append(_closed(aid, START + 4000))
    rp = replay(entries)
    documents = [o.event["xml"] for _, o in rp.outputs if o.topic == ALERTS_CAP]
    views = [cap_view(x) for x in documents]
    ids = [v["identifier"] for v in views]
    assert [v["sequence"] for v in views] == [1, 2, 3, 4, 5, 6, 7]
    assert [v["msgType"] for v in views] == ["Alert", *["Update"] * 5, "Cancel"]
    assert views[0]["references"] == [] and views[1]["references"] == [ids[0]]
    assert [v["references"] for v in views[2:]] == [[ids[0], ids[n - 1]] for n in range(2, 7)]
    assert all(cap_validate(x.encode()) == [] for x in documents)
    a = rp.states[aid]
    assert [c[1] for c in a.caps] == [ids[0], ids[-1]] and a.caps[-1][3] == "Cancel"
    # The feeds and the board still list every message sent: the history records each one.
    listed = alert_view(a, 0, RecordPage())["caps"]
    assert [(c["sequence"], c["identifier"], c["msg_type"]) for c in listed] == \
        [(v["sequence"], v["identifier"], v["msgType"]) for v in views]
    assert [c["sent"] for c in listed] == [v["sent"] for v in views]


def test_disaster_reports_keep_the_latest_and_a_final_one() -> None:
    """The clocks read whether a report came, whether a final one did and the latest time."""
    a = Alert("AL-D", opened="e0", opened_at=START, kind="flood",
              disaster_reports=[[START + n, f"e{n}", "final" if n == 2 else "update", "A"]
                                for n in range(1, 30)])
    bounds.bound(a, ALERT_RULES)
    assert len(a.disaster_reports) == bounds.DISASTER_REPORTS_KEPT
    assert a.disaster_reports[0][2] == "final" and a.disaster_reports[-1][0] == START + 29
    assert [r[0] for r in a.disaster_reports] == sorted(r[0] for r in a.disaster_reports)


def test_an_alert_stored_with_every_report_and_message_loads_and_is_bounded_on_its_next_write() -> None:
    """A state the code before the bounds stored (41 reports, 41 CAP messages, bench.core's alert):
    its next update continues the sequence, names the Alert and the 41st, and is stored bounded."""
    raw = (V1 / "alert-AL-HISTORY-41.state").read_bytes()
    old = unpack(raw, Alert, lazy=True)
    assert len(old.reports) == 41 and len(old.caps) == 41
    entry = _update("AL-HISTORY", old.reports[-1][0] + 6 * 3600, casualties={"injured": 2})
    with kept(10**9):
        whole, whole_outs = decide_alert(unpack(raw, Alert, lazy=True), entry, ALERT_RULES)
    new, outs = decide_alert(old, entry, ALERT_RULES)
    assert [(o.topic, o.event) for o in outs] == [(o.topic, o.event) for o in whole_outs]
    [cap] = [cap_view(o.event["xml"]) for o in outs if o.topic == ALERTS_CAP]
    assert cap["sequence"] == 42 and cap["references"] == [old.caps[0][1], old.caps[-1][1]]
    stored = unpack(pack(new), Alert, lazy=True)
    assert len(stored.reports) == bounds.REPORTS_KEPT and stored.earlier is not None
    assert [c[0] for c in stored.caps] == [1, 42]
    assert facts(stored) == facts(whole)
    # The state line is smaller; the history line (the record) gained the messages between.
    assert len(pack(new).split(b"\n")[1]) < len(raw.split(b"\n")[1]) / 2
    assert [c["sequence"] for c in alert_view(stored, 0, RecordPage())["caps"]] == list(range(1, 43))
    assert "caps" not in alert_view(stored, 0)  # a list's view: the history is not read
    # Through the feeds' source, its history in chunks apart as a worker stores it: a list's view
    # reads no chunk (none is there to read), one alert's view reads them all.
    chunks: dict[int, bytes] = {}
    table = {b"AL-HISTORY": pack(new, chunks=chunks)}
    history: dict[bytes, bytes] = {}
    index = PlaceIndex()
    index.put("AL-HISTORY", Place.of(stored.town(), (), None))
    source = alert_source(table, lambda: 0, index, ALERT_RULES.reference, history)
    assert chunks and "caps" not in source.get("AL-HISTORY")
    with pytest.raises(MissingHistory):
        source.get("AL-HISTORY", RecordPage())
    history.update({chunk_key(b"AL-HISTORY", n): value for n, value in chunks.items()})
    one = source.get("AL-HISTORY", RecordPage())
    assert [c["sequence"] for c in one["caps"]] == list(range(1, 43))
    assert one["record_total"] == len(stored.timeline()) and one["record_first"] == 0


@pytest.mark.parametrize("rules", [ALERT_RULES, DOWNGRADE], ids=["held", "downgrade"])
def test_every_kept_report_past_the_window_grades_by_the_folded_moments(rules) -> None:
    """10 dead, then 3 dead inside the fire's 7 days, then figures past them: held, the grade stays
    major; with downgrade allowed, the last moment inside the window (3 dead: large) decides."""
    aid = "AL-WINDOW"
    entries = [_raised(aid), _update(aid, START + 3600, casualties={"dead": 10}),
               _update(aid, START + 7200, casualties={"dead": 3})]
    entries += [_update(aid, START + 8 * 86_400 + 3600 * h, casualties={"dead": 1}) for h in range(6)]
    with kept(4):
        bounded = replay(entries, rules)
    with kept(10**9):
        whole = replay(entries, rules)
    assert all(r[0] > START + 7 * 86_400 for r in bounded.states[aid].reports)
    assert facts(bounded.states[aid]) == facts(whole.states[aid])
    assert outputs(bounded) == outputs(whole)
    assert bounded.states[aid].grade == ("large" if rules.downgrade_allowed else "major")


@settings(max_examples=30, deadline=None)
@given(UPDATES, st.booleans(), st.lists(st.integers(0, 40), max_size=5))
def test_an_owned_alert_decision_matches_the_copying_one(updates, close, again) -> None:
    """Handed over (`owned`, as the replays do), the alert core gives the same outputs and stored
    bytes as the copying core, entry by entry, and a re-delivered entry returns the state given."""
    aid = "AL-OWNED"
    entries = [_raised(aid)] + [_update(aid, START + 60 * t, **figures) for t, figures in sorted(updates)]
    if close:
        entries.append(_closed(aid, START + 60 * (max(t for t, _ in updates) + 1)))
    entries += [entries[i % len(entries)] for i in again]  # re-deliveries, decided after the rest
    copied = owned = None
    for entry in entries:
        want, want_outs = decide_alert(copied, entry, ALERT_RULES)
        handed = None if owned is None else unpack(pack(owned), Alert, lazy=True)
        got, outs = decide_alert(handed, entry, ALERT_RULES, owned=True)
        assert [(o.topic, o.key, o.event) for o in outs] == [(o.topic, o.key, o.event) for o in want_outs]
        assert (got is handed) == (want is copied and copied is not None)
        assert pack(got) == pack(want)
        copied, owned = want, got
