"""The read side of several workers (engine/stream/replica.py), fed with in-memory changelog records.

A state here is `id|town`: `place_of` files it by that town, and the view
shows both, so the tests can see which copy (the worker's own, or the
replica) answered.
"""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from engine.feeds.filters import Filters
from engine.feeds.index import Indices, Place, PlaceIndex
from engine.feeds.share import LoopShare
from engine.feeds.tokens import Scope
from engine.feeds.views import TableSource
from engine.health import Readiness
from engine.stream.replica import ReadTable, Replica, history_side, read_side
from engine.stream.tables import Table

CHANGELOG = "app-hazards-changelog"
DISTRICT = Scope("district", frozenset(), frozenset(), True)
HUXI = Scope("huxi-office", frozenset({"huxi"}), frozenset(), False)


def place_of(kind: str, raw: bytes) -> Place:
    if b"|" not in raw:
        raise ValueError("not a state")
    return Place.of(raw.decode().split("|")[1], (), None)


def view(raw: bytes, record: object = None) -> dict:
    id_, town = raw.decode().split("|")
    return {"id": id_, "town": town, "departments": []}


def st(subject: str, town: str) -> bytes:
    return f"{subject}|{town}".encode()


def replica() -> Replica:
    return Replica({"hazard": CHANGELOG}, place_of)


def own(*rows: tuple[str, str, int]) -> tuple[Table, PlaceIndex]:
    """A worker's own table and index with (subject, town, partition) rows."""
    table, index = Table(CHANGELOG), PlaceIndex()
    for subject, town, partition in rows:
        table.put(subject.encode(), st(subject, town), partition)
        index.put(subject, Place.of(town, (), None))
    return table, index


def source(r: Replica, table: Table, index: PlaceIndex) -> TableSource:
    read, places, behind = read_side(r, "hazard", table, index)
    made = TableSource(read, view, places)
    made.behind = behind
    return made


def listed(made: TableSource, scope: Scope = DISTRICT, limit: int = 2) -> list[str]:
    """Every id a client paging through the list with `limit` gets, in order."""
    async def run() -> list[str]:
        share, ids, after = LoopShare(1.0, 8), [], None
        while True:
            chosen, last = await made.page(scope, Filters(), None, after, limit, 0.0, share)
            ids += [item["id"] for item in chosen]
            if last is None:
                return ids
            after = last

    return asyncio.run(run())


def test_records_of_other_partitions_are_kept_and_own_ones_only_counted() -> None:
    r = replica()
    assert not r.owned_known.is_set()  # the reader waits for the worker's first assignment
    r.release([0])  # partition 0 is the worker's own
    assert r.owned_known.is_set()
    r.apply(CHANGELOG, 0, 0, b"HZ-A", st("HZ-A", "huxi"))
    r.apply(CHANGELOG, 1, 0, b"HZ-B", st("HZ-B", "yuji"))
    r.apply(CHANGELOG, 1, 1, b"HZ-B", st("HZ-B", "huxi"))  # a later state of the same subject replaces it
    assert dict(r.tables["hazard"]) == {b"HZ-B": st("HZ-B", "huxi")}
    assert r.indices["hazard"].get("HZ-B") == Place.of("huxi", (), None)
    assert r.positions == {(CHANGELOG, 0): 1, (CHANGELOG, 1): 2}


def test_a_tombstone_removes_the_state_and_its_place() -> None:
    r = replica()
    r.apply(CHANGELOG, 1, 0, b"HZ-B", st("HZ-B", "yuji"))
    r.apply(CHANGELOG, 1, 1, b"HZ-B", None)
    assert len(r.tables["hazard"]) == 0 and r.indices["hazard"].get("HZ-B") is None
    assert len(r.indices["hazard"]) == 0


def test_an_unreadable_record_is_skipped_and_counted_past() -> None:
    r = replica()
    r.apply(CHANGELOG, 1, 0, b"HZ-B", b"garbage")
    r.apply(CHANGELOG, 1, 1, b"HZ-C", st("HZ-C", "yuji"))
    assert list(r.tables["hazard"]) == [b"HZ-C"] and r.positions[(CHANGELOG, 1)] == 2


