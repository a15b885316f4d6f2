"""An enterprise's file seen from each town: the town of each hazard it lists, and what each viewer sees.

The enterprise of these tests is registered in lihaiwu; HZ-1 lies there, HZ-2 at a site of it in
zhulaozhuang. huxi has nothing of it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from decide_fixtures import ENTERPRISE, INSPECTORS, RULES, SUPERVISOR, at, event, report, verify
from test_board import sign_in
from test_enterprise import _district, registered

from engine.enterprise.core import decide_enterprise
from engine.enterprise.links import link_entry
from engine.enterprise.state import EnterpriseFile
from engine.enterprise.view import (
    ENTERPRISE_TOWN,
    HAZARD_TOWN,
    WHOLE,
    departments,
    enterprise_place,
    enterprise_source,
    enterprise_view,
    other_towns,
    record_lines,
)
from engine.feeds.filters import Filters, RecordPage
from engine.feeds.index import PlaceIndex
from engine.feeds.tokens import Scope, TokenStore, mint
from engine.store import pack, unpack
from engine.tools.show import render_enterprise

USCC = ENTERPRISE["uscc"]
NOW = at("2026-12-31 00:00")
HOME, SITE, ELSEWHERE = "lihaiwu", "zhulaozhuang", "huxi"
BUILDING = RULES.reference.sector_lead("construction").id  # the lead department of HZ-2
V13 = Path(__file__).parent / "testdata" / "states-v13"
V14 = Path(__file__).parent / "testdata" / "states-v14"


def _order(hid: str, no: str, time: str) -> dict[str, Any]:
    data = {"hazard_id": hid, "order_no": no, "order": "suspend", "legal_basis": "安全生产法 art. 65",
            "by": INSPECTORS}
    [e] = event("safety.enforcement.ordered", time, data, hid)
    return e


def _two_towns() -> Any:
    """The enterprise with a major hazard at home and one at its site in zhulaozhuang, each under a
    stop order, and a third hazard at the site closed as unfounded."""
    return _district(registered(),
                     report("HZ-1", "2026-11-02 09:00", grade="major"),
                     verify("HZ-1", "2026-11-02 15:00", grade="major"),
                     report("HZ-2", "2026-11-03 09:00", grade="major", town=SITE, sector="construction"),
                     verify("HZ-2", "2026-11-03 15:00", grade="major"),
                     _order("HZ-1", "令-1", "2026-11-04 09:00"), _order("HZ-2", "令-2", "2026-11-04 10:00"),
                     report("HZ-3", "2026-11-05 09:00", town=SITE),
                     verify("HZ-3", "2026-11-05 15:00", "unfounded", None))


def _file() -> EnterpriseFile:
    return _two_towns().state("enterprise", USCC)


def _ids(view: dict[str, Any]) -> list[str]:
    return [h["id"] for h in view["open_hazards"]]


def test_the_file_keeps_the_town_each_hazard_lies_in_and_counts_closed_ones_by_town() -> None:
    """Each open hazard's row names its town, as its report's location does; a closed one counts
    under its town."""
    f = _file()
    assert {hid: row[8] for hid, row in f.hazards.items()} == {"HZ-1": HOME, "HZ-2": SITE}
    assert f.closed == 1 and f.closed_in == {SITE: 1}
    assert unpack(pack(f), EnterpriseFile) == f


def test_a_district_wide_viewer_sees_the_whole_file_with_each_hazards_town() -> None:
    view = enterprise_view(_file(), RULES, NOW, RecordPage())
    assert view["seen_as"] == WHOLE and view["withheld"] == []
    assert [(h["id"], h["town"]) for h in view["open_hazards"]] == [("HZ-1", HOME), ("HZ-2", SITE)]
    assert view["other_towns"] == [SITE] and view["hazards"]["closed"] == 1
    assert [o["hazard_id"] for o in view["orders_in_force"]] == ["HZ-1", "HZ-2"]


def test_the_enterprises_own_town_sees_its_business_and_its_hazards_not_another_towns() -> None:
    """lihaiwu, the enterprise's town, sees who it is, its inspections and credit, and HZ-1: not
    HZ-2 at the site in zhulaozhuang, its order, its count or the steps of the record naming it."""
    view = enterprise_view(_file(), RULES, NOW, RecordPage(), frozenset({HOME}))
    assert view["seen_as"] == ENTERPRISE_TOWN and _ids(view) == ["HZ-1"]
    assert view["hazards"] == {"open": 1, "overdue": 0, "closed": 0} and view["other_towns"] == []
    assert [o["hazard_id"] for o in view["orders_in_force"]] == ["HZ-1"]
    assert view["inspections"] == 0 and "listed" in view["credit"] and view["withheld"] == []
    assert BUILDING not in view["departments"]  # the lead of HZ-2 is not said to lihaiwu
    said = " ".join(line["what"] for line in view["record"])
    assert "HZ-1" in said and "registered" in said
    assert "HZ-2" not in said and "HZ-3" not in said


def test_the_town_where_a_hazard_lies_sees_that_hazard_and_who_the_enterprise_is() -> None:
    """zhulaozhuang, where HZ-2 lies, sees who the enterprise is, its class, HZ-2 with its order, its
    closed count there and the steps naming HZ-2; not HZ-1, nor the enterprise's own business."""
    view = enterprise_view(_file(), RULES, NOW, RecordPage(), frozenset({SITE}))
    assert view["seen_as"] == HAZARD_TOWN and _ids(view) == ["HZ-2"]
    assert view["name"] == ENTERPRISE["name"] and view["town"] == HOME and view["other_towns"] == [SITE]
    assert view["hazards"] == {"open": 1, "overdue": 0, "closed": 1}
    assert [o["hazard_id"] for o in view["orders_in_force"]] == ["HZ-2"]
    assert view["inspections"] is None and view["last_inspection"] is None and view["alerts"] is None
    assert view["credit"]["proposals"] == [] and "outputs" in view["withheld"]
    said = [line["what"] for line in view["record"]]
    assert said and all("HZ-2" in w for w in said)


