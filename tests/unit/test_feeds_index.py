"""The feeds' index: lists cost what the caller may see, page by key, and follow stored states."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from decide_fixtures import RULES
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cores import build_cores
from engine.decide.state import Hazard
from engine.feeds import views
from engine.feeds.filters import Filters, RecordPage, item_visible
from engine.feeds.index import Place, PlaceIndex, hazard_place
from engine.feeds.share import Busy, LoopShare
from engine.feeds.tokens import Scope
from engine.feeds.views import TableSource, hazard_view
from engine.kernel.targets import lead_department
from engine.metrics import HazardGauges
from engine.store import pack, unpack
from engine.views import Derived

pytestmark = pytest.mark.unit

NOW = 1_790_100_000
TOWNS = ("huxi", "yuji", "shuanghu")
SCOPES = (Scope("district", district=True), Scope("huxi", towns=frozenset({"huxi"})),
          Scope("fire", departments=frozenset({"fire_rescue"})),
          Scope("huxi-fire", towns=frozenset({"huxi"}), departments=frozenset({"fire_rescue"})),
          Scope("two", towns=frozenset({"huxi", "yuji"})))
FILTERS = (Filters(), Filters(towns=frozenset({"huxi"})), Filters(towns=frozenset({"huxi", "yuji"})),
           Filters(departments=frozenset({"fire_rescue"})),
           Filters(departments=frozenset({"fire_rescue", "emergency_management"})))


def hazard(n: int, town: str, lead: str | None, deadline: int | None, closed: bool) -> Hazard:
    return Hazard(f"HZ-{n:05d}", opened=f"e{n}", opened_at=NOW - 10 * 86400, title="t",
                  sector="fire_safety", town=town, lead=lead, deadline=deadline,
                  closed_how="passed" if closed else None)


def source_of(hazards: list[Hazard], decoded: list[str] | None = None) -> TableSource:
    """A source over packed hazards, indexed as Derived indexes them; `decoded` logs decodes."""
    index = PlaceIndex()
    for h in hazards:
        index.put(h.id, hazard_place(h, lead_department(h, RULES)))

    def view(raw: bytes, record: RecordPage | None) -> dict[str, Any]:
        h = unpack(raw)
        if decoded is not None:
            decoded.append(h.id)
        return hazard_view(h, RULES, NOW, record)
    return TableSource({h.id.encode(): pack(h) for h in hazards}, view, index)


def walk(source: TableSource, scope: Scope, filters: Filters, overdue: bool | None,
         limit: int) -> list[str]:
    """Every id the pages give, following the cursor from the first page to the last."""
    seen: list[str] = []
    after = None
    while True:
        page, after = asyncio.run(source.page(scope, filters, overdue, after, limit, NOW,
                                              LoopShare(1.0)))
        assert len(page) <= limit
        seen += [item["id"] for item in page]
        if after is None:
            return seen


HAZARDS = st.lists(st.tuples(st.sampled_from(TOWNS),
                             st.sampled_from([None, "fire_rescue", "emergency_management"]),
                             st.one_of(st.none(), st.integers(NOW - 86400, NOW + 86400)),
                             st.booleans()), max_size=60)


@settings(max_examples=200, deadline=None)
@given(HAZARDS, st.sampled_from(SCOPES), st.sampled_from(FILTERS),
       st.sampled_from([None, True, False]), st.integers(1, 7), st.integers(1, 5))
def test_pages_give_exactly_what_a_full_scan_would(rows: list[tuple[Any, ...]], scope: Scope,
                                                   filters: Filters, overdue: bool | None,
                                                   limit: int, chunk: int) -> None:
    """Walking the cursors yields every visible item once, in id order, as decoding all would."""
    hazards = [hazard(n, *row) for n, row in enumerate(rows)]
    source = source_of(hazards)
    expected = sorted(v["id"] for v in source.items() if item_visible(v, filters, scope, overdue))
    original = views.SCAN_CHUNK
    views.SCAN_CHUNK = chunk  # small chunks exercise the merge of several towns' lists
    try:
        assert walk(source, scope, filters, overdue, limit) == expected
    finally:
        views.SCAN_CHUNK = original


def test_a_page_decodes_only_its_own_items() -> None:
    """Among 6,000 stored hazards, a town's page of 20 decodes 20 states, not 6,000."""
    decoded: list[str] = []
    source = source_of([hazard(n, TOWNS[n % 3], None, NOW - 1, False) for n in range(6000)], decoded)
    page, after = asyncio.run(source.page(SCOPES[1], Filters(), True, None, 20, NOW, LoopShare()))
    assert [item["town"] for item in page] == ["huxi"] * 20 and after == page[-1]["id"]
    assert sorted(decoded) == [item["id"] for item in page]


