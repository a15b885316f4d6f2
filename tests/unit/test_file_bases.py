"""An enterprise file stored on a base: its record holds what changed since (engine/based.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import codec
from engine.based import MIN_BASE
from engine.enterprise.state import EnterpriseFile
from engine.feeds.index import Place
from engine.kernel.state import MissingHistory
from engine.store import header, pack, unpack
from tests.unit.test_batch_decisions import _runtime

USCC = "91371500MA3D7PQ1LM"


def row(n: int, status: str = "planned") -> list[Any]:
    return [status, "general", 1_768_751_999 + n, False, None, "safety_bureau", "gas", False]


def busy_file(open_hazards: int = 60) -> EnterpriseFile:
    f = EnterpriseFile(USCC, name="Jiangbei Chemical Storage Co., Ltd.", town="zhulaozhuang")
    f.hazards = {f"HZ-{n:05}": row(n) for n in range(open_hazards)}
    f.recent = [[1_768_000_000 + n, f"ev-{n}", f"hazard HZ-{n:05} opened (general)"] for n in range(50)]
    f.applied_from = {"engine.timeline/0": {"starts": [1, 5], "ends": [2, 6]}}
    return f


class Store:
    """A table and its history table, written as the worker writes them (None removes a key)."""

    def __init__(self) -> None:
        self.table: dict[bytes, bytes] = {}
        self.history: dict[bytes, bytes] = {}

    def put(self, f: EnterpriseFile) -> bytes:
        chunks: dict[int, bytes | None] = {}
        raw = pack(f, place=b"place", chunks=chunks)
        for n, value in chunks.items():
            key = b"%s#%d" % (f.id.encode(), n)
            if value is None:
                del self.history[key]
            else:
                self.history[key] = value
        self.table[f.id.encode()] = raw
        return raw

    def get(self, raw: bytes | None = None) -> EnterpriseFile:
        got: EnterpriseFile = unpack(raw or self.table[USCC.encode()], EnterpriseFile, lazy=True,
                                     history=self.history)
        return got


def same(a: EnterpriseFile, b: EnterpriseFile) -> None:
    """The same file, its maps' keys in the same order (the oldest open hazards are the first)."""
    assert a == b
    assert list(a.hazards) == list(b.hazards) and list(a.applied_from) == list(b.applied_from)


def edit(f: EnterpriseFile, rng: random.Random, step: int) -> None:
    """One event's worth of change, of the kinds the cores make, and some they rarely make."""
    r = rng.random()
    if r < 0.35 and f.hazards:
        f.hazards[rng.choice(list(f.hazards))][0] = "completed"
    elif r < 0.5 and f.hazards:
        del f.hazards[rng.choice(list(f.hazards))]
    elif r < 0.7:
        f.hazards[f"HZ-N{step}"] = row(step, "reported")
    elif r < 0.75 and f.hazards:  # a key gone and back: it moves to the end
        key = rng.choice(list(f.hazards))
        f.hazards[key] = f.hazards.pop(key)
    elif r < 0.8:
        f.proposals.append([step, f"proposal-{step}", "fine", f"HZ-N{step}"])
    f.recent = [*f.recent, [1_769_000_000 + step, f"ev-n{step}", "x" * rng.randint(5, 40)]][-50:]
    runs = f.applied_from.setdefault(f"src/{step % 7}", {"starts": [], "ends": []})
    if runs["ends"] and rng.random() < 0.5:  # the last run grows
        runs["ends"][-1] += 1
    else:  # a run of its own
        runs["starts"].append(1000 + step)
        runs["ends"].append(1001 + step)
    if len(runs["starts"]) > 6:  # the oldest runs leave the window
        del runs["starts"][:2], runs["ends"][:2]
    f.inspections += 1


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([1, 2, 3]))
def test_a_file_stored_again_and_again_reads_back_whole_from_its_base_and_changes(seed: int,
                                                                                   every: int) -> None:
    rng, store = random.Random(seed), Store()
    f = busy_file()
    for step in range(150):
        edit(f, rng, step)
        raw = store.put(f)
        got = store.get(raw)
        same(got, f)
        assert got.base_stored == f.base_stored
        assert len([k for k in store.history]) <= 2  # the base stood on, and the one before
        if step % every == 0:  # go on from the decoded file, as a worker after a restart does
            f = got
    assert f.base_stored is not None and f.base_stored.n > 1