def test_a_file_is_found_by_the_towns_where_its_hazards_lie() -> None:
    """The file's place names the other towns of its hazards: zhulaozhuang's scope lists it, huxi's
    does not."""
    f = _file()
    place = enterprise_place(f, RULES)
    assert place.town == HOME and place.also == (SITE,)
    index = PlaceIndex()
    index.put(USCC, place)
    for town, found in ((HOME, [USCC]), (SITE, [USCC]), (ELSEWHERE, [])):
        ids, _ = index.scan(Scope(town, frozenset({town})), Filters(), None, NOW, None, 100)
        assert ids == found, town
    asked, _ = index.scan(Scope("d", district=True), Filters(towns=frozenset({SITE})), None, NOW, None, 100)
    assert asked == [USCC]



def test_a_files_place_is_its_departments_other_towns_and_earliest_unclaimed_deadline() -> None:
    """The place read in one pass over the open hazards says what `departments`, `other_towns` and
    `overdue_after` say: leads and towns named (none for a row without), the sector's lead, and
    the earliest deadline of a hazard with no completion claim."""
    f = EnterpriseFile(USCC, town=HOME, sector="fire_safety")
    f.hazards = {"HZ-1": ["planned", "general", 300, False, None, "emergency", "fire_safety", False, HOME],
                 "HZ-2": ["completed", "major", 100, True, None, "housing", None, False, SITE],
                 "HZ-3": ["reported", None, None, False, None, None, None, False, None],
                 "HZ-4": ["planned", "general", 200, False, None, "", None, False, ELSEWHERE]}
    place = enterprise_place(f, RULES)
    assert place.departments == departments(f, RULES) and place.also == other_towns(f) == (ELSEWHERE, SITE)
    assert place.overdue_after == f.overdue_after() == 200 and place.town == HOME
    f.hazards, f.sector = {}, None
    assert enterprise_place(f, RULES) == enterprise_place(EnterpriseFile(USCC, town=HOME), RULES)
    assert enterprise_place(f, RULES).departments == () and enterprise_place(f, RULES).overdue_after is None

