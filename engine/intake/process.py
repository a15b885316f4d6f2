"""The intake decision for one consumed record: accept, reject, or drop as a duplicate.

This is pure: it sees a record and a look-up into the de-duplication store, and
returns what to send and what to remember. The runtime's intake stage performs it.

Delivery is at least once. After a crash the store may already hold a record's
mark while the record's timeline entries never reached the broker. So a record
seen again at the very position that set its mark is a redelivery, and its
entries are sent again; their ids are deterministic, so readers that
de-duplicate by id see each entry once. Only a copy at another position is a
duplicate.

A worker holds the marks of the partitions it is assigned only, so a copy is
sure to be found only on the partition where the first was marked: the
subject's, where a record keyed by its subject lands. A record with a null key lands anywhere; when it lands
on another partition than its subject's, the decision is to forward it there
(`forwarded`), and it is marked and judged only as that copy. A record that
is rejected is rejected where it lands, as no mark is involved.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, NamedTuple

import orjson

from engine.contract.common import KnownIds
from engine.contract.outputs import (
    ENGINE_SOURCE,
    INTAKE_REJECTED,
    IntakeRejected,
    RejectedHeader,
    RejectionError,
)
from engine.intake import fast
from engine.intake.binding import validate_kafka_record
from engine.intake.scope import (
    FIELD_APP_HEADER,
    TownOf,
    named_town,
    opened_towns,
    scope_problems,
    stamp_fields,
    towns_of,
)
from engine.intake.timeline import SHANGHAI, Normalised, encode, entries_of, event_key, normalised
from engine.intake.validate import (
    MAX_RECORD_BYTES,
    Accepted,
    deadline_problems,
    parsed_as_it_is,
    time_problem,
)
from engine.kernel.entries import COPY
from engine.kernel.time import epoch, iso_ms
from engine.uuid5 import uuid5_text

TIMELINE = "engine.timeline"
# A rejection must always fit on intake.rejected (8 MiB), whatever came in: a key over 256 bytes
# and a value over 4 MiB (the intake topics' own limit, so only a topic configured larger lets one
# in) are cut to an excerpt with the digest of the whole (the original stays on its intake topic),
# and a record with thousands of faults names the first ones.
KEY_EXCERPT_BYTES = 256
RAW_EXCERPT_BYTES = 4 * 1024 * 1024
MAX_ERRORS = 50
# A binary-mode record's meaning is in its headers, so a rejection repeats them, within bounds too.
MAX_HEADERS = 64
HEADER_EXCERPT_BYTES = 1024
DUPLICATES = "engine.intake.duplicates"
# What a mark's digest begins with when it is of what its event says (`content_digest`); one
# without it, stored before 2026-12-07, is of its record's value.
SAID = "e:"
# What a mark's digest ends with when its event was taken for a token's towns only (`Mark.held`).
HELD = ";held"
# A NamedTuple's own constructor is a Python function (`collections.namedtuple` writes one);
# `tuple.__new__(cls, values)` makes the very same tuple without it: 0.11 µs, not 0.22, for a Send,
# and 0.11 µs, not 0.44, for an Outcome given by keyword. Used where every accepted record passes.
_tuple = tuple.__new__
_NS = uuid.UUID("0d6c1a4e-7f3b-4b8a-9e21-5c4d3b2a1f09").bytes

Kind = Literal["accepted", "redelivered", "rejected", "duplicate", "forwarded"]


# Record, Send and Outcome are named tuples: immutable like a frozen dataclass, built in a third of
# its time (a frozen dataclass sets each field through object.__setattr__), and there is one of
# each for every record the worker consumes.
class Record(NamedTuple):
    """One record as the consumer delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    # As aiokafka delivers them: (name, value) in order; a CloudEvents binary record's attributes.
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def position(self) -> str:
        """Where the record sits in Kafka, as `topic/partition/offset`."""
        return f"{self.topic}/{self.partition}/{self.offset}"