def test_lag_counts_only_the_partitions_the_replica_answers_for() -> None:
    r = replica()
    r.release([0])
    r.note_ends({(CHANGELOG, 0): 50, (CHANGELOG, 1): 10})
    assert r.lag("hazard") == 10  # partition 0 is the worker's own: its lag is the consumer lag
    r.apply(CHANGELOG, 1, 6, b"HZ-B", st("HZ-B", "yuji"))
    assert r.lag("hazard") == 3 and r.lags() == {"hazard": 3}
    assert not r.caught_up.is_set()


def test_caught_up_once_it_read_what_the_changelogs_held_at_the_start() -> None:
    r = replica()
    r.note_ends({(CHANGELOG, 0): 2, (CHANGELOG, 1): 0})
    r.apply(CHANGELOG, 0, 0, b"HZ-A", st("HZ-A", "huxi"))
    r.note_ends({(CHANGELOG, 0): 5})  # more came meanwhile: not what catching up waits for
    assert not r.caught_up.is_set()
    r.apply(CHANGELOG, 0, 1, b"HZ-A", st("HZ-A", "yuji"))
    r.note_ends({(CHANGELOG, 0): 5})
    assert r.caught_up.is_set() and r.lag("hazard") == 3


def test_revoked_partitions_move_into_the_replica_without_an_empty_moment() -> None:
    r = replica()
    r.release([0, 1])
    table, index = own(("HZ-A", "huxi", 0), ("HZ-B", "yuji", 1))
    made = source(r, table, index)
    assert made.get("HZ-A") == {"id": "HZ-A", "town": "huxi", "departments": []}
    assert r.hand_over({"hazard": table}, {}, lambda kind: index, [1]) == 1
    assert list(table) == [b"HZ-A"] and list(r.tables["hazard"]) == [b"HZ-B"]
    assert made.get("HZ-B") is not None and made.place("HZ-B") == Place.of("yuji", (), None)
    r.apply(CHANGELOG, 1, 7, b"HZ-B", st("HZ-B", "huxi"))  # another worker owns it now and writes on
    assert made.get("HZ-B")["town"] == "huxi"
    assert listed(made) == ["HZ-A", "HZ-B"]


def test_assigned_partitions_stay_answered_by_the_replica_until_recovered() -> None:
    r = replica()  # nothing owned yet: every partition is replicated
    r.apply(CHANGELOG, 0, 0, b"HZ-A", st("HZ-A", "huxi"))
    r.apply(CHANGELOG, 1, 0, b"HZ-B", st("HZ-B", "yuji"))
    table, index = own()
    made = source(r, table, index)
    # The worker is assigned partition 0 and reads its table: half-way, HZ-A is still answered.
    table.put(b"HZ-X", st("HZ-X", "yuji"), 0)
    assert listed(made) == ["HZ-A", "HZ-B"] and made.get("HZ-A")["town"] == "huxi"
    table.put(b"HZ-A", st("HZ-A", "huxi"), 0)
    index.rebuild([("HZ-A", Place.of("huxi", (), None))])
    assert r.release([0]) == 1  # recovered: its own table answers, the replica forgets it
    assert list(r.tables["hazard"]) == [b"HZ-B"] and r.indices["hazard"].get("HZ-A") is None
    assert listed(made, limit=1) == ["HZ-A", "HZ-B"]
    r.apply(CHANGELOG, 0, 1, b"HZ-A", st("HZ-A", "yuji"))  # its own writes come back through the changelog
    assert r.tables["hazard"].get(b"HZ-A") is None