def test_index_follows_changes_of_town_department_and_state() -> None:
    """A subject that moves or closes is found where it is now, and nowhere else."""
    index = PlaceIndex()
    index.put("HZ-1", Place("huxi", ("fire_rescue",), NOW - 5))
    index.put("HZ-2", Place("yuji", (), None))
    index.put("HZ-1", Place("yuji", ("emergency_management",), None))
    scan = index.scan(Scope("huxi", towns=frozenset({"huxi"})), Filters(), None, NOW, None, 10)
    assert scan == ([], None)
    ids, _ = index.scan(Scope("y", towns=frozenset({"yuji"})), Filters(), None, NOW, None, 10)
    assert ids == ["HZ-1", "HZ-2"]
    ids, _ = index.scan(Scope("f", departments=frozenset({"fire_rescue"})), Filters(), None, NOW,
                        None, 10)
    assert ids == [] and len(index) == 2
    assert Place.decode(Place("a", ("b",), 3).encode("v1"), "v1") == Place("a", ("b",), 3)
    assert Place.decode(Place("a", ("b",), 3).encode("v1"), "v2") is None
    assert Place.decode(b"not json", "v1") is None
    assert (Place("a", ("b",), 3).encode("v1")
            == b'{"rules":"v1","town":"a","departments":["b"],"overdue_after":3}')
    assert Place.decode(b'["v1","a",["b"],3]', "v1") == Place("a", ("b",), 3)  # stored before names
    assert Place.decode(b'{"rules":"v1","town":"a"}', "v1") is None  # not a whole place


_MOVES = st.lists(st.tuples(st.sampled_from(["HZ-1", "HZ-2", "HZ-3"]),
                            st.none() | st.tuples(st.sampled_from(["huxi", "yuji", None]),
                                                  st.sampled_from([(), ("fire_rescue",),
                                                                   ("fire_rescue", "emergency_management")]),
                                                  st.sampled_from([None, NOW - 5, NOW + 5]))),
                  max_size=30)


@given(_MOVES)
@settings(max_examples=300, deadline=None)
def test_index_kept_by_changes_is_the_index_built_afresh(moves: list[tuple[str, Any]]) -> None:
    """Put and discarded in any order (a new deadline alone, a new town, a new department, gone),
    the index lists what an index built from the final places lists."""
    index, final = PlaceIndex(), {}
    for id_, where in moves:
        if where is None:
            index.discard(id_)
            final.pop(id_, None)
        else:
            index.put(id_, Place(*where))
            final[id_] = Place(*where)
    fresh = PlaceIndex()
    fresh.rebuild(final.items())
    assert index.places == fresh.places and list(index._all) == list(fresh._all)
    for kept, built in ((index._towns, fresh._towns), (index._departments, fresh._departments)):
        assert {k: list(v) for k, v in kept.items() if v} == {k: list(v) for k, v in built.items()}


def derived() -> Derived:
    return Derived.build(build_cores(RULES, None), RULES, lambda: NOW, enterprises=False)


