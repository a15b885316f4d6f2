"""Stored states: the bounded record of applied entries, the history kept apart, and old formats loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from decide_fixtures import (
    RULES,
    at,
    complete,
    plan,
    progress,
    report,
    review,
    verify,
)

from engine.alerts import Alert
from engine.decide.core import decide
from engine.decide.replay import clock_entry
from engine.decide.state import APPLIED, Hazard, entry_hash
from engine.enterprise.state import EnterpriseFile
from engine.kernel.state import CHUNK, MissingHistory, applied_before, chunk_key, hash_applied
from engine.kernel.time import epoch
from engine.store import FORMAT, StoredFormatError, header, pack, unpack
from engine.stream.runtime import MAX_BATCH

V0 = Path(__file__).parent / "testdata" / "states-v0"
V1 = Path(__file__).parent / "testdata" / "states-v1"
V2 = Path(__file__).parent / "testdata" / "states-v2"
V3 = Path(__file__).parent / "testdata" / "states-v3"
V4 = Path(__file__).parent / "testdata" / "states-v4"
V5 = Path(__file__).parent / "testdata" / "states-v5"
V7 = Path(__file__).parent / "testdata" / "states-v7"
V8 = Path(__file__).parent / "testdata" / "states-v8"
V9 = Path(__file__).parent / "testdata" / "states-v9"
V10 = Path(__file__).parent / "testdata" / "states-v10"
V11 = Path(__file__).parent / "testdata" / "states-v11"
V12 = Path(__file__).parent / "testdata" / "states-v12"
V13 = Path(__file__).parent / "testdata" / "states-v13"
V14 = Path(__file__).parent / "testdata" / "states-v14"
V15 = Path(__file__).parent / "testdata" / "states-v15"
TODAY = b'{"format":%d,' % FORMAT  # how a state stored today starts


def _story(hid: str) -> list[dict[str, Any]]:
    """A hazard's life with every kind of record in its history, a referral (evidence) included."""
    return [report(hid, "2026-11-02 09:00", sector="construction"),  # no verification: duty referral
            verify(hid, "2026-11-20 10:00"), plan(hid, "2026-11-21 09:00"),
            progress(hid, "2026-11-23 09:00", 30), progress(hid, "2026-11-24 09:00", 60),
            complete(hid, "2026-11-25 09:00"), review(hid, "2026-11-26 09:00", "failed"),
            complete(hid, "2026-11-30 09:00"), review(hid, "2026-12-01 09:00", "passed")]


def test_the_window_of_applied_entries_covers_a_whole_batch() -> None:
    """A copy comes at most one batch after its original (docs/redelivery.md): the window holds a batch."""
    assert APPLIED >= MAX_BATCH


