"""How a subject's state is stored in its table: a header line, the state, and its history apart.

The header is the next due time, and for a hazard a tab and what the metrics
gauges count of it, then a tab and where the feeds' index files it. They lead
so that rebuilding the deadline index, the gauges and the feeds' index after a
recovery reads a few bytes per hazard instead of decoding a million states.
A header without those parts (a state stored before they were added, or an
alert) is read as a due time alone, and the state is decoded instead.

Since format 1 the state is one line of JSON with `"format": 1` first and
every field by name, the places of the positional lists the code keeps
(`listed`, a report's figures...) named too after the state class's `NAMED`
(a list of such records by column: `{"time": [...], "event_id": [...]}`, which
costs a zip instead of a dict per record), and the applied entries' hashes as
one base64 string; a hazard's or an alert's history follows on a line of its
own, each item named. The decision reads the state line only: it keeps the
history line and the applied hashes as bytes and adds what it appends to the
end of them when the state is stored again, so a decision no longer decodes,
copies or re-encodes a history it does not read. `show`,
the feeds, the board and a referral's evidence read the whole history
(`timeline()`). A record of format 0 (no `format` key: the state as
`encode()` writes it, history inside) still loads.

Since format 2 a hazard's or an alert's history is no longer stored whole in
its record: the worker keeps it in a history table of its own (with its own
compacted changelog), in chunks of CHUNK (64) items keyed `subject#n`, and the
record's last line holds only the items after the last full chunk (fewer than
CHUNK), its state line how many of each (`"history_kept": {"chunks": K,
"tail": n}`). A decision writes the record, bounded whatever the history's
length, and once every CHUNK items one new chunk; a chunk once written never
changes. A record of format 1 (the whole history on its last line) loads, and
its history moves into chunks when the subject is next written. `pack` without
a place for chunks (tools, tests) keeps the whole history in the record, which
is format 2 with no chunks.

Since format 3 a dict of positional records (an enterprise file's open
hazards and orders) is stored by column as a list of such records is: the
dict's keys under `"keys"`, then one list per named place (`{"keys":
["HZ-1", ...], "status": [...], "grade": [...]}`), not a dict per record; an
enterprise file of 19 open hazards, written and read on nearly every event,
cost about 80 µs each way by record. A record of format 2 or 1 (by record)
still loads. Since 2026-12-01 an enterprise file's and a plan town's applied
hashes are raw on the record's last line, after an empty history line, as a
hazard's are, not base64 in the JSON; the base64 form still loads.

Since format 4 a state may hold `applied_from`: per partition its entries
came from, the offsets of the records whose entries it applied, as runs
(docs/redelivery.md); the applied hashes on the last line are then only those
of entries without a source. A record of format 3 or before has none, and
loads with none; an engine that reads only formats up to 3 refuses a record of
format 4 with StoredFormatError instead of a TypeError on the unknown field.

Since format 5 a list of positional rows (a hazard's orders, a file's recent
lines, an alert's reports), or a dict of them (a file's open hazards and
orders), is stored as its rows under one list of column names: `{"columns":
["status", "grade", ...], "rows": {"HZ-1": ["planned", "general", ...]}}`.
The names are still in the record, once; the rows are written and read as the
code keeps them, with no transposing either way (a file of 500 open hazards:
`pack` 104 → 62 µs). A record of format 4 or before (by column) loads; rows
stored under columns in another order, or more of them, are read by name.

Since format 7 the record is as in format 5, and may hold the fields and row
places the state classes gained after it (a hazard's proposals, reviews'
outcomes and verdicts by time, an enterprise file's classes and closures,
and the rest: `STORED_FIELDS` and `STORED_PLACES` in
tests/unit/test_state_format.py list each class's fields and its rows'
places as of this format). An engine that reads only up to format 5 met
those fields as unknown keywords and failed with a TypeError; on a record of
format 7 it stops with StoredFormatError, naming the subject and the format.
Any field or row place added to a stored class from now on is a new format.

Since format 8 a hazard may hold `ext_decided`, when its latest extension
decision was made (a request made by then, sent again or reaching the engine
after it, is answered by it instead of pending again), and a hazard and an
alert `seen`, the fingerprints of the latest field records they applied (one
sent again under a fresh event id is applied once: engine/kernel/copies.py).
A record of format 7 loads with neither; an engine that reads only up to
format 7 refuses a record of format 8 with StoredFormatError.

Since format 9 an enterprise file's missed cycles and notices to the town
safety office each keep the class the cycle ran out under (`risk_class`), so
a withdrawal goes under the rule the miss or notice was sent under. Rows of
format 8 load with none (`EnterpriseFile.ADDED`), and a withdrawal of such a
row names the class as before; an engine that reads only up to format 8
refuses a record of format 9 with StoredFormatError.

Since format 10 a notice to the town safety office keeps the run of its cycle
whose ids it went under (`run`) and when it went (`sent_at`): a notice stands
through its cycle's later runs, and a referral's timeline and the notice's
withdrawal name it by that run, a referral's timeline at that time. Rows of
format 9 and before load with neither, and are named by the current run and
timed by time order, as before. A hazard's violation keeps the grounds sent
on it (`sent`), so that a withdrawal restates a transfer on the violation it
went on; rows stored before have none. An engine that reads only up to
format 9 refuses a record of format 10 with StoredFormatError.

Since format 11 a missed cycle keeps the run of its cycle whose ids it went
under (`run`), as a notice does, and the notice its referral named
(`notice_run`, `notice_at`): a notice time order tells later under another
class is told anew under a run of its own while the cycle's miss stands, and
the miss, its referral and their withdrawals keep their ids, the referral
its timeline. Rows of format 10 and before load with none, named by the
current run as before. An engine that reads only up to format 10 refuses a record of
format 11 with StoredFormatError.

Since format 12 an enforcement proposal's row keeps where its time to be
answered counted from as it went (`counted_from`): its withdrawal restates it
so, though a late record (a second confirmation) has moved where such a
proposal counts from since. Rows of format 11 and before load with none, and
such a proposal is restated as things stand, as before. An engine that reads
only up to format 11 refuses a record of format 12 with StoredFormatError.

Since format 13 a hazard's verdicts by time keep the grade each confirmation
gave (`grade`) and the lead department each verification named (`lead`): a
transfer to the public security bureau goes on the grade the hazard stood at
when the order was found violated (`Hazard.graded_by`), and the lead is the
one the latest verification by time named. Rows of format 12 and before load
with neither, and such a confirmation counts at the grade the hazard stands at
now, as before. An engine that reads only
up to format 12 refuses a record of format 13 with StoredFormatError.

Since format 14 an enterprise file's open hazard keeps the town it lies in (`town`, its report's
location), which may be another town than the enterprise's, and the file counts its closed hazards
by town too (`closed_in`): a town's supervisor sees in a file the hazards of its towns alone, and a
town where an enterprise's hazard lies finds the file (engine/enterprise/view.py). Rows of format 13
and before load with none (`EnterpriseFile.ADDED`): such a hazard's town is not known, and it is
shown to district-wide viewers only until its next link names it; a file's closed hazards counted
before are in no town's count. An engine that reads only up to format 13 refuses a record of format
14 with StoredFormatError.

Since format 15 each step of an enterprise file's record keeps the hazard it concerns (`hazard_id`:
its id, or "" for a step about the enterprise itself), and a town's viewer is shown the steps about
its towns' hazards by that, not by the hazard ids its words happen to name. Steps of format 14 and
before load with None there (`EnterpriseFile.ADDED`): not known, and such a step is placed by the
hazards its words name, as before. An engine that reads only up to format 14 refuses a record of
format 15 with StoredFormatError.

Since format 16 a hazard, an alert or an enterprise's file may hold `parked`: the timeline
entries, whole, that a field-app token limited to towns sent before the subject had a town, each
applied or rejected once it has one, and `held_applied`: [time, hash] of the latest such entries
applied, whose copies from other senders change nothing (a copy of any other is judged afresh);
an enterprise's file also `town_by_token`, whether its town came only from such tokens' records
(engine/kernel/scope.py). A record of format 15 and before loads with none, and `town_by_token`
false; an engine that reads only up to format 15 refuses a record of format 16 with
StoredFormatError.

Format 6 stored an enterprise file on a base (d9bc129) and was reverted
within the hour, before it reached main; this code refuses it.
"""