class Send(NamedTuple):
    """A record to produce."""

    topic: str
    key: bytes | None
    value: bytes


class Outcome(NamedTuple):
    """What intake decided for one record, and what the agent must do about it."""

    kind: Kind
    sends: tuple[Send, ...]
    remember: tuple[str, str] | None = None  # (dedupe key, mark) to store
    event_id: str | None = None
    subject: str | None = None
    reasons: tuple[str, ...] = ()
    # For an entry with an arrival the engine vouches for: how many seconds after the event's own
    # time its record reached the broker (negative for a record stamped before it).
    delay_s: int | None = None
    # An accepted event's (kind, subject, town) of the subjects it may open: the runtime knows
    # their towns by them before the event is decided (engine/intake/scope.py `OpenedTowns`).
    opened: tuple[tuple[str, str, str], ...] = ()


def _unknown_town(kind: str, subject: str) -> None:
    """No subject's town is known: a town-limited event naming none is judged when its subject is."""
    return None


def _marked(seen: Callable[[str], str | None], event: Normalised, record: Record,
            content: bytes) -> tuple[str, Mark | None]:
    """The key of an event's de-duplication mark (`timeline.event_key`) and the mark held, if any.

    A pair holding U+001F was marked, before 2026-12-07, under the ambiguous key its parts joined
    by it make. Such a mark still counts for a redelivery of the record that set it (the same
    position) or a copy of the same event, and then its key stays the mark's and its entries' ids
    (`entries_of`), so no event marked before the change is taken twice; any other event it might
    stand for (one that only collides with it) is new, under the new key."""
    source, event_id = event.source, event.event_id
    key = event_key(source, event_id)
    stored = seen(key)
    if stored is not None:
        return key, Mark.read(stored)
    joined = f"{source}\x1f{event_id}"
    old = None if joined == key else seen(joined)
    if old is not None:
        mark = Mark.read(old)
        if mark.position == record.position or mark.says(event, content):
            return joined, mark
    return key, None


class Mark(NamedTuple):
    """What the de-duplication store keeps of an accepted event, as `position|digest|time`.

    `held`: the event was taken for a field-app token's towns only (stamped, naming no town: the
    decision judges it against its subject's town, engine/kernel/scope.py), so the decision may not
    apply it; a copy of it is not a duplicate, and goes to the decision too.
    Written as the digest followed by HELD.
    """

    position: str  # where the event was accepted: a copy at the same position is a redelivery
    # Of what the event says (`content_digest`): a copy that says otherwise is flagged as a conflict.
    # Without the SAID prefix (a mark stored before 2026-12-07), of the record's value bytes.
    digest: str
    # The event's time, epoch seconds, by which `engine.stream.marks` forgets old marks; None in a
    # mark stored before marks kept it.
    at: int | None
    held: bool = False

    def text(self) -> str:
        """The mark as stored."""
        stored = f"{self.position}|{self.digest}{HELD if self.held else ''}"
        return stored if self.at is None else f"{stored}|{self.at}"

    @classmethod
    def read(cls, text: str) -> Mark:
        """The inverse of `text`; also reads the `position|digest` marks of earlier versions."""
        position, _, rest = text.partition("|")
        digest, _, at = rest.partition("|")
        held = digest.endswith(HELD)
        return cls(position, digest[:-len(HELD)] if held else digest,
                   int(at) if at.lstrip("-").isdigit() else None, held)

    def says(self, event: Normalised, value: bytes) -> bool:
        """Whether the event this mark was set for says what `event`, carried by the record value
        `value`, says. A mark stored before 2026-12-07 holds the digest of its record's value, so
        it is told by `value` as it was then: only the same bytes say the same."""
        if self.digest.startswith(SAID):
            return self.digest == content_digest(event)
        return self.digest == _digest(value)


def _digest(value: bytes) -> str:
    return hashlib.blake2b(value, digest_size=8).hexdigest()