def test_every_kind_and_its_history_is_handed_over_not_only_the_first() -> None:
    """The partitions are disowned once every kind has moved: the second kind's states are not lost."""
    r = Replica({"hazard": CHANGELOG, "alert": "app-alerts-changelog"}, place_of,
                {"hazard": "app-hazards-history-changelog", "alert": "app-alerts-history-changelog"})
    r.release([0, 1])
    hazards, hazard_index = own(("HZ-A", "huxi", 0), ("HZ-B", "yuji", 1))
    alerts, alert_index = Table("app-alerts-changelog"), PlaceIndex()
    alerts.put(b"AL-A", st("AL-A", "huxi"), 1)
    hazard_chunks, alert_chunks = Table("h"), Table("a")
    hazard_chunks.put(b"HZ-B#0", b"[B0]", 1)
    alert_chunks.put(b"AL-A#0", b"[A0]", 1)
    indices = {"hazard": hazard_index, "alert": alert_index}
    moved = r.hand_over({"hazard": hazards, "alert": alerts},
                        {"hazard": hazard_chunks, "alert": alert_chunks}, indices.__getitem__, [1])
    assert moved == 4 and r.owned == {0}
    assert list(r.tables["hazard"]) == [b"HZ-B"] and list(r.tables["alert"]) == [b"AL-A"]
    assert r.indices["alert"].get("AL-A") == Place.of("huxi", (), None)
    assert dict(r.histories["alert"]) == {b"AL-A#0": b"[A0]"}
    assert list(hazards) == [b"HZ-A"] and len(alerts) == 0 and len(alert_chunks) == 0


def test_a_recovery_hands_every_own_partition_over_and_takes_them_back() -> None:
    r = replica()
    r.release([0, 1])
    table, index = own(("HZ-A", "huxi", 0), ("HZ-B", "yuji", 1))
    made = source(r, table, index)
    assert r.hand_over({"hazard": table}, {}, lambda kind: index) == 2 and r.owned == set()
    table.clear()
    assert listed(made) == ["HZ-A", "HZ-B"]
    r.apply(CHANGELOG, 1, 3, b"HZ-C", st("HZ-C", "yuji"))  # another worker writes meanwhile
    table.put(b"HZ-A", st("HZ-A", "huxi"), 0)
    index.rebuild([("HZ-A", Place.of("huxi", (), None))])
    r.release([0])  # the worker owns only partition 0 now
    assert listed(made, limit=5) == ["HZ-A", "HZ-B", "HZ-C"]
    assert listed(made, scope=HUXI) == ["HZ-A"]


def test_a_half_read_table_never_overwrites_what_the_replica_follows() -> None:
    """A recovery that failed half-way leaves older states in the table: the replica keeps its own."""
    r = replica()
    r.release([0])
    table, index = own(("HZ-A", "huxi", 0))
    r.hand_over({"hazard": table}, {}, lambda kind: index)  # a recovery starts: all to the replica
    r.apply(CHANGELOG, 0, 9, b"HZ-A", st("HZ-A", "yuji"))  # written on meanwhile
    table.put(b"HZ-A", st("HZ-A", "huxi"), 0)  # the recovery read an older record, then failed
    assert r.hand_over({"hazard": table}, {}, lambda kind: index) == 0  # the retry hands over nothing
    assert len(table) == 0 and r.tables["hazard"][b"HZ-A"] == st("HZ-A", "yuji")
    assert r.indices["hazard"].get("HZ-A") == Place.of("yuji", (), None)


def test_read_table_prefers_the_replica_and_lists_each_key_once() -> None:
    replica_part = {b"HZ-A": b"replica", b"HZ-C": b"replica"}
    own_part = {b"HZ-A": b"own", b"HZ-B": b"own"}
    read = ReadTable(replica_part, own_part)
    assert read[b"HZ-A"] == b"replica" and read[b"HZ-B"] == b"own" and read.get(b"HZ-Z") is None
    assert sorted(read) == [b"HZ-A", b"HZ-B", b"HZ-C"] and len(read) == 3


def test_indices_page_through_both_without_gaps_or_repeats() -> None:
    first, second = PlaceIndex(), PlaceIndex()
    for n in range(0, 30, 2):
        first.put(f"HZ-{n:02}", Place.of("huxi", (), None))
    for n in range(1, 30, 3):  # some ids are in both, as while a partition moves
        second.put(f"HZ-{n:02}", Place.of("yuji" if n % 2 else "huxi", (), None))
    both = Indices(first, second)
    seen, after = [], None
    while True:
        ids, after = both.scan(DISTRICT, Filters(), None, 0.0, after, 4)
        seen += ids
        if after is None:
            break
    want = sorted({f"HZ-{n:02}" for n in range(0, 30, 2)} | {f"HZ-{n:02}" for n in range(1, 30, 3)})
    assert seen == want and len(both) == len(want)
    assert both.get("HZ-04") == Place.of("huxi", (), None)
    assert both.get("HZ-01") == Place.of("yuji", (), None) and both.get("HZ-99") is None


