"""What every core's state shares: the redelivery window and the history kept outside the decision.

A state keeps, to recognise a re-delivered entry, which records of each
source partition it applied entries from (over the last SPAN offsets there)
and the hashes of the latest `APPLIED` entries without a source
(docs/redelivery.md says why that is enough), and its history as stored bytes
it only appends to (engine/store.py).
Hazards, alerts, enterprise files and plan towns all use these.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import struct
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self

from engine import codec

STORED = ("history_stored", "applied_stored")

# Entry hashes a state keeps to recognise a re-delivered entry. A duplicate comes at most one batch
# of records (engine/stream/runtime.py MAX_BATCH) after its original: docs/redelivery.md says why.
APPLIED = 2_000


def entry_hash(entry_id: str) -> int:
    """A 64-bit hash of an entry id: enough to recognise a re-delivered entry, in 8 bytes."""
    return int.from_bytes(hashlib.blake2b(entry_id.encode(), digest_size=8).digest(), "big")


# How far back, in offsets of one source partition, a state remembers which of its records it
# applied (`applied_from`): twice the records of a batch, for a transaction's control marker
# after each. A copy comes within one batch of its source partition after its original, however
# many entries other partitions bring meanwhile: docs/redelivery.md says why.
SPAN = 2 * APPLIED


def source_of(entry: Mapping[str, Any]) -> tuple[str, int] | None:
    """Where an entry was published from, as a window's key and the offset there: the intake record
    it records (`origin`), or for a link the timeline record that caused it (`cause`); None for
    an entry without either (a clock's firing, a plan's seed, an entry a test or tool wrote).

    A subject gets at most one entry from one such record, a copy of an entry
    always comes from the same record as its original, and an entry id comes
    from one record only (docs/redelivery.md), but for a copy of an event a
    town-limited token sent ahead of its subject, from another sender, which
    engine/kernel/scope.py tells by its `copy`: so for an entry with a source,
    the record is all a state needs to keep.
    """
    at = entry.get("origin") or entry.get("cause")
    if at is None:
        return None
    return f"{at['topic']}/{at['partition']}", at["offset"]


def applied_before(state: Any, entry_id: str, source: tuple[str, int] | None = None) -> bool:
    """Whether the entry `entry_id` from `source` (`source_of`) was applied: its source record is
    among those the state applied from that partition lately; or, for an entry without a source
    or a state that still keeps hashes from before the records by source, its hash among the
    latest APPLIED hashes (`hash_applied`)."""
    if source is not None:
        runs = state.applied_from.get(source[0])
        if runs is not None and _within(runs, source[1]):
            return True
        if not state.applied and not getattr(state, "applied_stored", b""):
            return False  # no hashes kept, so none from before the records by source
    return hash_applied(state, entry_hash(entry_id))


def hash_applied(state: Any, tag: int) -> bool:
    """Whether an entry with hash `tag` is among the latest APPLIED hashes the state keeps."""
    if tag in state.applied:
        return True
    stored: bytes = getattr(state, "applied_stored", b"")
    needle = tag.to_bytes(8, "big")
    at = stored.find(needle)
    while at >= 0:  # a match must start on a hash's first byte
        if at % 8 == 0:
            return True
        at = stored.find(needle, at + 1)
    return False


def remember(state: Any, entry_id: str, source: tuple[str, int] | None = None) -> None:
    """Record an applied entry: from a source, its record among those applied from that partition
    (where those more than SPAN offsets behind the latest leave); without one, its hash among the
    latest APPLIED (stored ones leave first)."""
    if source is not None:
        _add(state.applied_from, *source)
        return
    state.applied.append(entry_hash(entry_id))
    stored: bytes = getattr(state, "applied_stored", b"")
    over = len(stored) // 8 + len(state.applied) - APPLIED
    if over > 0 and stored:
        drop = min(over, len(stored) // 8)
        state.applied_stored, over = stored[8 * drop:], over - drop
    if over > 0:
        del state.applied[:over]


def _within(runs: dict[str, list[int]], offset: int) -> bool:
    """Whether `offset` is in one of the runs (each from its start up to, not including, its end)."""
    at = bisect.bisect_right(runs["starts"], offset) - 1
    return at >= 0 and offset < runs["ends"][at]


def _add(windows: dict[str, dict[str, list[int]]], key: str, offset: int) -> None:
    """Put `offset` in the runs of partition `key`, then drop the runs that end SPAN offsets or more
    before the latest.

    A partition's records come in offset order, so an offset most often extends
    the last run (a subject with every record of a partition: one run) or starts
    a new one after it; one that comes late goes where it belongs.
    """
    runs = windows.get(key)
    if runs is None:
        windows[key] = {"starts": [offset], "ends": [offset + 1]}
        return
    starts, ends = runs["starts"], runs["ends"]
    if offset >= ends[-1]:
        if offset == ends[-1]:
            ends[-1] += 1
        else:
            starts.append(offset)
            ends.append(offset + 1)
    elif not _within(runs, offset):
        at = bisect.bisect_right(starts, offset)  # the run after it; `at - 1` (if any) ends before it
        starts.insert(at, offset)
        ends.insert(at, offset + 1)
        if at + 1 < len(starts) and ends[at] == starts[at + 1]:  # joins the run after it
            ends[at] = ends.pop(at + 1)
            del starts[at + 1]
        if at > 0 and ends[at - 1] == starts[at]:  # joins the run before it
            ends[at - 1] = ends.pop(at)
            del starts[at]
    low = ends[-1] - SPAN  # a run ending at or before this is left behind
    if ends[0] <= low:
        cut = bisect.bisect_right(ends, low)
        del starts[:cut], ends[:cut]


def applied_bytes(state: Any) -> bytes:
    """Every applied hash the state keeps, oldest first, 8 bytes each: the stored ones as they
    came, then those applied since the state was decoded."""
    return getattr(state, "applied_stored", b"") + struct.pack(f">{len(state.applied)}Q", *state.applied)


def settle_applied(state: Any) -> None:
    """Move the hashes applied since the state was decoded to `applied_stored`, where decoding its
    stored record puts them all: a state kept in memory across batches (engine/stream/held.py)
    then checks a re-delivery with a search of bytes, not a scan of a list that keeps growing."""
    if state.applied and hasattr(state, "applied_stored"):
        state.applied_stored, state.applied = applied_bytes(state), []


def all_applied(state: Any) -> list[int]:
    """Every applied hash the state keeps, oldest first: the stored ones decoded, then the new."""
    stored: bytes = getattr(state, "applied_stored", b"")
    if not stored:
        return state.applied
    return [*struct.unpack(f">{len(stored) // 8}Q", stored), *state.applied]


HISTORY_ITEM = ("time", "event_id", "what")  # the names of a history item's places, as stored
CHUNK = 64  # history items per chunk kept apart from the state record (engine/store.py)


class MissingHistory(LookupError):
    """A chunk of a stored history the reader does not hold (not read yet, or lost)."""


@dataclass(frozen=True, slots=True)
class StoredHistory:
    """The history a state was stored with, undecoded: full chunks kept apart, and a tail.

    `chunks` chunks of CHUNK items each sit in the history table under
    `chunk_key(subject, n)`; `read(n)` gives chunk n's stored JSON. The items
    after them, `tail_items` of them, are `tail`, the JSON stored on the state
    record's last line. A decision never reads the chunks (only a referral's
    evidence does, through `timeline()`), so deciding costs the same however
    long the history is.
    """

    tail: bytes = field(default=b"", repr=False)
    tail_items: int = 0
    chunks: int = 0
    read: Callable[[int], bytes] | None = field(default=None, compare=False, repr=False)

    def __bool__(self) -> bool:
        return bool(self.chunks or self.tail_items)

    @property
    def items(self) -> int:
        """How many items it holds in all."""
        return self.chunks * CHUNK + self.tail_items

    def chunk(self, n: int) -> list[list[Any]]:
        """The items of chunk `n`, decoded."""
        if self.read is None:
            raise MissingHistory(f"history chunk {n} of {self.chunks}: no history table to read it from")
        raw = self.read(n)
        if not raw:
            raise MissingHistory(f"history chunk {n} of {self.chunks} is not in the history table")
        return stored_history(raw)

    def decoded(self) -> list[list[Any]]:
        """Every item, oldest first: the chunks in order, then the tail."""
        out: list[list[Any]] = []
        for n in range(self.chunks):
            out += self.chunk(n)
        if self.tail_items:
            out += stored_history(self.tail)
        return out


def chunk_key(subject: bytes, n: int) -> bytes:
    """The history table's key of a subject's chunk `n`: the subject's key, '#', the number."""
    return b"%s#%d" % (subject, n)