def content_digest(event: Normalised) -> str:
    """The digest a mark keeps of what an accepted event says, the same whatever carried it.

    What it says is its type, source, id, subject, time and data, as the timeline records them
    (`timeline.Normalised`: the time in Asia/Shanghai, the data with its defaults filled in), in
    JSON with sorted keys and no white space. So the binding's mode (structured, binary, one of a
    batch over HTTP), the JSON's spacing, key order and escapes, and what the record adds (its
    position, timestamp and the headers `POST /events` stamps) change nothing; nor do
    `datacontenttype` and extension attributes, which the engine neither records nor acts on:
    a copy differing there only would be taken for a changed record its field app must resend
    under a new id, and then be taken twice."""
    said = orjson.dumps([event.event_type.name, event.source, event.event_id, event.subject,
                         event.time, event.data], option=orjson.OPT_SORT_KEYS)
    return SAID + _digest(said)


def conflicting_copy(taken: str) -> RejectionError:
    """Why a copy of an event taken `taken` (before, at a position, with an event of the same
    request) under the same (`source`, `id`) but with other content is not taken: the first stands."""
    return RejectionError(
        loc=["id"], type="conflicting_copy",
        msg=f"an event with this source and id was taken {taken} with other content; the first "
            "stands and this copy is dropped: give a changed record an id of its own")


def conflicting_mark(seen: Callable[[str], str | None], event: Normalised,
                     content: bytes) -> Mark | None:
    """The mark `seen` holds of an event taken under `event`'s (`source`, `id`) that says other
    than `event`, sent as the record value `content`, if any: intake would drop it as a
    conflicting copy. What `POST /events` asks before it sends, where the worker that answers
    holds the marks."""
    stored = seen(event_key(event.source, event.event_id))
    if stored is None:
        return None
    mark = Mark.read(stored)
    return None if mark.says(event, content) else mark


def _received_at(record: Record) -> datetime:
    # The broker's timestamp, not the wall clock, so a replay writes the same thing; as text,
    # `iso_ms(record.timestamp_ms)` gives what `.isoformat()` of this gives, in a quarter of the time.
    return datetime.fromtimestamp(record.timestamp_ms / 1000, tz=UTC).astimezone(SHANGHAI)


def _arrived_ms(timestamp_ms: int, now: float | None, skew_s: int) -> int | None:
    """When a record reached the broker, as far as the engine's clock at `now` can vouch for it."""
    if now is None:
        return timestamp_ms
    now_ms = int(now * 1000)
    if timestamp_ms <= now_ms:
        return timestamp_ms
    return now_ms if timestamp_ms <= now_ms + skew_s * 1000 else None


def timing_problems(event: Normalised, at: int, stale_before: int | None,
                    future_after: int | None) -> list[RejectionError]:
    """Why a valid event with no mark cannot be taken for its times, in the order `decide_intake`
    judges them: a deadline it sets already passed at its own time (`at`, epoch seconds), else
    that time outside the window intake takes. The HTTP intake answers with these."""
    passed = deadline_problems(event.event_type.name, event.data, at)
    problem = None if passed else time_problem(at, stale_before, future_after)
    return passed or ([problem] if problem is not None else [])


def time_window(now: float, dedup_days: int, future_s: int) -> tuple[int | None, int | None]:
    """The event times intake takes at `now`, as `decide_intake`'s `stale_before` and
    `future_after`: HAZARD_DEDUP_DAYS back, HAZARD_FUTURE_S ahead; 0 leaves that side open."""
    return (int(now) - dedup_days * 86_400 if dedup_days else None,
            int(now) + future_s if future_s else None)


def output_id(kind: str, position: str) -> str:
    """A deterministic id for an output derived from one input position."""
    return uuid5_text(_NS, f"{kind}\x1f{position}")


def _excerpt(raw: bytes, limit: int) -> tuple[bytes, str | None]:
    """`raw` itself if it is within `limit` bytes, else its first `limit` bytes and its digest."""
    if len(raw) <= limit:
        return raw, None
    return raw[:limit], hashlib.sha256(raw).hexdigest()