def test_a_file_stored_before_its_hazards_had_towns_shows_them_district_wide_until_named() -> None:
    """The two-town file stored in format 13 keeps no town for its hazards: it loads with none, and
    neither town's viewer sees them while a district-wide one sees both. Named by the hazards' own
    states (the hazards' index on a worker), each shows in its town's view; the file is found by the
    site's town once a link names the hazard's town there."""
    f = unpack((V13 / f"enterprise-{USCC}-two-towns.state").read_bytes(), EnterpriseFile)
    assert sorted(f.hazards) == ["HZ-1", "HZ-2"] and all(row[8] is None for row in f.hazards.values())
    assert enterprise_place(f, RULES).also == () and f.closed == 1 and f.closed_in == {}
    for town in (HOME, SITE):
        view = enterprise_view(f, RULES, NOW, RecordPage(), frozenset({town}))
        assert _ids(view) == [] and view["orders_in_force"] == [] and view["hazards"]["closed"] == 0
        assert not any("HZ-" in line["what"] for line in view["record"])
    assert _ids(enterprise_view(f, RULES, NOW)) == ["HZ-1", "HZ-2"]
    town_of = {"HZ-1": HOME, "HZ-2": SITE}.get
    named = enterprise_view(f, RULES, NOW, None, frozenset({HOME}), town_of)
    assert [(h["id"], h["town"]) for h in named["open_hazards"]] == [("HZ-1", HOME)]
    row = f.hazards["HZ-2"]
    data = {"kind": "hazard", "id": "HZ-2", "name": ENTERPRISE["name"], "status": row[0], "open": True,
            "grade": row[1], "deadline": row[2], "completed": row[3], "tier": "yellow", "department": row[5],
            "sector": row[6], "town": SITE, "listed": row[7], "orders": [], "violations": 0}
    cause = {"entry_id": "e-tier", "event_id": "e-tier", "time": "2026-11-20T09:00:00+08:00"}
    f, _ = decide_enterprise(f, link_entry(USCC, cause, data).event, RULES)
    assert f.hazards["HZ-2"][8] == SITE and enterprise_place(f, RULES).also == (SITE,)


def _closed(reason: str) -> dict[str, Any]:
    data = {"uscc": USCC, "reason": reason, "by": SUPERVISOR}
    [e] = event("safety.enterprise.closed", "2026-11-20 09:00", data, USCC)
    return e


def _said(f: EnterpriseFile, town: str) -> list[str]:
    view = enterprise_view(f, RULES, NOW, RecordPage(), frozenset({town}))
    return [line["what"] for line in view["record"]]


def test_each_step_of_the_record_keeps_the_hazard_it_concerns() -> None:
    """A step written from a hazard's link keeps that hazard's id; one about the enterprise, "" (since
    format 15)."""
    assert [(line[2], line[3]) for line in _file().recent] == [
        ("registered: Shuicheng Logistics Co., Ltd. (industry_trade, lihaiwu)", ""),
        ("hazard HZ-1 opened (major)", "HZ-1"), ("hazard HZ-2 opened (major)", "HZ-2"),
        ("hazard HZ-3 opened (general)", "HZ-3"), ("hazard HZ-3 unfounded", "HZ-3")]


def test_a_step_whose_words_name_another_towns_hazard_goes_by_what_it_concerns() -> None:
    """The enterprise is closed, the supervisor's reason naming HZ-2 at the site: a step about the
    enterprise itself. Its own town sees it; zhulaozhuang, where HZ-2 lies, does not (until format 15
    the words decided, and it was the other way round)."""
    reason = "Closed after the stop order on hazard HZ-2 at the site."
    rp = _two_towns()
    rp.feed(_closed(reason))
    f = rp.state("enterprise", USCC)
    closing = f"closed: {reason}"
    assert closing not in _said(f, SITE) and _said(f, SITE) == ["hazard HZ-2 opened (major)"]
    assert closing in _said(f, HOME)
    assert f.recent[-1][2:] == [closing, ""]