def chunk_reader(history: Mapping[bytes, bytes], subject: bytes) -> Callable[[int], bytes]:
    """A reader of one subject's chunks in a history table (a missing chunk reads as b"")."""
    return lambda n: history.get(chunk_key(subject, n)) or b""


def full_history(state: Any) -> list[list[Any]]:
    """A hazard's or an alert's whole history: the stored part decoded, then what was added since."""
    if not state.history_stored:
        return state.history
    return [*state.history_stored.decoded(), *state.history]


def stored_history(raw: bytes) -> list[list[Any]]:
    """History items as the table stores them (engine/store.py), back in their positional form."""
    time_, event_id, what = HISTORY_ITEM  # each name read once, not once an item: 17 µs a chunk, not 26
    return [[item[time_], item[event_id], item[what]] for item in codec.loads(raw)]


def state_doc(state: Any, whole: bool = True, named: bool = False) -> dict[str, Any]:
    """A state's fields by name, those at their defaults or empty left out; without the history
    and the applied hashes unless `whole`; with `named`, the places of its positional lists named
    after the class's `NAMED`, as the stored record holds them (engine/store.py).

    A field is left out when it is None, its own default, an empty list or
    dict, or equal to its default (a field with a default factory has none).
    """
    return _doc_builder(type(state), whole, named)(state)