def _bounded(errors: list[RejectionError]) -> list[RejectionError]:
    if len(errors) <= MAX_ERRORS:
        return errors
    more = RejectionError(loc=[], msg=f"and {len(errors) - MAX_ERRORS} more errors", type="too_many_errors")
    return [*errors[:MAX_ERRORS], more]


def _rejected_headers(record: Record) -> list[RejectedHeader] | None:
    """The record's first headers, each value whole or as an excerpt with its digest; None if none."""
    if not record.headers:
        return None
    out = []
    for name, value in record.headers[:MAX_HEADERS]:
        cut, digest = (None, None) if value is None else _excerpt(value, HEADER_EXCERPT_BYTES)
        out.append(RejectedHeader(
            name=name[:KEY_EXCERPT_BYTES],
            value_base64=None if cut is None else base64.b64encode(cut).decode("ascii"),
            value_bytes=len(value) if digest and value is not None else None, value_sha256=digest,
        ))
    return out


def _rejection(record: Record, errors) -> Outcome:
    received = _received_at(record)
    key_cut, key_digest = (None, None) if record.key is None else _excerpt(record.key, KEY_EXCERPT_BYTES)
    key = key_cut.decode("utf-8", "backslashreplace") if key_cut is not None else None
    raw, raw_digest = _excerpt(record.value or b"", RAW_EXCERPT_BYTES)
    data = IntakeRejected(
        topic=record.topic, partition=record.partition, offset=record.offset, key=key,
        received_at=received, errors=_bounded(list(errors)),
        raw_base64=base64.b64encode(raw).decode("ascii"),
        key_bytes=len(record.key or b"") if key_digest else None, key_sha256=key_digest,
        raw_bytes=len(record.value or b"") if raw_digest else None, raw_sha256=raw_digest,
        headers=_rejected_headers(record),
    ).dump()
    event = {
        "specversion": "1.0",
        "id": output_id("rejected", record.position),
        "source": ENGINE_SOURCE,
        "type": "safety.intake.rejected",
        "time": received.isoformat(),
        "subject": key or record.position,
        "datacontenttype": "application/json",
        "data": data,
    }
    out_key = record.key if key_digest is None else f"sha256:{key_digest}".encode()
    return Outcome("rejected", (Send(INTAKE_REJECTED, out_key, encode(event)),),
                   reasons=tuple(e.type for e in errors))


def processing_failure(record: Record, exc: BaseException) -> Outcome:
    """The rejection of a record whose processing raised: the engine's fault, not the sender's.

    It goes to `intake.rejected` like any rejection, with the error type
    `processing_error` and the exception, so the record is accounted for and
    can be sent again once the cause is fixed (`hazard-engine deadletter redecide`).
    """
    error = RejectionError(loc=[], msg=f"the engine failed on this record: {type(exc).__name__}: "
                           f"{exc}"[:2000], type="processing_error")
    return _rejection(record, [error])


def _fast(record: Record, topic: str, known: KnownIds, max_bytes: int) -> Normalised | None:
    """The event if the fast path accepts the record (structured, no headers), else None."""
    if record.headers or record.value is None or len(record.value) > max_bytes:
        return None
    parsed = parsed_as_it_is(record.value)
    if type(parsed) is not dict:
        return None
    return fast.accept(parsed, topic, known, record.key)