def test_stored_states_carry_their_place_and_a_recovery_reads_it_without_decoding() -> None:
    """Derived.store files each state in the index; rebuild restores the same index from headers."""
    d = derived()
    stored = {}
    for n in range(30):
        h = hazard(n, TOWNS[n % 3], "fire_rescue" if n % 2 else None, NOW - n, n % 5 == 0)
        stored[h.id.encode()] = d.store("hazard", h)
    before = dict(d.place_index("hazard").places)
    assert before["HZ-00001"] == Place("yuji", ("fire_rescue",), NOW - 1)
    assert before["HZ-00005"].overdue_after is None  # closed

    fresh, decoded = derived(), []
    core = fresh.cores["hazard"]
    counting = type(core)(core.kind, core.decide, lambda raw: decoded.append(1) or core.decode(raw),
                          core.clock_entry, core.place)
    fresh.cores["hazard"] = counting
    fresh.rebuild("hazard", stored.items())
    assert fresh.place_index("hazard").places == before and decoded == []

    # A state stored before places were in headers is decoded once, and filed all the same.
    old = {k: pack(unpack(v)) for k, v in stored.items()}
    fresh.rebuild("hazard", old.items())
    assert fresh.place_index("hazard").places == before and len(decoded) == 30


def test_a_rebuild_built_aside_is_put_in_place_in_the_objects_the_worker_reads() -> None:
    """`collect` builds the index, places and gauges apart (in a thread); until `install` the live
    ones are untouched, and after it the same objects hold exactly what was stored."""
    live, stored = derived(), {}
    for n in range(30):
        h = hazard(n, TOWNS[n % 3], "fire_rescue" if n % 2 else None, NOW - n, n % 5 == 0)
        stored[h.id.encode()] = live.store("hazard", h)
    again = derived()
    index, places, gauges = again.indices["hazard"], again.place_index("hazard"), again.gauges
    again.store("hazard", hazard(99, "huxi", None, NOW - 99, False))  # gone from the tables since
    before = (len(index), index.earliest(), dict(places.places))
    collected = again.collect("hazard", stored.items())
    assert (len(index), index.earliest(), dict(places.places)) == before  # not yet
    assert set(places.places) == {"HZ-00099"}
    again.install("hazard", collected)
    assert again.indices["hazard"] is index and again.place_index("hazard") is places
    assert places.places == live.place_index("hazard").places
    for scope in SCOPES:
        assert places.scan(scope, Filters(), None, NOW, None, 100) == \
            live.place_index("hazard").scan(scope, Filters(), None, NOW, None, 100)

    def samples(g: HazardGauges) -> list[Any]:
        return [(family.name, sorted((s.name, sorted(s.labels.items()), s.value) for s in family.samples))
                for family in g.collect()]

    assert samples(gauges) == samples(live.gauges)
    assert len(index) == len(live.indices["hazard"]) and index.earliest() == live.indices["hazard"].earliest()
    assert index.pop_due(float("inf")) == live.indices["hazard"].pop_due(float("inf"))


def test_loop_share_returns_each_result_and_refuses_beyond_its_queue() -> None:
    """Each chunk's result comes back; with the queue full a newcomer is refused, then admitted."""
    share = LoopShare(0.5, max_waiting=3)

    async def go() -> list[int]:
        results = asyncio.gather(*(share.run(lambda n=n: n * n) for n in range(5)))
        await asyncio.sleep(0)  # all five are queued now: one runs, four wait
        with pytest.raises(Busy):
            share.admit()
        return await results

    assert asyncio.run(go()) == [0, 1, 4, 9, 16]
    assert share.waiting == 0
    share.admit()  # the queue is empty again
    with pytest.raises(ValueError):
        LoopShare(0)


def test_the_pages_of_one_web_server_share_one_turn_on_the_loop() -> None:
    """The feeds, the board and the enterprises' pages take their turns from one LoopShare."""
    from engine.feeds.share import LoopShare, loop_share
    from engine.http.server import Pages
    from engine.settings import Settings

    settings = Settings(feeds_loop_share=0.25, feeds_max_waiting=7)
    pages, other = Pages(), Pages()
    first = loop_share(pages.web_app, settings)
    assert isinstance(first, LoopShare) and (first.share, first.max_waiting) == (0.25, 7)
    assert loop_share(pages.web_app, settings) is first
    assert loop_share(other.web_app, settings) is not first