def _named_one(places: tuple[str, ...]) -> str:
    """The source of an expression naming the places of one positional list `v`, written into
    `_doc_builder`'s function as a dict display (`{'uscc': v[0], 'name': v[1]}`): a call of
    `dict(zip(places, v, strict=True))` cost six times as much. A list of another length fails
    with ValueError (`_wrong_length`), as the zip did."""
    return "{" + ", ".join(f"{place!r}: v[{n}]" for n, place in enumerate(places)) + "}"


def _wrong_length(places: tuple[str, ...], value: list[Any]) -> None:
    raise ValueError(f"{len(value)} values stored under {len(places)} names")


def _named_rows(places: tuple[str, ...], value: list[Any] | dict[str, Any]) -> dict[str, Any]:
    """A list of positional rows, or a dict of them, as it is under the names of its places (format 5):
    `{"columns": [...], "rows": value}`. Nothing is copied or transposed: the JSON encoder writes
    the rows as they are. A row of another length than `places` fails here, not when read back."""
    rows = value.values() if type(value) is dict else value
    width = len(places)
    for row in rows:  # a plain loop: two sets built for every field stored cost twice as much
        if len(row) != width:
            raise ValueError(f"rows of {sorted(set(map(len, rows)))} places stored under {width} names")
    return {"columns": places, "rows": value}


_NAMED_ROWS = ("many", "map")


@functools.cache
def _doc_builder(cls: type, whole: bool, named: bool) -> Callable[[Any], dict[str, Any]]:
    """`state_doc` for one state class, as a function written for its fields.

    The generic form zipped every field's name, default and value and tested
    each in a comprehension, then renamed the positional lists in a second
    pass: 6.8–7.5 µs for a workload hazard's stored doc, against 3.1–3.5
    written out (interleaved in one process), most of it on the forty fields
    left at their defaults. Written out field by field, a field at its default costs an
    attribute read and one comparison. The code is generated once per class,
    from `fields(cls)`, as `dataclasses` writes a class's `__init__`.
    """
    space: dict[str, Any] = {"_EMPTY": _EMPTY, "_EMPTY_OR_NONE": _EMPTY_OR_NONE,
                             "full_history": full_history, "all_applied": all_applied,
                             "_named_rows": _named_rows, "_wrong_length": _wrong_length}
    lines = ["def doc(s):", "    d = {}"]
    for f in fields(cls):
        name = f.name
        if name in STORED or (not whole and name in ("history", "applied")):
            continue
        if whole and name == "history":
            lines.append("    v = full_history(s)")
        elif whole and name == "applied":
            lines.append("    v = all_applied(s)")
        else:
            lines.append(f"    v = s.{name}")
        test = "v is not None and (v or type(v) not in _EMPTY)"
        if f.default is not MISSING and f.default is not None:
            space[f"_d_{name}"] = f.default  # a plain default other than None: left out when equal
            # The default's identity asked first: most such fields hold the very default object.
            test = f"v is not _d_{name} and v is not None and (v or type(v) not in _EMPTY) and v != _d_{name}"
        elif f.default_factory is not MISSING:
            # A list or a dict, seldom None: one type test instead of the None test and then it.
            test = "v or type(v) not in _EMPTY_OR_NONE"
        value = "v"
        lines.append(f"    if {test}:")
        if named and name in cls.NAMED:
            shape, places = cls.NAMED[name]
            space[f"_p_{name}"] = places
            if shape in _NAMED_ROWS:
                value = f"_named_rows(_p_{name}, v)"
            else:
                lines.append(f"        if len(v) != {len(places)}:")
                lines.append(f"            _wrong_length(_p_{name}, v)")
                value = _named_one(places)
        lines.append(f"        d[{name!r}] = {value}")
    lines.append("    return d")
    return written("doc", lines, space)