def _sourceless(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry without the intake record it came from: one the window of hashes keeps (an entry
    with a source is kept by its record instead: tests/unit/test_redelivery_sources.py)."""
    return {k: v for k, v in entry.items() if k != "origin"}


def test_a_state_keeps_only_the_latest_applied_hashes_and_still_refuses_a_recent_copy() -> None:
    """Past APPLIED entries the oldest hashes leave; an entry applied lately is still refused."""
    first = report("HZ-W", "2026-11-02 09:00")
    h, _ = decide(None, first, RULES)
    h.applied = list(range(1, APPLIED + 1))  # as if APPLIED entries had been applied before
    entry = _sourceless(progress("HZ-W", "2026-11-03 09:00", 10))
    new, _ = decide(h, entry, RULES)
    assert len(new.applied) == APPLIED and new.applied[0] == 2
    assert new.applied[-1] == entry_hash(entry["entry_id"])
    again, outs = decide(new, entry, RULES)
    assert again is new and outs == []


def test_a_state_read_from_the_table_refuses_a_copy_its_stored_hashes_name() -> None:
    """Read lazily, the stored hashes stay bytes; a copy of an entry among them is still refused."""
    entries = [_sourceless(e) for e in _story("HZ-R")[:4]]
    h, _ = _chain(entries, stored=True)
    lazy = unpack(pack(h), lazy=True)
    assert lazy.applied == [] and len(lazy.applied_stored) == 8 * len(entries)
    for entry in entries:
        again, outs = decide(lazy, entry, RULES)
        assert again is lazy and outs == []
    # The first entry's hash across two slots (4 bytes in): not a hash the state holds.
    lazy.applied_stored = bytes(4) + entry_hash(entries[0]["entry_id"]).to_bytes(8, "big") + bytes(4)
    assert decide(lazy, entries[0], RULES)[0] is not lazy


def test_the_window_drops_stored_hashes_first_when_it_is_full() -> None:
    """With APPLIED hashes stored, one more applied drops the oldest stored one, not a new one."""
    h, _ = decide(None, report("HZ-S", "2026-11-02 09:00"), RULES)
    h.applied = list(range(1, APPLIED + 1))
    lazy = unpack(pack(h), lazy=True)
    entry = _sourceless(progress("HZ-S", "2026-11-03 09:00", 10))
    new, _ = decide(lazy, entry, RULES)
    assert len(new.applied_stored) == 8 * (APPLIED - 1) and new.applied == [entry_hash(entry["entry_id"])]
    assert unpack(pack(new)).applied == [*range(2, APPLIED + 1), entry_hash(entry["entry_id"])]


def _chain(entries: list[dict[str, Any]], stored: bool) -> tuple[Hazard, list[Any]]:
    """Decide entries one by one, the state going through the table's bytes (lazily) or not."""
    state: Any = None
    outs: list[Any] = []
    for entry in entries:
        if stored and state is not None:
            state = unpack(pack(state), lazy=True)
        state, more = decide(state, entry, RULES)
        outs += more
    return state, outs


def test_deciding_from_stored_bytes_with_the_history_undecoded_gives_the_same_outputs_and_state() -> None:
    """The lazy history changes nothing: same outputs (a referral's timeline included), same state."""
    entries = _story("HZ-L")
    entries.append(clock_entry("HZ-L", at("2027-03-01 00:00")))
    plain, plain_outs = _chain(entries, stored=False)
    lazy, lazy_outs = _chain(entries, stored=True)
    assert [o.event for o in lazy_outs] == [o.event for o in plain_outs]
    assert any(o.event["type"] == "safety.referral.discipline" for o in plain_outs)
    assert lazy.history_stored and len(lazy.history) < len(plain.history)  # only the new part decoded
    assert lazy.timeline() == plain.history and lazy.encode() == plain.encode()
    assert unpack(pack(lazy)) == plain  # read whole, as show and the feeds read it


def test_a_stored_state_keeps_its_header_and_names_its_format() -> None:
    """The header reads as before; the state line says its format, names every place, holds no history."""
    entries = _story("HZ-H")
    entries[:2] = map(_sourceless, entries[:2])  # two of its entries kept by their hashes
    h, _ = _chain(entries, stored=False)
    raw = pack(h, b"summary", b"place")
    assert header(raw) == (h.next_due(), b"summary", b"place")
    _, state, history, hashes = raw.split(b"\n", 3)
    assert state.startswith(TODAY) and b'"history"' not in state and b'"applied"' not in state
    assert b'"applied_from":{"rectification.updates/0":{"starts":[' in state
    assert len(h.applied) == 2 and hashes == b"".join(tag.to_bytes(8, "big") for tag in h.applied)  # raw
    assert state.endswith(b'"history_kept":{"chunks":0,"tail":%d}}' % len(h.history))
    assert b'"enterprise":{"uscc":"91371500MA3C4XK2N2","name":' in state
    assert history.startswith(b'[{"time":') and unpack(raw) == h


def test_a_state_of_an_unknown_format_is_refused_with_a_clear_error() -> None:
    """A state written by a newer engine names its format instead of loading wrongly."""
    readable = "this engine reads formats 0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15 and 16"
    with pytest.raises(StoredFormatError, match=f"format 17; {readable}"):
        unpack(b'\n{"format":17,"id":"HZ-1"}\n[]')


@pytest.mark.parametrize("path", sorted(V0.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_before_the_format_was_versioned_still_load(path: Path) -> None:
    """Format 0 (written by commit 2fbe3f1): each loads to the state it encoded, whole or lazily."""
    kind = Alert if path.name.startswith("alert-") else Hazard
    want = kind.decode(path.with_suffix(".json").read_bytes())
    raw = path.read_bytes()
    assert unpack(raw, kind) == want
    assert unpack(raw, kind, lazy=True) == want
    assert header(raw)[0] == want.next_due()
    assert unpack(pack(want), kind) == want  # and it goes on in format 2


# --- format 2: the history in chunks apart -------------------------------------------------------


def _stored_chain(entries: list[dict[str, Any]], history: dict[bytes, bytes],
                  key: bytes) -> tuple[Any, list[Any], list[int]]:
    """As `_chain(stored=True)`, the history's chunks kept in `history` as the worker keeps them.

    Also returns how many chunks each decision wrote.
    """
    state: Any = None
    outs: list[Any] = []
    written = []
    for entry in entries:
        state, more = decide(state, entry, RULES)
        outs += more
        chunks: dict[int, bytes] = {}
        raw = pack(state, chunks=chunks)
        for n, value in chunks.items():
            assert chunk_key(key, n) not in history  # a chunk is written once
            history[chunk_key(key, n)] = value
        written.append(len(chunks))
        state = unpack(raw, lazy=True, history=history)
    return state, outs, written


def _long_story(hid: str, progresses: int) -> list[dict[str, Any]]:
    """A report, many progress reports, then the story's end and a clock that refers it for its
    duty failure: the referral's evidence is the whole timeline, read from the chunks."""
    story = _story(hid)
    extra = [progress(hid, f"2026-11-{3 + i // 24:02d} {i % 24:02d}:30", i % 100) for i in range(progresses)]
    return [story[0], *extra, *story[1:], clock_entry(hid, at("2027-03-01 00:00"))]


def test_a_long_history_goes_into_chunks_and_decides_exactly_as_a_history_kept_whole() -> None:
    """Same outputs (a referral's whole timeline included) and same state; one chunk per CHUNK items."""
    entries = _long_story("HZ-C", 300)
    plain, plain_outs = _chain(entries, stored=False)
    history: dict[bytes, bytes] = {}
    lazy, lazy_outs, written = _stored_chain(entries, history, b"HZ-C")
    assert [o.event for o in lazy_outs] == [o.event for o in plain_outs]
    referrals = [o.event for o in plain_outs if o.event["type"] == "safety.referral.discipline"]
    assert referrals and len(referrals[0]["data"]["timeline"]) > CHUNK  # a chunk read for evidence
    assert lazy.timeline() == plain.history and lazy.encode() == plain.encode()
    kept = len(plain.history) // CHUNK
    assert sorted(history) == sorted(chunk_key(b"HZ-C", n) for n in range(kept))
    assert max(written) == 1 and sum(written) == kept  # a decision writes at most one chunk
    raw = pack(lazy, chunks={})
    assert unpack(raw, history=history) == plain  # read whole, as show and the feeds read it
    assert len(raw) < len(pack(plain)) / 2  # the record holds the tail only


def test_the_stored_record_stays_bounded_however_long_the_history() -> None:
    """From 100 to 600 events of history the record does not grow past its tail's CHUNK items."""
    entries = _long_story("HZ-B", 600)[:-7]
    sizes: list[int] = []
    state: Any = None
    history: dict[bytes, bytes] = {}
    for entry in entries:
        state, _ = decide(state, entry, RULES)
        chunks: dict[int, bytes] = {}
        raw = pack(state, chunks=chunks)
        history.update((chunk_key(b"HZ-B", n), v) for n, v in chunks.items())
        sizes.append(len(raw))
        state = unpack(raw, lazy=True, history=history)
    assert state.history_stored.items == len(state.timeline()) > 600
    assert state.history_stored.tail_items < CHUNK
    assert max(sizes[100:]) < 2 * max(sizes[:CHUNK])


def test_a_state_whose_chunks_are_missing_says_so_instead_of_loading_a_short_history() -> None:
    """Read whole without its history table, or with a chunk gone, a state raises MissingHistory."""
    entries = _long_story("HZ-X", 100)[:-7]
    history: dict[bytes, bytes] = {}
    lazy, _, _ = _stored_chain(entries, history, b"HZ-X")
    raw = pack(lazy, chunks={})
    with pytest.raises(MissingHistory, match="no history table"):
        unpack(raw)
    del history[chunk_key(b"HZ-X", 0)]
    with pytest.raises(MissingHistory, match="chunk 0 of 1 is not in the history table"):
        unpack(raw, history=history)


def test_packed_without_a_place_for_chunks_a_state_keeps_its_whole_history_in_the_record() -> None:
    """Tools and tests that pack a state alone get a record that needs no history table."""
    entries = _long_story("HZ-W2", 100)[:-7]
    history: dict[bytes, bytes] = {}
    lazy, _, _ = _stored_chain(entries, history, b"HZ-W2")
    assert lazy.history_stored.chunks == 1
    whole = pack(lazy)
    assert b'"history_kept":{"chunks":0,' in whole
    assert unpack(whole).history == lazy.timeline()


@pytest.mark.parametrize("path", sorted(V1.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_1_load_and_move_their_history_into_chunks_on_the_next_write(
        path: Path) -> None:
    """Format 1 (written by commit 7acaba8, the whole history on the record's last line) loads whole
    and lazily; packed again with a place for chunks its full chunks leave the record."""
    kind = Alert if path.name.startswith("alert-") else Hazard
    want = kind.decode(path.with_suffix(".json").read_bytes())
    raw = path.read_bytes()
    assert raw.split(b"\n")[1].startswith(b'{"format":1,')
    assert unpack(raw, kind) == want
    lazy = unpack(raw, kind, lazy=True)
    assert lazy.timeline() == want.history and lazy.encode() == want.encode()
    chunks: dict[int, bytes] = {}
    again = pack(lazy, chunks=chunks)
    assert sorted(chunks) == list(range(len(want.history) // CHUNK))
    history = {chunk_key(want.id.encode(), n): v for n, v in chunks.items()}
    assert unpack(again, kind, history=history) == want
    assert unpack(again, kind, lazy=True, history=history).timeline() == want.history


@pytest.mark.parametrize("path", sorted(V2.glob("*.state")), ids=lambda p: p.stem)
def test_enterprise_files_stored_in_format_2_load_and_are_stored_by_rows_next(path: Path) -> None:
    """Format 2 (written by commit be2d994: an enterprise file's open hazards and orders a dict each)
    loads to the file it stored; stored again, those maps go as rows under their column names and
    read back the same."""
    want = EnterpriseFile.decode(path.with_suffix(".json").read_bytes())
    raw = path.read_bytes()
    assert raw.split(b"\n")[1].startswith(b'{"format":2,')
    assert unpack(raw, EnterpriseFile) == want
    again = pack(want, b"summary", b"place")
    line = again.split(b"\n")[1]
    assert line.startswith(TODAY)
    assert b'"hazards":{"columns":["status","grade","deadline",' in line and b'"rows":{"HZ-' in line
    if want.orders:
        assert b'"orders":{"columns":["order","hazard_id","at"],"rows":{"' in line
    assert unpack(again, EnterpriseFile) == want
    assert header(again) == (want.next_due(), b"summary", b"place")


@pytest.mark.parametrize("path", sorted(V2.glob("*.state")), ids=lambda p: p.stem)
def test_an_enterprise_files_applied_hashes_go_raw_on_the_last_line_and_the_base64_ones_still_load(
        path: Path) -> None:
    """Stored before 2026-12-01, an enterprise file's hashes were base64 inside its JSON (these
    format-2 records have them); stored now, they are the record's last line, 8 raw bytes each
    after an empty history line, as a hazard's are, and read back the same, decoded or kept as bytes."""
    want = EnterpriseFile.decode(path.with_suffix(".json").read_bytes())
    old = path.read_bytes()
    assert b'"applied":"' in old.split(b"\n")[1] and want.applied
    again = pack(unpack(old, EnterpriseFile, lazy=True))
    head, line, history, hashes = again.split(b"\n", 3)
    assert b'"applied"' not in line and history == b"[]"
    assert hashes == b"".join(tag.to_bytes(8, "big") for tag in want.applied)
    assert unpack(again, EnterpriseFile) == want
    lazy = unpack(again, EnterpriseFile, lazy=True)
    assert lazy.applied_stored == hashes and lazy.applied == []
    assert pack(lazy) == again


def test_a_plan_towns_applied_hashes_go_raw_on_the_last_line_too() -> None:
    from engine.plan.tracking import PlanTown
    town = PlanTown("2026/huxi", year=2026, town="huxi", done={"2026-01": 3}, applied=[1, 2**64 - 1, 7])
    raw = pack(town)
    assert b'"applied"' not in raw.split(b"\n")[1] and raw.split(b"\n", 3)[2] == b"[]"
    assert unpack(raw, PlanTown) == town
    assert pack(PlanTown("2026/huxi", year=2026, town="huxi")).count(b"\n") == 1  # no hashes: two lines


@pytest.mark.parametrize("path", sorted(V3.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_3_load_refuse_their_copies_and_are_stored_anew(path: Path) -> None:
    """Format 3 (written by commit 1e14391, no records by source): each loads to the state it
    stored, with none, and still holds the hash of every entry it applied (which refuses a copy
    with a source too: tests/unit/test_redelivery_sources.py); stored again it is in today's
    format and reads back the same."""
    kind = {"alert": Alert, "hazard": Hazard, "enterprise": EnterpriseFile}[path.name.split("-", 1)[0]]
    want = kind.decode(path.with_suffix(".json").read_bytes())
    raw = path.read_bytes()
    assert raw.split(b"\n")[1].startswith(b'{"format":3,')
    assert unpack(raw, kind) == want and want.applied_from == {} and want.applied
    lazy = unpack(raw, kind, lazy=True)
    assert all(hash_applied(lazy, tag) for tag in want.applied)
    again = pack(lazy)
    assert again.split(b"\n")[1].startswith(TODAY)
    assert unpack(again, kind) == want


@pytest.mark.parametrize("path", sorted(V4.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_4_load_refuse_their_copies_and_store_their_rows_as_they_are(
        path: Path) -> None:
    """Format 4 (written by commit 333e3a9: lists and maps of positional rows by column) loads to
    the state it stored, records by source and all, and refuses a copy of what it applied; stored
    again it is the format of today, every list or map of rows under its column names, and reads back the
    same, whole and lazily."""
    kind = {"alert": Alert, "hazard": Hazard, "enterprise": EnterpriseFile}[path.name.split("-", 1)[0]]
    want = _places_added(kind.decode(path.with_suffix(".json").read_bytes()))
    raw = path.read_bytes()
    assert raw.split(b"\n")[1].startswith(b'{"format":4,')
    assert unpack(raw, kind) == want and want.applied_from
    lazy = unpack(raw, kind, lazy=True)
    source, runs = next(iter(want.applied_from.items()))
    entry_id = "any id: a record by source is known by its offset"
    assert applied_before(lazy, entry_id, (source, runs["starts"][-1]))
    again = pack(lazy, b"summary", b"place")
    line = again.split(b"\n")[1]
    assert line.startswith(TODAY) and header(again) == (want.next_due(), b"summary", b"place")
    rows = [name for name, (shape, _) in kind.NAMED.items() if shape != "one" and getattr(want, name)]
    assert all(b'"%s":{"columns":[' % name.encode() in line for name in rows)
    assert unpack(again, kind) == want and unpack(again, kind, lazy=True) == lazy


def test_rows_stored_under_other_column_names_are_read_by_name_or_refused() -> None:
    """A record of format 5 whose columns come in another order, or with one more, reads each row by
    name; one without a column this engine needs is refused, naming it."""
    f = EnterpriseFile(id="E1", orders={"ZL-1": ["stop_use", "HZ-1", 7]},
                       proposals=[[1, "EP-1", "fine", "HZ-1"]])
    line = b'{"format":5,"id":"E1","orders":{"columns":["at","order","extra","hazard_id"],' \
        b'"rows":{"ZL-1":[7,"stop_use",0,"HZ-1"]}},"proposals":{"columns":' \
        b'["proposal_id","time","hazard_id","measure"],"rows":[["EP-1",1,"HZ-1","fine"]]}}'
    assert unpack(b"\n" + line, EnterpriseFile) == f
    with pytest.raises(StoredFormatError, match="'E1': orders has no column 'hazard_id'"):
        unpack(b'\n{"format":5,"id":"E1","orders":{"columns":["order","at"],"rows":{"ZL-1":["x",7]}}}',
               EnterpriseFile)


# Each stored class's fields as of format 9, and the places of its positional rows. A field added,
# renamed or dropped is a new format: an engine that reads only this one would meet an unknown
# keyword (a TypeError) or miss a field. So is a place added to a row: such an engine would read the
# row by name and drop the place, and store it again without. Bump engine/store.py's FORMAT, add the
# format to READS and here, and say what changed in the module's docstring and docs/stored-state.md.
STORED_FIELDS: dict[str, set[str]] = {
    "Hazard": {
        "answers", "applied", "applied_from", "applied_stored", "approx", "arrived", "claimed", "clocks",
        "closed_at", "closed_how", "completed_at", "confirmed_by", "cycle", "cycle_start", "deadline",
        "duplicate_of", "duty_fails", "early", "enterprise", "ext", "ext_decided", "ext_fails", "failures",
        "grade", "held", "history", "history_stored", "id", "immediate", "lead", "lifted", "listed", "opened",
        "opened_at", "orders", "origin", "parked", "passed_at", "plan_fired", "plan_target", "planned_at",
        "point", "progress", "proposals", "rectify_by", "referred", "responsible", "review_fails", "sector",
        "seen", "step", "tier", "title", "town", "held_applied", "verdict", "verdicts", "verified_at",
        "verify_fails", "violations", "watermark"},
    "Alert": {
        "acked", "applied", "applied_from", "applied_stored", "caps", "clocks", "closed_at", "closed_by",
        "crowded", "demanded", "description", "disaster_reports", "dmissed", "dstep", "earlier",
        "enterprise", "exercise", "final_missed", "grade", "history", "history_stored", "id",
        "incident_class", "kind", "level", "location", "missed", "notified", "opened", "opened_at", "post",
        "parked", "reported", "reports", "routed", "seen", "step", "held_applied", "waiting", "watermark"},
    "EnterpriseFile": {
        "address", "alerts", "applied", "applied_from", "applied_stored", "classes", "classified", "clocks",
        "closed", "closed_at", "closed_in", "closed_reason", "closures", "cov_base", "cov_step", "credit",
        "credit_sets", "credit_withdrawn", "duty_fails", "first_registered", "hazards", "id", "inspected",
        "inspected_by", "inspections", "key", "last_alert", "last_inspection", "legal_representative",
        "missed", "months", "name", "notices", "open_beyond", "orders", "overdue_major", "parked",
        "proposal_states", "proposals", "recent", "refusals", "registered", "registered_at", "registrations",
        "reruns", "risk_class", "sector", "town", "town_by_token", "held_applied", "violations",
        "watermark"},
    "PlanTown": {"applied", "applied_from", "behind", "checked", "clocks", "done", "id", "town", "watermark",
                 "year"},
}


STORED_PLACES: dict[str, dict[str, tuple[str, ...]]] = {
    "Hazard": {
        "point": ("lat", "lon"),
        "enterprise": ("uscc", "name"),
        "listed": ("notice_no", "listed_at", "deadline", "active"),
        "ext": ("requested_at", "requested_until", "event_id"),
        "early": ("at", "approved", "new_deadline", "event_id"),
        "orders": ("order_no", "order", "at", "event_id"),
        "violations": ("order_no", "at", "event_id", "evidence", "sent"),
        "proposals": ("proposal_id", "measure", "at", "due", "legal_review", "state", "decision_due",
                      "decision", "raised_again", "decision_raised_again", "counted_from"),
        "answers": ("kind", "ref", "at", "event_id", "outcome"),
        "verdicts": ("at", "verdict", "grade", "lead"),
        "failures": ("clock", "since", "due", "department"),
        "held": ("tag", "missed_at", "department", "reason", "cause"),
    },
    "Alert": {
        "reports": ("time", "event_id", "casualties", "loss_cny", "to_evacuate"),
        "acked": ("time", "unit", "event_id"),
        "caps": ("sequence", "identifier", "sent", "msg_type"),
        "waiting": ("time", "event_id", "type"),
        "disaster_reports": ("time", "event_id", "report_kind", "post"),
    },
    "EnterpriseFile": {
        "classified": ("decided_at", "decided_by", "decision_no", "event_id"),
        "classes": ("decided_at", "risk_class", "key_enterprise", "event_id"),
        "hazards": ("status", "grade", "deadline", "completed", "tier", "department", "sector", "listed",
                    "town"),
        "orders": ("order", "hazard_id", "at"),
        "last_inspection": ("time", "inspection_id", "kind", "findings"),
        "last_alert": ("time", "alert_id", "kind"),
        "proposals": ("time", "proposal_id", "measure", "hazard_id"),
        "recent": ("time", "event_id", "what", "hazard_id"),
        "missed": ("cycle_base", "missed_at", "department", "started_by", "referral", "risk_class", "run",
                   "notice_run", "notice_at"),
        "notices": ("cycle_base", "told_at", "risk_class", "run", "sent_at"),
    },
    "PlanTown": {},
}


def test_the_stored_classes_hold_the_fields_of_the_format_they_are_stored_in() -> None:
    """A stored class's fields, and its rows' places, change only with the stored format (see
    STORED_FIELDS)."""
    from dataclasses import fields

    from engine.plan.tracking import PlanTown
    assert FORMAT == 16, "a new format: add its fields to STORED_FIELDS"
    for kind in (Hazard, Alert, EnterpriseFile, PlanTown):
        have = {f.name for f in fields(kind)}
        assert have == STORED_FIELDS[kind.__name__], (
            f"{kind.__name__} gained {sorted(have - STORED_FIELDS[kind.__name__])} and lost "
            f"{sorted(STORED_FIELDS[kind.__name__] - have)} in format {FORMAT}: that is a new format")
        places = {name: columns for name, (_, columns) in kind.NAMED.items()}
        assert places == STORED_PLACES[kind.__name__], f"{kind.__name__}'s rows changed: a new format"


@pytest.mark.parametrize("path", sorted(V5.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_5_with_the_fields_added_since_load_and_are_stored_anew(
        path: Path) -> None:
    """Format 5 as commit 04e0eaf wrote it, with fields added after format 5 was named (a hazard's
    proposals watched to their decision, reviews' outcomes, verdicts by time; an enterprise file's
    inspections by id and proposals' states): each loads to the state it stored, whole and lazily;
    stored again it is today's format and reads back the same."""
    _loads_and_is_stored_anew(path, 5)


@pytest.mark.parametrize("path", sorted(V7.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_7_load_and_are_stored_anew(path: Path) -> None:
    """Format 7 as commit 74bba79 wrote it (the states of states-v5 stored again, and a hazard whose
    extension was decided and whose review failed): each loads to the state it stored, a hazard
    with no extension decision on file, whole and lazily; stored again it is today's format and
    reads back the same."""
    assert getattr(_loads_and_is_stored_anew(path, 7), "ext_decided", None) is None


def test_a_hazards_extension_decision_is_stored_under_its_name() -> None:
    """The field format 8 added goes into the record by name, and the record says its format: an
    engine that reads up to format 7 refuses it by its number, not with a TypeError on the field
    (the test of an unknown format above shows the refusal of a newer one)."""
    h, _ = decide(None, report("HZ-8", "2026-11-02 09:00"), RULES)
    h.ext_decided = 1_793_600_000
    line = pack(h).split(b"\n")[1]
    assert line.startswith(TODAY) and b'"ext_decided":1793600000' in line
    assert unpack(pack(h), Hazard).ext_decided == 1_793_600_000


@pytest.mark.parametrize("path", sorted(V8.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_8_load_and_are_stored_anew(path: Path) -> None:
    """Format 8 as commit 81b99db wrote it (the states of states-v7 stored again, and a key
    enterprise whose cycle was missed, its town safety office told and its referral sent): each
    loads to the state it stored, a miss and a notice with no class, whole and lazily; stored again
    it is today's format and reads back the same."""
    got = _loads_and_is_stored_anew(path, 8)
    if path.stem.endswith("-missed"):
        assert [m[4:] for m in got.missed] == [["sent", None, None, None, None]]
        assert [n[2:] for n in got.notices] == [[None, None, None]]


def test_a_miss_and_a_notice_stored_in_format_8_are_withdrawn_under_the_class_they_ran_out_under() -> None:
    """The key enterprise of states-v8, its orange cycle missed (no class kept with the miss or the
    notice): an inspection of day 59, recorded on day 70, withdraws both, under coverage.orange as
    they were sent, the class found on the file as before format 9."""
    from test_enterprise import COVERAGE, DAY, _inspected_at, iso

    from engine.enterprise.core import decide_enterprise
    f = unpack((V8 / "enterprise-91371500MA3C4XK2N2-missed.state").read_bytes(), EnterpriseFile)
    inspected = f.missed[0][0]
    late = _unseen(_inspected_at(iso(inspected + 59 * DAY), iso(inspected + 70 * DAY), "INS-2"))
    f, outs = decide_enterprise(f, late, COVERAGE, inspected + 70 * DAY)
    taken = {o.event["data"]["action"]: o.event["data"]["rule_id"] for o in outs
             if o.event["type"] == "safety.escalation.raised"}
    assert taken == {"failure_withdrawn": "coverage.orange", "notice_withdrawn": "coverage.orange",
                     "referral_withdrawn": "referral.duty_failures"}
    assert f.missed == [] and f.notices == []


def test_the_class_a_miss_and_a_notice_ran_out_under_is_stored_by_name() -> None:
    """The places formats 9 to 11 add to an enterprise file's missed cycles and notices are stored
    under their column names, and read back."""
    f = EnterpriseFile(id="E1", missed=[[1, 2, "safety_bureau", "INS-1", "sent", "orange", 1, 0, 3]],
                       notices=[[1, 3, "orange", 2, 4]])
    line = pack(f).split(b"\n")[1]
    assert line.startswith(TODAY)
    assert (b'"missed":{"columns":["cycle_base","missed_at","department","started_by","referral",'
            b'"risk_class","run","notice_run","notice_at"],'
            b'"rows":[[1,2,"safety_bureau","INS-1","sent","orange",1,0,3]]}') in line
    assert (b'"notices":{"columns":["cycle_base","told_at","risk_class","run","sent_at"],'
            b'"rows":[[1,3,"orange",2,4]]}') in line
    assert unpack(pack(f), EnterpriseFile) == f


@pytest.mark.parametrize("path", sorted(V9.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_9_load_and_are_stored_anew(path: Path) -> None:
    """Format 9 as commit e81c9e9 wrote it (the states of states-v8 stored again, and the key
    enterprise of `_orange_referred`, its miss and notice with their class): each loads to the state
    it stored, a notice with no run, whole and lazily; stored again it is today's format and reads
    back the same."""
    got = _loads_and_is_stored_anew(path, 9)
    if path.stem.endswith("-missed"):
        assert [m[4:] for m in got.missed] == [["sent", "orange", None, None, None]]
        assert [n[2:] for n in got.notices] == [["orange", None, None]]


# The outputs of that withdrawal as commit e81c9e9, of format 9, named them.
WITHDRAWN_FROM_V9 = ["db6110c5-9b46-5024-9d55-ff50094de3e7", "04ed1a5c-3c53-52bb-9e9c-6149bba751ef",
                     "46cffba2-b7e2-5f81-af95-e1ed7d89509a", "8b784fb3-de97-5ff5-917f-f4ebc28c2e06"]


@pytest.mark.parametrize("stored", ["format 9", "today"])
def test_a_notice_stored_with_no_run_is_named_by_the_current_run(stored: str) -> None:
    """A notice of format 9 keeps no run: its withdrawal, and the timeline of a referral naming it,
    take the cycle's current run, as ids were named before format 10. The key enterprise of
    states-v9 and the same file as today stores it give the same ids: an inspection of day 59,
    recorded on day 70, withdraws the notice, the miss and its referral (rebuilt as sent, its
    timeline naming the notice) alike."""
    from test_enterprise import COVERAGE, DAY, _inspected_at, _orange_referred, iso

    from engine.enterprise.core import decide_enterprise
    if stored == "today":
        f = _orange_referred()[0]
        assert [n[3] for n in f.notices] == [0]
    else:
        f = unpack((V9 / "enterprise-91371500MA3C4XK2N2-missed.state").read_bytes(), EnterpriseFile)
    inspected = f.missed[0][0]
    late = _unseen(_inspected_at(iso(inspected + 59 * DAY), iso(inspected + 70 * DAY), "INS-2"))
    f, outs = decide_enterprise(f, late, COVERAGE, inspected + 70 * DAY)
    assert sorted(o.id for o in outs) == sorted(WITHDRAWN_FROM_V9)
    assert f.missed == [] and f.notices == []


@pytest.mark.parametrize("path", sorted(V10.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_10_load_and_are_stored_anew(path: Path) -> None:
    """Format 10 as commit 6db7139 wrote it (the states of states-v9 stored again, and two key
    enterprises with a miss and its referral sent): each loads to the state it stored, a miss with
    no run and no notice named, whole and lazily; stored again it is today's format and reads back
    the same."""
    got = _loads_and_is_stored_anew(path, 10)
    if path.stem.endswith(("-missed", "-told-early")):
        assert [m[4:] for m in got.missed] == [["sent", "orange", None, None, None]]
        assert [n[3] for n in got.notices] == [0]


# What commit 6db7139, of format 10, sent to withdraw the miss of the told-early file of states-v10 and
# its referral (an inspection of day 5 recorded on day 69): the failure's withdrawal, the referral's,
# the escalation that says so; the referral withdrawn, and the notice its timeline names (day 30, red).
WITHDRAWN_FROM_V10 = ["c65cac9b-f506-5f0a-a3aa-23a48d117995", "5f2a37b0-9eba-5e82-bdf3-4efe4ded58b6",
                      "b69de286-6447-5d7d-a371-2d7cb4d8db8a"]
REFERRAL_V10, NOTICE_V10 = "19720b6c-3114-5366-b819-5f47732ce14a", "b5da8aef-c599-521c-87ef-e0c8d4100cb2"


def test_a_miss_stored_with_no_run_keeps_its_ids_when_its_notice_is_told_anew() -> None:
    """The told-early file of states-v10: its closure of day 8.5, recorded on day 68.5, has the red
    notice of day 30 withdrawn and the office told anew under orange, dated day 60, in a new run of
    the cycle, while the miss stands. An inspection of day 5, recorded on day 69, then withdraws the
    miss and its referral under the ids commit 6db7139 sent them under, the referral restated with
    the red notice its timeline named."""
    from test_enterprise import COVERAGE, DAY, SUPERVISOR, USCC, _inspected_at, event, iso

    from engine.enterprise.core import decide_enterprise
    f = unpack((V10 / "enterprise-91371500MA3C4XK2N2-told-early.state").read_bytes(), EnterpriseFile)
    inspected = f.missed[0][0]
    [closing] = event("safety.enterprise.closed", iso(inspected + 8.5 * DAY),
                      {"uscc": USCC, "reason": "suspended", "by": SUPERVISOR}, USCC)
    f, got = decide_enterprise(f, _unseen({**closing, "arrived_at": iso(inspected + 68.5 * DAY)}), COVERAGE,
                               int(inspected + 68.5 * DAY))
    assert [o.event["data"]["action"] for o in got] == ["notice_withdrawn", "coverage_missed"]
    assert [m[6:] for m in f.missed] == [[0, 0, inspected + 30 * DAY]]
    late = _unseen(_inspected_at(iso(inspected + 5 * DAY), iso(inspected + 69 * DAY), "INS-2"))
    f, outs = decide_enterprise(f, late, COVERAGE, inspected + 69 * DAY)
    assert [o.id for o in outs[:3]] == WITHDRAWN_FROM_V10
    referral = outs[1].event["data"]
    assert referral["referral_id"] == REFERRAL_V10 and referral["timeline"][1]["event_id"] == NOTICE_V10


def test_a_notice_stored_with_no_run_keeps_the_run_it_went_under_when_its_cycle_runs_again() -> None:
    """The key enterprise of states-v9, whose notice keeps no run, and the same file as today
    stores it: a yellow decision of day 62, recorded on day 69, withdraws the miss, and the cycle
    runs again while the notice stands. An inspection of day 59, recorded on day 99, then withdraws
    the notice under the id it went under, the same for both."""
    from test_enterprise import COVERAGE, DAY, _inspected_at, _orange_referred, classified, iso

    from engine.enterprise.core import decide_enterprise
    names = []
    for stored in ("format 9", "today"):
        f = (_orange_referred()[0] if stored == "today"
             else unpack((V9 / "enterprise-91371500MA3C4XK2N2-missed.state").read_bytes(), EnterpriseFile))
        inspected = f.missed[0][0]
        decided, came = iso(inspected + 62 * DAY), iso(inspected + 69 * DAY)
        record = {**classified("yellow", True, decided, time=decided), "arrived_at": came}
        f, _ = decide_enterprise(f, _unseen(record), COVERAGE, inspected + 69 * DAY)
        assert f.reruns == {str(inspected): 1} and [n[3] for n in f.notices] == [0]
        late = _unseen(_inspected_at(iso(inspected + 59 * DAY), iso(inspected + 99 * DAY), "INS-2"), 1)
        f, got = decide_enterprise(f, late, COVERAGE, inspected + 99 * DAY)
        names += [o.id for o in got if o.event["data"].get("action") == "notice_withdrawn"]
    assert len(names) == 2 and names[0] == names[1]


@pytest.mark.parametrize("path", sorted(V11.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_11_load_and_are_stored_anew(path: Path) -> None:
    """Format 11 as commit 03b5de4 wrote it (the states of states-v10 stored again, and a hazard whose
    fine went before a second confirmation reached the engine late): each loads to the state it
    stored, a proposal keeping nowhere its time counted from, whole and lazily; stored again it is
    today's format and reads back the same."""
    got = _loads_and_is_stored_anew(path, 11)
    if isinstance(got, Hazard):
        assert all(p[10] is None for p in got.proposals)


def test_a_proposal_stored_with_nowhere_it_counted_from_is_withdrawn_as_things_stand() -> None:
    """The hazard of states-v11 whose fine went on 17 November, due the 24th, and whose second
    confirmation, dated the 16th, reached the engine on the 19th; a claim of the 16th, recorded on
    the 20th, withdraws the fine. Its row of format 11 keeps nowhere its time counted from, so the
    withdrawal restates it counted from the 19th, due the 26th, as commit 03b5de4 did. The same
    hazard as today stores it restates the fine as it went."""
    from test_decide import general_confirmed
    from test_late_arrival import arriving, feed
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    second = arriving(verify("HZ-1", "2026-11-16 10:00"), "2026-11-19 10:00")
    today = feed([*entries, second], until="2026-11-19 12:00").states["HZ-1"]
    claim = _unseen(arriving(complete("HZ-1", "2026-11-16 12:00"), "2026-11-20 10:00"))
    restated = []
    for h in (unpack((V11 / "hazard-HZ-1-confirmed-late.state").read_bytes()), unpack(pack(today))):
        _, outs = decide(h, claim, RULES, at("2026-11-20 10:00"))
        [withdrawn] = [o.event["data"] for o in outs if o.event["type"] == "safety.enforcement.withdrawn"]
        restated.append((withdrawn["due_at"], withdrawn.get("due_counted_from")))
    assert restated == [("2026-11-26T23:59:59+08:00", "2026-11-19T10:00:00+08:00"),
                        ("2026-11-24T23:59:59+08:00", None)]


@pytest.mark.parametrize("path", sorted(V12.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_12_load_and_are_stored_anew(path: Path) -> None:
    """Format 12 as commit fa5345f wrote it (the states of states-v11 stored again, and a major hazard
    verified twice whose stop order was found violated and transferred): each loads to the state it
    stored, its verdicts keeping no grade, whole and lazily; stored again it is today's format and
    reads back the same."""
    got = _loads_and_is_stored_anew(path, 12)
    if isinstance(got, Hazard):
        assert all(v[2] is None for v in got.verdicts)


def test_a_confirmation_stored_with_no_grade_counts_at_the_grade_the_hazard_stands_at() -> None:
    """The transferred hazard of states-v12, confirmed major on 2 and 3 November, its order found
    violated on the 5th. Its verdicts, stored in format 12, keep no grade: a verification of the 4th
    re-grading it general, recorded on the 8th, withdraws the transfer from the state stored then (the
    hazard stands general) as from the same state stored today, where the grades by time say so; a
    re-grade made on the 10th, after the refusal, leaves the transfer of today's state standing, and
    withdraws that of the old one, whose confirmations count at the grade it stands at then."""
    from test_late_arrival import arriving
    stored = (V12 / "hazard-HZ-TR-transferred.state").read_bytes()
    old, today = unpack(stored), unpack(pack(_places_added(Hazard.decode(
        (V12 / "hazard-HZ-TR-transferred.json").read_bytes()))))
    today.verdicts = [[v[0], v[1], "major", v[3]] for v in today.verdicts]
    withdrawn = []
    for made, came in (("2026-11-04 10:00", "2026-11-08 10:00"), ("2026-11-10 10:00", "2026-11-10 10:00")):
        regrade = _unseen(arriving(verify("HZ-TR", made, "confirmed", "general", event_id="HZ-TR-g"), came))
        for h in (unpack(stored), unpack(pack(today))):
            _, outs = decide(h, regrade, RULES, at(came))
            withdrawn.append(sum(o.event["type"] == "safety.referral.judicial_withdrawn" for o in outs))
    assert old.verdicts and withdrawn == [1, 1, 1, 0]


def _unseen(entry: dict[str, Any], n: int = 0) -> dict[str, Any]:
    """`entry` from an offset of its source no stored state here applied (the `n`-th such): the
    fixtures number offsets as the tests run, and a file stored by another process took those up to
    its own count, so the entry could be refused as a copy of one it applied (with pytest-xdist,
    depending on the order the tests ran in)."""
    return {**entry, "origin": {**entry["origin"], "offset": 10**9 + n}}


def _loads_and_is_stored_anew(path: Path, version: int) -> Any:
    """Load the state stored in format `version` at `path`: it must be the state its `.json` beside
    it holds (with the row places added since, `_places_added`), read whole and lazily (as the worker
    reads it); stored again, it is today's format with the header given, and reads back the same.
    The state loaded."""
    from engine.plan.tracking import PlanTown
    kind = {"alert": Alert, "hazard": Hazard, "enterprise": EnterpriseFile,
            "plan": PlanTown}[path.name.split("-", 1)[0]]
    want = _places_added(kind.decode(path.with_suffix(".json").read_bytes()))
    raw = path.read_bytes()
    assert raw.split(b"\n")[1].startswith(b'{"format":%d,' % version)
    got = unpack(raw, kind)
    assert got == want
    again = pack(unpack(raw, kind, lazy=hasattr(want, "applied_stored")), b"summary", b"place")
    assert again.split(b"\n")[1].startswith(TODAY) and header(again)[1:] == (b"summary", b"place")
    assert unpack(again, kind) == want
    return got


def _places_added(state: Any) -> Any:
    """`state` with each row of a field given the places added since it was stored (`ADDED`), as
    the store reads such rows back."""
    for name, added in getattr(state, "ADDED", {}).items():
        places = state.NAMED[name][1]
        rows = getattr(state, name)
        for row in rows.values() if isinstance(rows, dict) else rows:
            row += [added[p] for p in places[len(row):]]
    return state


@pytest.mark.parametrize("path", sorted(V13.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_13_load_and_are_stored_anew(path: Path) -> None:
    """Format 13 as commit bee7218 wrote it (the states of states-v12 stored again, and a file with a
    hazard at its home and one at a site in another town): each loads to the state it stored, an
    enterprise file's open hazards keeping no town; stored again it is today's format and reads back
    the same."""
    got = _loads_and_is_stored_anew(path, 13)
    if isinstance(got, EnterpriseFile):
        assert all(row[8] is None for row in got.hazards.values()) and got.closed_in == {}


@pytest.mark.parametrize("path", sorted(V14.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_14_load_and_are_stored_anew(path: Path) -> None:
    """Format 14 as commit df8872d wrote it (the states of states-v13 stored again, and the two-town
    file with its hazards' towns): each loads to the state it stored, the steps of an enterprise
    file's record keeping no hazard; stored again it is today's format and reads back the same."""
    got = _loads_and_is_stored_anew(path, 14)
    if isinstance(got, EnterpriseFile):
        assert got.recent and all(len(line) == 4 and line[3] is None for line in got.recent)
    assert getattr(got, "parked", []) == []


@pytest.mark.parametrize("path", sorted(V15.glob("*.state")), ids=lambda p: p.stem)
def test_states_stored_in_format_15_load_and_are_stored_anew(path: Path) -> None:
    """Format 15 as commit ecede9b wrote it (the states of states-v14 stored again): each loads to
    the state it stored, a hazard, an alert or an enterprise file with no entries waiting for its
    town, none applied held to a token's towns, and an enterprise's town held as before (not one
    only a token found); stored again it is today's format and reads back the same."""
    got = _loads_and_is_stored_anew(path, 15)
    assert getattr(got, "parked", []) == [] and getattr(got, "held_applied", []) == []
    assert getattr(got, "town_by_token", False) is False


def test_a_hazards_entries_waiting_for_its_town_are_stored_and_read_back_whole() -> None:
    """A hazard's entries waiting for its town (`parked`, format 16) are stored under that name."""
    entry = {"entry_id": "e-1", "subject": "HZ-9", "subject_kind": "hazard", "type": "safety.hazard.verified",
             "time": "2026-12-01T09:00:00+08:00", "data": {"hazard_id": "HZ-9"}, "towns": ["lihaiwu"]}
    h = Hazard(id="HZ-9", parked=[entry])
    raw = pack(h)
    assert b'"parked":[{"entry_id":"e-1"' in raw
    assert unpack(raw, Hazard).parked == [entry] and unpack(raw, Hazard, lazy=True).parked == [entry]


def test_an_enterprise_file_found_only_by_a_token_keeps_saying_so() -> None:
    """An enterprise file's town found only by a town-limited token's records (`town_by_token`,
    format 16) and the entries held to a token's towns it applied are stored and read back."""
    f = EnterpriseFile(id="E-1", town="huxi", town_by_token=True, held_applied=[[1764550800, 2**63 + 7]])
    back = unpack(pack(f), EnterpriseFile)
    assert (back.town, back.town_by_token, back.held_applied) == ("huxi", True, [[1764550800, 2**63 + 7]])


def test_format_6_which_never_reached_main_is_refused() -> None:
    """Format 6 stored an enterprise file on a base (d9bc129, reverted within the hour): refused."""
    readable = "this engine reads formats 0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15 and 16"
    with pytest.raises(StoredFormatError, match=f"format 6; {readable}"):
        unpack(b'\n{"format":6,"id":"E1","base":3}\n[]', EnterpriseFile)