def decide_intake(record: Record, seen: Callable[[str], str | None], known: KnownIds,
                  max_bytes: int = MAX_RECORD_BYTES, contract_topic: str | None = None,
                  home: Callable[[str], int] | None = None, stale_before: int | None = None,
                  future_after: int | None = None, now: float | None = None,
                  skew_s: int = 0, town_of: TownOf = _unknown_town) -> Outcome:
    """Validate, de-duplicate and normalise one record, in either mode of the CloudEvents Kafka binding.

    The record's headers tell the mode; its key, when not null, must be the
    event's subject. `contract_topic` is the record's topic as the contract names it, when the
    engine runs with a topic prefix; sends name contract topics too. `home` gives the partition
    a subject's records land on; with it, a valid record on another partition (a null key, or a
    key a client's own partitioner placed elsewhere: librdkafka's default is CRC32, not
    murmur2) is `forwarded` (no sends, no mark: the caller sends it on, keyed by `subject`),
    before its marks are looked at, so its duplicates are caught where the subject's marks
    are. Without it, every record is handled where it is.

    `stale_before` (epoch seconds) is where the marks kept begin: an event that happened
    before it, with no mark, is rejected as `stale`, as its first copy's mark may be gone
    (`engine.stream.marks`). A copy whose mark is still kept is a duplicate all the same.
    An event that happened after `future_after` (the engine's clock and some leeway) is
    rejected as `future`. None: no such bound (`validate.time_problem`). A report's or a
    finding's `rectify_by` before the event's own time is rejected as `deadline_passed`,
    like any record the contract's checks refuse: where it lands, whatever the marks
    (`validate.deadline_problems`).

    An entry's `arrived_at` is when its record reached the broker (the record's
    timestamp, which the broker sets on the intake topics: LogAppendTime), the time the
    rules count a late event's duty clock from (rules: duties.late_arrival). `now` is the
    engine's clock as it takes the record: a timestamp up to `skew_s` ahead of it is taken
    as `now`, and one further ahead is no arrival the engine can vouch for (the broker's
    clock is wrong, a topic stamped by a wrong producer, or a simulation's clock runs behind
    the machine's): the entry then has no `arrived_at`, and its clocks
    count from its own time. Without `now`, the timestamp is taken as it is.

    A record `POST /events` stamped with its token's towns (`scope.TOWNS_HEADER`) is held to
    them: the town it names and its subject's town (`town_of`, from the subject's state) must
    be among them, else it is rejected as `outside_scope`; a subject whose town is not known
    yet is `scope_unknown` (engine/intake/scope.py). A redelivery was judged when it came first.
    """
    event = _fast(record, contract_topic or record.topic, known, max_bytes)
    if event is not None:
        content = record.value
    else:
        result = validate_kafka_record(record.key, record.headers, record.value,
                                       contract_topic or record.topic, known, max_bytes)
        if not isinstance(result, Accepted):
            return _rejection(record, result.errors)
        content = result.content if result.content is not None else record.value
        event = normalised(result.event, result.event_type)
    source, event_id, subject = event.source, event.event_id, event.subject
    # What the event says alone, judged like the contract's checks: where it lands, whatever the marks.
    at = epoch(event.time)
    passed = deadline_problems(event.event_type.name, event.data, at)
    if passed:
        return _rejection(record, passed)
    if home is not None and home(subject) != record.partition:
        return Outcome("forwarded", (), event_id=event_id, subject=subject)
    assert content is not None  # a structured record without a value is rejected
    key, previous = _marked(seen, event, record, content)
    if previous is not None and previous.position != record.position:
        conflicting = not previous.says(event, content)
        if previous.held and not conflicting:
            return _copy(record, event, key, previous, town_of, now, skew_s)
        duplicate = {
            "id": output_id("duplicate", record.position),
            "source": source,
            "event_id": event_id,
            "subject": subject,
            "position": record.position,
            "first_position": previous.position,
            "conflicting": conflicting,
            "received_at": iso_ms(record.timestamp_ms),
        }
        sends = (Send(DUPLICATES, subject.encode(), encode(duplicate)),)
        if conflicting and any(name == FIELD_APP_HEADER for name, _ in record.headers):
            # Sent by POST /events, answered 202 by a door that held no mark of the first: its
            # field app reads why its changed record was not taken at GET /events/rejected.
            sends += _rejection(record, [conflicting_copy(f"at {previous.position}")]).sends
        return Outcome("duplicate", sends, event_id=event_id, subject=subject,
                       reasons=("conflicting_copy",) if len(sends) > 1 else ())
    # Its time against the engine's clock only now: a copy with a mark is a duplicate whenever it
    # comes, and a redelivery was judged when it came first.
    problem = time_problem(at, stale_before, future_after) if previous is None else None
    if problem is not None:
        return _rejection(record, [problem])
    towns = towns_of(record.headers) if record.headers else None
    if towns is not None and previous is None:
        outside = scope_problems(event, towns, town_of)
        if outside:
            return _rejection(record, outside)
    arrived = _arrived_ms(record.timestamp_ms, now, skew_s)
    sends = _timeline(record, event, key, arrived,
                      stamp_fields(towns, record.headers) if towns is not None else None)
    kind: Kind = "redelivered" if previous is not None else "accepted"
    # A redelivery's: the one it set, with its time (and, set before 2026-12-07, its digest anew).
    # Held whenever the decision may yet keep it waiting or turn it away: stamped and naming no
    # town. What this worker knows of the subject's town is no promise of the decision's (a report
    # taken but not decided, a town an earlier-dated record moves, an enterprise found only by a
    # token's records), so a copy is never dropped here; the decision knows one it applied.
    held = previous.held if previous is not None else towns is not None and named_town(event) is None
    # `Mark(record.position, content_digest(event), at, held).text()`, written without the tuple.
    mark = f"{record.position}|{content_digest(event)}{HELD if held else ''}|{at}"
    # Every field in its place (kind, sends, remember, event_id, subject, reasons, delay_s, opened):
    # `_tuple`, not Outcome's keywords, on the path every accepted record takes.
    return _tuple(Outcome, (kind, sends, (key, mark), event_id, subject, (),
                            None if arrived is None else arrived // 1000 - at, opened_towns(event)))


def _timeline(record: Record, event: Normalised, key: str, arrived: int | None,
              extra: dict[str, object] | None) -> tuple[Send, ...]:
    """The timeline records of an event taken from `record`, each entry given `extra` where there is
    one: what it carries of a field-app token's stamp (`scope.stamp_fields`), and a copy's mark, on
    an inspection's findings and its enterprise's entry as on its own (engine/kernel/scope.py)."""
    origin = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    received_at = iso_ms(record.timestamp_ms)
    arrived_at = (None if arrived is None else received_at if arrived == record.timestamp_ms
                  else iso_ms(arrived))
    pairs = entries_of(event, origin, received_at, arrived_at, key)
    if extra is not None:
        for _, entry in pairs:
            entry.update(extra)
    return tuple([_tuple(Send, (TIMELINE, entry_key.encode("utf-8"), encode(entry)))
                  for entry_key, entry in pairs])


def _copy(record: Record, event: Normalised, key: str, previous: Mark, town_of: TownOf, now: float | None,
          skew_s: int) -> Outcome:
    """A copy, at another position, of an event taken for a field-app token's towns only
    (`Mark.held`): not a duplicate, since the decision may turn the first away (its subject lies
    outside that token's towns) while this copy's sender may send it. Held to its own stamp here as
    any event is; taken, its entries go to the timeline marked as a copy, and the decision judges
    the copies together (engine/kernel/scope.py). One without a stamp makes the event unconditional,
    and its mark no longer held: later copies are duplicates again."""
    towns = towns_of(record.headers) if record.headers else None
    if towns is not None:
        outside = scope_problems(event, towns, town_of)
        if outside:
            return _rejection(record, outside)
    arrived = _arrived_ms(record.timestamp_ms, now, skew_s)
    sends = _timeline(record, event, key, arrived,
                      {**(stamp_fields(towns, record.headers) if towns is not None else {}), COPY: True})
    mark = Mark(previous.position, previous.digest, previous.at, towns is not None)
    delay = None if arrived is None else arrived // 1000 - epoch(event.time)
    return Outcome("accepted", sends, remember=(key, mark.text()), event_id=event.event_id,
                   subject=event.subject, delay_s=delay)