_EMPTY = (list, dict)
_EMPTY_OR_NONE = (list, dict, type(None))  # left out when falsy: an empty list or dict, or None


def written(name: str, lines: list[str], space: dict[str, Any]) -> Callable[..., Any]:
    """The function `name` defined by `lines`, with the names in `space` as its globals.

    For the functions written per state class from its fields (`_doc_builder`,
    `_builder`, engine/kernel/apply.py `_shallow`): every name in their source
    comes from a dataclass's own field names and the places its NAMED gives them, never from data.
    """
    exec("\n".join(lines), space)  # noqa: S102
    return space[name]  # type: ignore[no-any-return]


def from_doc(cls: type[Any], doc: dict[str, Any]) -> Any:
    """What `cls(**doc)` builds from a doc decoded from JSON, for less: see `_builder`."""
    return _builder(cls)(doc)


@functools.cache
def _builder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """A function that builds a `cls` from a doc as `cls(**doc)` does, written for its fields.

    Python matches a keyword argument to a parameter by identity first and
    compares the strings only when that fails; a key orjson decodes is a new
    string, never the parameter's own, so `cls(**doc)` compared each key with up
    to all 48 of a hazard's names. Swapping the keys for the class's own names
    first helped, but the constructor still binds 48 parameters and sets 48
    fields with their default checks. This sets every field to its default,
    then each key of the doc through its slot, and runs `__post_init__` as
    `__init__` does: 5.4–5.6 µs a workload hazard against 7.6–7.9 for the swap
    and the constructor, measured interleaved in one process. An unknown key
    or a missing required field fails with TypeError, as the constructor's
    call would.
    """
    space: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_unknown": _unknown, "_missing": _missing}
    lines = ["def build(doc):", "    s = _new(_cls)"]
    required = []
    for f in fields(cls):
        if f.default is not MISSING:
            space[f"_d_{f.name}"] = f.default
            lines.append(f"    s.{f.name} = _d_{f.name}")
        elif f.default_factory is list or f.default_factory is dict:
            # An empty display, not a call of the factory: a third of the instructions, the same value.
            lines.append(f"    s.{f.name} = {'[]' if f.default_factory is list else '{}'}")
        elif f.default_factory is not MISSING:
            space[f"_f_{f.name}"] = f.default_factory
            lines.append(f"    s.{f.name} = _f_{f.name}()")
        else:
            required.append(f.name)
    lines += ["    for k, v in doc.items():",
              "        try:",
              "            setattr(s, k, v)",
              "        except (AttributeError, TypeError):",
              "            _unknown(_cls, k)"]
    for name in required:
        lines += ["    try:", f"        s.{name}", "    except AttributeError:",
                  f"        _missing(_cls, {name!r})"]
    if hasattr(cls, "__post_init__"):
        lines.append("    s.__post_init__()")
    lines.append("    return s")
    return written("build", lines, space)


def _unknown(cls: type, key: Any) -> None:
    raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {key!r}")


def _missing(cls: type, name: str) -> None:
    raise TypeError(f"{cls.__name__}.__init__() missing 1 required argument: {name!r}")


class HistoryState:
    """What a state with a history kept apart (a Hazard, an Alert) does with itself, the same for both.

    A subclass is a slotted dataclass with `history`, `applied`, `clocks` and the
    two STORED fields.
    """

    __slots__ = ()

    def encode(self) -> bytes:
        """Serialise compactly, leaving out fields at their defaults; the whole history in `history`."""
        return codec.dumps(state_doc(self))

    def doc(self, whole: bool = True, named: bool = False) -> dict[str, Any]:
        """The fields by name, those at their defaults left out; `whole=False`: without the history
        and the applied hashes, which the table stores as they came; `named`: the positional lists'
        places named, as stored (engine/store.py)."""
        return _doc_builder(type(self), whole, named)(self)  # `state_doc`, without its frame

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """The inverse of encode."""
        return from_doc(cls, codec.loads(raw))

    def timeline(self) -> list[list[Any]]:
        """The whole history in arrival order: what was stored before, then what was added since."""
        return full_history(self)

    def next_due(self) -> int | None:
        """The earliest running clock, for the deadline index."""
        clocks: dict[str, int] = self.clocks  # type: ignore[attr-defined]
        return min(clocks.values()) if clocks else None