def test_a_step_shows_to_the_towns_of_the_hazard_it_concerns_whatever_hazards_its_words_name() -> None:
    """Rows as a file keeps them: one about HZ-1 whose words also name HZ-2 shows where HZ-1 is shown
    and not where HZ-2 alone is; one about the enterprise naming HZ-2 shows by its own town only; one
    stored before format 15 (None) goes by the hazards its words name, all of them shown."""
    rows = [[1, "e1", "hazard HZ-1 opened (major), as hazard HZ-2 was", "HZ-1"],
            [2, "e2", "closed: after hazard HZ-2", ""],
            [3, "e3", "hazard HZ-2 opened (major)", None],
            [4, "e4", "hazard HZ-1 opened (major), as hazard HZ-2 was", None],
            [5, "e5", "registered: a company", None]]

    def seen(shown: set[str], part: str) -> list[str]:
        return [line[1] for line in record_lines(rows, shown, part)]
    assert seen({"HZ-1"}, ENTERPRISE_TOWN) == ["e1", "e2", "e5"]
    assert seen({"HZ-2"}, HAZARD_TOWN) == ["e3"]
    assert seen({"HZ-1", "HZ-2"}, HAZARD_TOWN) == ["e1", "e3", "e4"]
    assert seen(set(), WHOLE) == ["e1", "e2", "e3", "e4", "e5"]


def test_steps_stored_before_they_kept_their_hazard_go_by_the_hazards_their_words_name() -> None:
    """The two-town file stored in format 14 (states-v14): its steps keep no hazard, and each town sees
    those whose words name its hazards, and its own town those that name none, as before. A step
    added since goes by the hazard it keeps."""
    f = unpack((V14 / f"enterprise-{USCC}-two-towns.state").read_bytes(), EnterpriseFile)
    assert all(line[3] is None for line in f.recent)
    assert _said(f, HOME) == ["registered: Shuicheng Logistics Co., Ltd. (industry_trade, lihaiwu)",
                              "hazard HZ-1 opened (major)"]
    assert _said(f, SITE) == ["hazard HZ-2 opened (major)"]
    reason = "Closed after the stop order on hazard HZ-2 at the site."
    closure = _closed(reason)
    # The file was stored by another process, whose fixtures numbered the records it applied as this
    # one's do (`decide_fixtures.event`): run alone, this closure came at an offset of the file's
    # `applied_from` and was taken for a copy. It comes after them, as a new record does.
    closure["origin"] = {**closure["origin"], "offset": 1_000_000}
    f, _ = decide_enterprise(f, closure, RULES)
    assert f"closed: {reason}" in _said(f, HOME) and _said(f, SITE) == ["hazard HZ-2 opened (major)"]


def _pages(tmp_path: Path) -> tuple[Any, dict[str, str]]:
    from engine.enterprise import web as enterprise_web
    from engine.http.server import Pages
    from engine.settings import Settings

    f = _file()
    index = PlaceIndex()
    index.put(USCC, enterprise_place(f, RULES))
    tokens, lines = {}, []
    for town in (HOME, SITE, ELSEWHERE):
        tokens[town], line = mint(town, [town], [], False)
        lines.append(line)
    (tmp_path / "tokens.yaml").write_text("supervisors:\n" + "\n".join(lines) + "\n")
    pages = Pages()
    source = enterprise_source({USCC.encode(): pack(f)}, RULES, lambda: NOW, index)
    enterprise_web.register(pages, settings=Settings(), tokens=TokenStore.load(tmp_path / "tokens.yaml"),
                            enterprises=source, now=lambda: NOW)
    return pages, tokens