def test_without_replicas_the_pages_read_the_own_table_alone() -> None:
    table, index = own(("HZ-A", "huxi", 0))
    read, places, behind = read_side(None, "hazard", table, index)
    assert read is table and places is index and behind is None


def test_the_lag_reaches_the_source() -> None:
    r = replica()
    r.note_ends({(CHANGELOG, 1): 4})
    table, index = own()
    made = source(r, table, index)
    assert made.behind() == 4


def test_readiness_waits_for_the_replica_to_catch_up_once() -> None:
    r = replica()
    ready = Readiness(frozenset({"hazard"}), False, 1.0, monotonic=lambda: 100.0,
                      replica_caught_up=r.caught_up.is_set)
    ready.table_recovered("hazard")
    ready.broker_answered()
    assert ready.report()[1]["missing"] == ["replica"]
    r.note_ends({(CHANGELOG, 0): 0})
    ok, body = ready.report()
    assert ok and body["checks"]["replica"] == "caught up"


def test_many_places_come_and_go_at_once_as_one_by_one() -> None:
    """Bulk changes (a hand-over) rebuild the index when they are many; the result is the same."""
    def places(n: int, town: str) -> list[tuple[str, Place]]:
        return [(f"HZ-{i:03}", Place.of(town, ("fire_rescue",), None)) for i in range(n)]

    for first, then in ((100, 10), (10, 100)):  # a few into many, and many into a few
        bulk, single = PlaceIndex(), PlaceIndex()
        for index in (bulk, single):
            index.rebuild(places(first, "huxi"))
        bulk.put_many(places(then, "yuji"))
        for id_, place in places(then, "yuji"):
            single.put(id_, place)
        assert bulk.places == single.places
        for scope in (DISTRICT, HUXI):
            assert bulk.scan(scope, Filters(), None, 0.0, None, 500) == \
                single.scan(scope, Filters(), None, 0.0, None, 500)
        gone = [f"HZ-{i:03}" for i in range(0, max(first, then), 2)]
        bulk.discard_many(gone)
        for id_ in gone:
            single.discard(id_)
        assert bulk.places == single.places and len(bulk) == len(single)
        assert bulk.scan(HUXI, Filters(), None, 0.0, None, 500) == \
            single.scan(HUXI, Filters(), None, 0.0, None, 500)


HISTORY = "app-hazards-history-changelog"


def test_history_chunks_are_replicated_adopted_and_released_with_their_partitions() -> None:
    """Chunks of other partitions are kept, the worker's own are counted past; on revocation the
    worker's chunks move in (adopted before the states, which disown the partition), and a
    recovered partition's chunks leave again; the pages read replica and own as one."""
    r = Replica({"hazard": CHANGELOG}, place_of, {"hazard": HISTORY})
    r.release([0])  # the worker owns partition 0
    r.apply(HISTORY, 1, 0, b"HZ-B#0", b"[chunk B0]")
    r.apply(HISTORY, 0, 0, b"HZ-A#0", b"[chunk A0 from the changelog]")
    assert dict(r.histories["hazard"]) == {b"HZ-B#0": b"[chunk B0]"}
    assert r.positions[(HISTORY, 0)] == 1
    r.ends[(HISTORY, 1)] = 3
    assert r.lag("hazard") == 2  # the history changelog's records count in the kind's lag

    own_history = Table(HISTORY)
    own_history.put(b"HZ-A#0", b"[chunk A0]", 0)
    both = history_side(r, "hazard", own_history)
    assert both[b"HZ-A#0"] == b"[chunk A0]" and both[b"HZ-B#0"] == b"[chunk B0]"
    assert history_side(None, "hazard", own_history) is own_history

    table, index = own(("HZ-A", "huxi", 0))
    assert r.hand_over({"hazard": table}, {"hazard": own_history}, lambda kind: index, [0]) == 2
    assert len(own_history) == 0 and r.histories["hazard"][b"HZ-A#0"] == b"[chunk A0]"
    r.apply(HISTORY, 0, 1, b"HZ-A#1", b"[chunk A1]")  # followed here now
    assert b"HZ-A#1" in r.histories["hazard"]
    r.release([0])
    assert set(r.histories["hazard"]) == {b"HZ-B#0"}