from __future__ import annotations

import base64
import functools
import struct
from collections.abc import Callable, Mapping
from typing import Any

from engine import codec
from engine.decide.state import Hazard
from engine.kernel.state import (
    CHUNK,
    HISTORY_ITEM,
    StoredHistory,
    applied_bytes,
    chunk_reader,
    from_doc,
    stored_history,
    written,
)

FORMAT = 16
# The formats with a `format` key this code reads (0 has none).
READS = (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
_MARK = b'{"format":'
_OPENING = b'%s%d,' % (_MARK, FORMAT)  # a state line's start, written once, not formatted per state
_READABLE = ", ".join(map(str, (0, *READS[:-1]))) + f" and {READS[-1]}"
_NO_HISTORY = StoredHistory()  # nothing stored before (frozen: one serves every state)


class StoredFormatError(ValueError):
    """A stored state written in a format this code does not know (a newer engine wrote it)."""


def pack(h: Any, summary: bytes = b"", place: bytes = b"", chunks: dict[int, bytes] | None = None) -> bytes:
    """Serialise a state for the table, with optional one-line summaries in its header.

    `summary` is what the gauges count of it, `place` where the feeds find it
    (`engine.feeds.index.Place`); neither may hold a tab or a newline. For a
    hazard or an alert, `chunks` collects the history chunks to write to the
    history table (chunk number -> bytes): each time the history's tail fills a
    chunk of CHUNK items, that chunk leaves the record. Without `chunks` the
    whole history stays in the record (chunks stored before are read back into it).
    """
    head = header_line(h, summary, place)
    lazy = hasattr(h, "history_stored")  # a hazard or an alert, not an enterprise's file
    doc = h.doc(whole=False, named=True)  # the applied hashes (and a history) go on lines of their own
    # The applied hashes raw on the record's last line, the stored part as it came: no base64 to
    # write or to read (an enterprise file's 2,000 hashes were 21 KB of base64 inside its JSON).
    applied = applied_bytes(h) if h.applied or getattr(h, "applied_stored", b"") else b""
    tail: list[bytes | memoryview] = []
    if lazy:
        kept, items, tail = _kept(h.history_stored or _NO_HISTORY, h.history, chunks)
        if kept or items:
            doc["history_kept"] = {"chunks": kept, "tail": items}
    state = codec.dumps(doc)
    parts = [head, b"\n", _OPENING, memoryview(state)[1:]]
    if lazy:
        parts += [b"\n", *tail]
    elif applied:
        parts.append(b"\n[]")  # no history: an empty line 3, so that the hashes are line 4 as ever
    if applied:
        parts += [b"\n", applied]
    return b"".join(parts)  # the stored tail and hashes are copied once, here


def header_line(h: Any, summary: bytes = b"", place: bytes = b"") -> bytes:
    """A stored state's first line, without its newline: the next due time, then the summary and
    the place when given, each after a tab (read back by `header`)."""
    due = h.next_due()
    head = (str(due) if due is not None else "").encode()
    if summary or place:
        head += b"\t" + summary
    if place:
        head += b"\t" + place
    return head


def _kept(stored: StoredHistory, added: list[Any],
          chunks: dict[int, bytes] | None) -> tuple[int, int, list[bytes | memoryview]]:
    """The history chunks kept apart, the items on the record's last line and that line's parts.

    Only a tail that reaches CHUNK items is decoded (a bounded amount, except once
    for a history stored whole before format 2): its full chunks go to `chunks`.
    """
    if chunks is None and stored.chunks:  # the record alone must hold everything
        items = [*stored.decoded(), *added]
        return 0, len(items), [_dump(items)]
    count = stored.tail_items + len(added)
    if chunks is None or count < CHUNK:
        return stored.chunks, count, _history(stored.tail, added)
    items = [*(stored_history(stored.tail) if stored.tail_items else ()), *added]
    full = len(items) // CHUNK
    for i in range(full):
        chunks[stored.chunks + i] = _dump(items[i * CHUNK:(i + 1) * CHUNK])
    rest = items[full * CHUNK:]
    return stored.chunks + full, len(rest), [_dump(rest)]


def _dump(items: list[Any]) -> bytes:
    """History items as stored: a JSON list, each item named.

    Each item unpacked into a dict display, not `dict(zip(..., strict=True))`: the
    keyword makes zip parse its arguments the slow way, and the dict is built from
    an iterator; about 4,000 instructions a decision less, and an item of another
    length fails the unpacking with ValueError as it failed the zip."""
    time_, event_id, what = HISTORY_ITEM
    return codec.dumps([{time_: t, event_id: e, what: w} for t, e, w in items])


def _tags(text: str) -> list[int]:
    """Entry hashes stored as base64 inside the JSON (enterprise files and plan towns until
    2026-12-01), decoded to integers."""
    raw = base64.b64decode(text)
    return list(struct.unpack(f">{len(raw) // 8}Q", raw))


def _positional(doc: dict[str, Any], named: dict[str, tuple[str, tuple[str, ...]]],
                version: int = FORMAT,
                added: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The inverse of naming the places (`state_doc(..., named=True)`): the lists the code keeps
    (since format 5 the rows as stored; by column in formats 3 and 4; a dict of them by record
    before format 3). `added` holds, by field, the places added since rows were first stored and
    what such a row holds there (a class's `ADDED`)."""
    for name in named:
        # Most of a state's positional fields are absent: a membership test skips each for a
        # third of a `get` call and an unpacking.
        if name not in doc or (value := doc[name]) is None:
            continue
        shape, places = named[name]
        if shape == "one":
            doc[name] = [value[p] for p in places]
        elif version >= 5:
            doc[name] = _rows(doc.get("id"), name, places, value, (added or {}).get(name, {}))
        elif shape == "many":
            rows = len(next(iter(value.values()), ()))
            doc[name] = [list(row) for row in zip(*_columns(value, places, added, name, rows), strict=True)]
        elif version >= 3:
            columns = _columns(value, places, added, name, len(value["keys"]))
            doc[name] = dict(zip(value["keys"], map(list, zip(*columns, strict=True)), strict=True))
        else:  # by record: a place added since holds what `added` gives it
            more = (added or {}).get(name, {})
            doc[name] = {k: [v[p] if p in v or p not in more else more[p] for p in places]
                         for k, v in value.items()}
    return doc


@functools.cache
def _rows_named(cls: type) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`_positional` of a doc stored in format 5 or later, as a function written for `cls`'s NAMED
    fields, as engine/kernel/state.py writes `state_doc` and `from_doc`: each field asked for
    by name, not in a loop over all of them (most are absent), a place list written as a list
    display, rows under this code's very names taken as they are without a call. The same
    values, and the same errors in the same order, as `_positional`."""
    added = getattr(cls, "ADDED", None) or {}
    space: dict[str, Any] = {"_rows": _rows}
    lines = ["def positional(doc):"]
    for name, (shape, places) in cls.NAMED.items():
        lines += [f"    if {name!r} in doc:", f"        v = doc[{name!r}]", "        if v is not None:"]
        if shape == "one":
            lines.append(f"            doc[{name!r}] = [{', '.join(f'v[{p!r}]' for p in places)}]")
            continue
        space[f"_p_{name}"], space[f"_a_{name}"] = places, added.get(name, {})
        lines += [f"            doc[{name!r}] = (v['rows'] if tuple(v['columns']) == _p_{name} else",
                  f"                             _rows(doc.get('id'), {name!r}, _p_{name}, v, _a_{name}))"]
    lines.append("    return doc")
    return written("positional", lines, space)


def _columns(value: dict[str, Any], places: tuple[str, ...], added: Mapping[str, Mapping[str, Any]] | None,
             name: str, rows: int) -> list[Any]:
    """The columns of field `name`, stored by column (formats 3 and 4), in the order of `places`; a
    place added since (the field's `added`) holds its value in each of the `rows` rows."""
    more = (added or {}).get(name, {})
    return [value[p] if p in value or p not in more else [more[p]] * rows for p in places]


def _rows(subject: Any, name: str, places: tuple[str, ...], value: dict[str, Any],
          added: Mapping[str, Any] | None = None) -> Any:
    """The rows of a field stored under its column names (format 5), in the order of `places`.

    Stored under the very names this code gives them, the rows are taken as they
    are. Under others (names in another order, or more of them) each row is read
    by name. A name this code needs and the record lacks is a format this code
    does not read, unless it is one of `added`: a place added since such rows
    were stored, which then holds what `added` gives it.
    """
    columns, rows = value["columns"], value["rows"]
    if tuple(columns) == places:
        return rows
    at = {column: n for n, column in enumerate(columns)}
    added = added or {}
    missing = [p for p in places if p not in at and p not in added]
    if missing:
        raise StoredFormatError(f"stored state {subject!r}: {name} has no column {missing[0]!r}")
    take = [(at[p], None) if p in at else (-1, added[p]) for p in places]

    def row_of(row: list[Any]) -> list[Any]:
        return [row[n] if n >= 0 else default for n, default in take]
    if type(rows) is dict:
        return {k: row_of(row) for k, row in rows.items()}
    return [row_of(row) for row in rows]


def _history(stored: bytes, added: list[Any]) -> list[bytes | memoryview]:
    """The parts of the stored history's JSON with `added` appended (named), what was stored undecoded."""
    if not added:
        return [stored or b"[]"]
    new = _dump(added)
    if not stored or stored == b"[]":
        return [new]
    return [memoryview(stored)[:-1], b",", memoryview(new)[1:]]


def unpack(raw: bytes, kind: type[Any] = Hazard, lazy: bool = False,
           history: Mapping[bytes, bytes] | None = None) -> Any:
    """The state stored by `pack`: a Hazard, or another state class with `decode`.

    With `lazy`, a stored history stays undecoded in `history_stored` (what
    the decision path wants); without, it is decoded into `history`. `history`
    is the history table the state's chunks are in (keyed by `chunk_key`); a
    state with chunks read whole without it raises MissingHistory.
    """
    start = raw.index(b"\n") + 1
    if not raw.startswith(_MARK, start):
        return kind.decode(raw[start:])  # format 0
    end = raw.find(b"\n", start)
    line, tail = (raw[start:], b"") if end < 0 else (raw[start:end], raw[end + 1:])
    hashes = None
    if tail and (cut := tail.find(b"\n")) >= 0:  # format 2: the applied hashes follow, raw
        tail, hashes = tail[:cut], tail[cut + 1:]
    doc = codec.loads(line)
    version = doc.pop("format")
    if version not in READS:
        raise StoredFormatError(f"stored state {doc.get('id')!r} has format {version}; "
                                f"this engine reads formats {_READABLE}")
    if hashes is not None:
        if lazy:
            doc["applied_stored"], doc["applied"] = hashes, []
        else:
            doc["applied"] = list(struct.unpack(f">{len(hashes) // 8}Q", hashes))
    elif "applied" in doc:
        if lazy and hasattr(kind, "applied_stored"):
            doc["applied_stored"], doc["applied"] = base64.b64decode(doc["applied"]), []
        else:
            doc["applied"] = _tags(doc["applied"])
    kept = doc.pop("history_kept", None)
    if kept is not None or (tail and tail != b"[]"):
        if kept is None and not lazy:  # format 1: the whole history on the last line
            doc["history"] = stored_history(tail)
            return from_doc(kind, _named_places(doc, kind, version))
        if kept is None:  # counted once; the subject's next write stores it in format 2
            stored = StoredHistory(tail, len(codec.loads(tail)))
        else:
            reader = chunk_reader(history, doc["id"].encode()) if history is not None else None
            stored = StoredHistory(tail, kept["tail"], kept["chunks"], reader)
        if lazy:
            doc["history_stored"] = stored
        else:
            doc["history"] = stored.decoded()
    return from_doc(kind, _named_places(doc, kind, version))


def _named_places(doc: dict[str, Any], kind: type[Any], version: int) -> dict[str, Any]:
    """`doc`'s positional lists back from the places stored by name (`_positional`)."""
    if version >= 5:
        return _rows_named(kind)(doc)
    return _positional(doc, kind.NAMED, version, getattr(kind, "ADDED", None))


def header(raw: bytes) -> tuple[int | None, bytes | None, bytes | None]:
    """The next due time, the summary and the place stored by `pack`, without decoding the state."""
    head = raw[: raw.index(b"\n")]
    due, tab, rest = head.partition(b"\t")
    summary, tab2, place = rest.partition(b"\t")
    return (int(due) if due else None), (summary if tab else None), (place if tab2 else None)