def test_a_record_holds_what_changed_and_a_new_base_comes_when_the_changes_grow() -> None:
    store = Store()
    f = busy_file()
    first = store.put(f)
    assert b'"based":{"on":1,"change":{}}' in first and set(store.history) == {USCC.encode() + b"#1"}
    whole = len(pack(f))
    f.hazards["HZ-00003"][0] = "completed"
    f.recent = [*f.recent[1:], [1_769_000_000, "ev-x", "rectification of HZ-00003 completed"]]
    second = store.put(f)
    assert len(second) * 5 < whole  # one row and one line, not the whole file
    assert b'"set":{"HZ-00003":["completed"' in second and b'"drop":1' in second
    same(store.get(), f)
    rng, n = random.Random(7), 1
    for step in range(40):
        edit(f, rng, step)
        store.put(f)
        n = max(n, f.base_stored.n)
    assert n > 1 and f.base_stored.size > MIN_BASE


def test_the_base_a_record_on_the_broker_names_outlives_the_next_base() -> None:
    """A new base removes the one two back, never the one the record before it stood on: if the
    batch that writes the new base fails after its bases went out, the record on the changelog
    still reads."""
    store, rng = Store(), random.Random(3)
    f = busy_file()
    before = store.put(f)
    for step in range(500):
        n = f.base_stored.n
        edit(f, rng, step)
        raw = store.put(f)
        if f.base_stored.n != n:  # this store wrote a new base; the record before it still reads
            assert store.get(before) is not None
        before = raw
    assert f.base_stored.n > 3


def test_a_source_s_runs_are_stored_as_what_changed_in_them() -> None:
    store = Store()
    f = busy_file()
    f.applied_from["engine.timeline/0"] = {"starts": list(range(0, 400, 4)), "ends": list(range(1, 401, 4))}
    store.put(f)
    runs = f.applied_from["engine.timeline/0"]
    runs["ends"][-1] += 1
    del runs["starts"][0], runs["ends"][0]
    raw = store.put(f)
    assert b'"edit":{"engine.timeline/0":{"starts":{"drop":1},"ends":{"drop":1,"keep":98,"add":[398]}}}' in raw
    same(store.get(), f)


def test_a_small_file_stays_whole_in_its_record() -> None:
    store = Store()
    f = busy_file(open_hazards=2)
    f.recent = f.recent[:3]
    raw = store.put(f)
    assert b'"based"' not in raw and store.history == {} and f.base_stored is None
    same(store.get(), f)


def test_a_file_stored_whole_before_format_6_loads_and_is_stored_on_a_base_next() -> None:
    f = busy_file()
    old = pack(f)  # no history table: whole, as before format 6
    assert b'"based"' not in old and b'"hazards"' in old
    store = Store()
    loaded = store.get(old)
    same(loaded, f)
    raw = store.put(loaded)
    assert b'"based":{"on":1' in raw and b'"hazards"' not in raw
    same(store.get(), f)


def test_a_record_whose_base_is_missing_says_so() -> None:
    store = Store()
    raw = store.put(busy_file())
    with pytest.raises(MissingHistory, match=f"base 1 of '{USCC}' is not in the history table"):
        unpack(raw, EnterpriseFile, history={})
    with pytest.raises(MissingHistory, match="no history table to read it from"):
        unpack(raw, EnterpriseFile)


def test_a_file_s_place_is_in_its_header_so_a_replica_files_it_without_its_base() -> None:
    raw = Store().put(busy_file())
    assert header(raw)[2] == b"place"


def test_changes_under_other_column_names_are_read_by_name() -> None:
    """A later engine that adds a place to open hazards' rows writes its changes under its own
    column names; this one reads them by name, as it reads a base's rows."""
    store = Store()
    f = busy_file()
    store.put(f)
    raw = store.put(f)
    columns = list(EnterpriseFile.NAMED["hazards"][1])
    moved = [*columns[1:], columns[0]]
    change = {"hazards": {"columns": moved, "set": {"HZ-00001": [*row(1, "verified")[1:], "verified"]}}}
    doc = codec.loads(raw.split(b"\n")[1])
    doc["based"] = {"on": 1, "change": change}
    edited = raw.split(b"\n")[0] + b"\n" + codec.dumps(doc)
    assert store.get(edited).hazards["HZ-00001"] == row(1, "verified")


def test_a_replica_without_the_base_files_a_record_by_its_header_under_other_rules(tmp_path: Any) -> None:
    derived = _runtime(tmp_path).derived
    f = busy_file()
    raw = derived.store("enterprise", f, {})
    assert b'"based"' in raw
    assert derived.place_of("enterprise", raw) == derived.cores["enterprise"].place(f)
    other = raw.replace(b'"rules":"%s"' % derived.rules_version.encode(), b'"rules":"older"')
    assert other != raw
    assert derived.place_of("enterprise", other) == Place.decode(header(other)[2], None) is not None