class Reader:
    """What `Replica._follow_now` asks of its consumer: which partitions it pauses, seeks and resumes."""

    def __init__(self) -> None:
        self.fetching: set[TopicPartition] = set()
        self.seeks: list[tuple[int, int]] = []

    def pause(self, *tps: TopicPartition) -> None:
        self.fetching -= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.fetching |= set(tps)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp.partition, offset))


TPS = [TopicPartition(CHANGELOG, p) for p in range(3)]


def test_the_reader_fetches_no_partition_the_worker_owns() -> None:
    """A worker that owns every partition wrote or read every record of them: its replica reads nothing."""
    r, reader = replica(), Reader()
    r.release([0, 1, 2])
    followed = r._follow_now(reader, TPS, None, {tp: 0 for tp in TPS})
    assert followed == set() and reader.fetching == set() and reader.seeks == []


def test_a_partition_given_up_is_read_on_from_where_the_worker_s_table_was_complete() -> None:
    r, reader = replica(), Reader()
    r.release([0, 1])
    starts = {tp: 5 for tp in TPS}  # compaction removed the first five records of each
    followed = r._follow_now(reader, TPS, None, starts)
    assert followed == {TPS[2]} and reader.seeks == [(2, 5)]  # never before the first kept record
    table, index = own(("HZ-A", "huxi", 0), ("HZ-B", "yuji", 1))
    table.reached(1, 40)  # the worker read and wrote partition 1 up to offset 40
    r.hand_over({"hazard": table}, {}, lambda kind: index, [1])
    assert table.complete == {} and r.positions[(CHANGELOG, 1)] == 40
    followed = r._follow_now(reader, TPS, followed, starts)
    assert followed == {TPS[1], TPS[2]} == reader.fetching and reader.seeks[1:] == [(1, 40)]
    assert r._follow_now(reader, TPS, followed, starts) == followed and len(reader.seeks) == 2


def test_a_partition_taken_back_and_given_up_again_before_the_reader_looked_is_sought_again() -> None:
    """Released and handed over between two fetches: the reader's own position is older than the
    table it took over, so it seeks to where the table stood rather than reading on."""
    r, reader = replica(), Reader()
    r.release([0])
    followed = r._follow_now(reader, TPS, None, {tp: 0 for tp in TPS})
    r.release([1])
    table, index = own(("HZ-B", "yuji", 1))
    table.reached(1, 70)
    r.hand_over({"hazard": table}, {}, lambda kind: index, [1])
    r._follow_now(reader, TPS, followed, {tp: 0 for tp in TPS})
    assert reader.seeks[-1] == (1, 70)


def test_caught_up_does_not_wait_for_partitions_the_worker_owns() -> None:
    r = replica()
    r.release([0])
    r.note_ends({(CHANGELOG, 0): 90, (CHANGELOG, 1): 1})
    assert not r.caught_up.is_set()
    r.apply(CHANGELOG, 1, 0, b"HZ-B", st("HZ-B", "yuji"))
    r.note_ends({})
    assert r.caught_up.is_set()


def test_a_table_is_complete_up_to_the_last_write_and_forgets_partitions_it_drops() -> None:
    table = Table(CHANGELOG)
    table.reached(0, 10)
    table.reached(0, 7)  # an older acknowledgement never moves it back
    table.reached(1, 3)
    assert table.complete == {0: 10, 1: 3}
    table.drop([1])
    assert table.complete == {0: 10}
    table.clear()
    assert table.complete == {}