def test_the_json_pages_give_each_town_its_part_of_the_file(tmp_path: Path) -> None:
    """GET /enterprises/{uscc} and GET /enterprises: lihaiwu gets HZ-1, zhulaozhuang HZ-2 and the
    file limited to it, huxi a 404 as for an unknown USCC and an empty list."""
    from aiohttp.test_utils import TestClient, TestServer

    pages, tokens = _pages(tmp_path)

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            async def get(path: str, town: str) -> Any:
                return await client.get(path, headers={"Authorization": f"Bearer {tokens[town]}"})
            home = await (await get(f"/enterprises/{USCC}", HOME)).json()
            site = await (await get(f"/enterprises/{USCC}", SITE)).json()
            assert _ids(home) == ["HZ-1"] and _ids(site) == ["HZ-2"] and site["seen_as"] == HAZARD_TOWN
            assert (await get(f"/enterprises/{USCC}", ELSEWHERE)).status == 404
            for town, want in ((HOME, ["HZ-1"]), (SITE, ["HZ-2"]), (ELSEWHERE, None)):
                items = (await (await get("/enterprises", town)).json())["items"]
                assert [_ids(i) for i in items] == ([want] if want else []), town
            overdue = (await (await get("/enterprises?overdue=false", SITE)).json())["items"]
            assert [i["id"] for i in overdue] == [USCC]

    asyncio.run(main())


def test_the_board_page_gives_the_site_town_its_part_of_the_file(tmp_path: Path) -> None:
    """The board's enterprise page for zhulaozhuang: HZ-2 linked, not HZ-1, and a line saying the
    file is shown as it concerns that town; for huxi, not found."""
    from aiohttp.test_utils import TestClient, TestServer

    from engine.board import register
    from engine.http.server import Pages
    from engine.settings import Settings

    f = _file()
    index = PlaceIndex()
    index.put(USCC, enterprise_place(f, RULES))
    tokens, lines = {}, []
    for town in (SITE, ELSEWHERE):
        tokens[town], line = mint(town, [town], [], False)
        lines.append(line)
    (tmp_path / "tokens.yaml").write_text("supervisors:\n" + "\n".join(lines) + "\n")
    pages = Pages()
    source = enterprise_source({USCC.encode(): pack(f)}, RULES, lambda: NOW, index)
    register(pages, settings=Settings(board_secret="k" * 40), bootstrap="127.0.0.1:9", hazards=source,
             alerts=None, enterprises=source, tokens=TokenStore.load(tmp_path / "tokens.yaml"),
             reference=RULES.reference, now=lambda: NOW)

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            async def page(town: str, path: str) -> Any:
                client.session.cookie_jar.clear()
                await sign_in(client, tokens[town])
                return await client.get(path + "?lang=en")
            site = await page(SITE, f"/board/enterprises/{USCC}")
            text = await site.text()
            assert site.status == 200 and "/board/hazards/HZ-2" in text and "/board/hazards/HZ-1" not in text
            assert "as it concerns" in text
            listed = await (await page(SITE, "/board/enterprises")).text()
            assert USCC in listed
            assert (await page(ELSEWHERE, f"/board/enterprises/{USCC}")).status == 404

    asyncio.run(main())


def test_show_names_the_town_of_each_hazard_and_says_when_it_is_not_known() -> None:
    """`hazard-engine show --enterprise` (district-wide: the broker's whole file) names each open
    hazard's town, and says "town not known" for one stored before the file kept it."""
    text = render_enterprise(_file(), [], USCC, NOW)
    assert "HZ-2" in text and f"in {SITE}" in text and f"in {HOME}" in text
    assert f"closed: {SITE} 1" in text
    old = unpack((V13 / f"enterprise-{USCC}-two-towns.state").read_bytes(), EnterpriseFile)
    assert "town not known" in render_enterprise(old, [], USCC, NOW)


def test_a_supervisors_scope_naming_no_town_sees_the_file_whole() -> None:
    """A department's token across the district, or the district's, sees every town's hazards."""
    src = enterprise_source({USCC.encode(): pack(_file())}, RULES, lambda: NOW, PlaceIndex())
    for scope in (Scope("fire", departments=frozenset({"fire_rescue"})), Scope("d", district=True), None):
        assert _ids(src.get(USCC, None, scope)) == ["HZ-1", "HZ-2"]
    assert _ids(src.get(USCC, None, Scope("s", frozenset({SITE}), frozenset({"fire_rescue"})))) == ["HZ-2"]

