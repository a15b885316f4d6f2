"""The supervisor feeds without Kafka: tokens, scopes, filters, stream positions, pagination, views."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from decide_fixtures import RULES

from engine.decide.state import Hazard
from engine.feeds.filters import (
    BadRequest,
    Filters,
    RecordPage,
    decode_cursor,
    decode_positions,
    encode_cursor,
    encode_positions,
    escalation_departments,
    escalation_visible,
    item_visible,
    parse_bool,
    parse_limit,
)
from engine.feeds.index import PlaceIndex, hazard_place
from engine.feeds.tokens import Scope, TokenFileError, TokenStore, hash_token, mint, new_token, parse
from engine.feeds.views import TableSource, hazard_view
from engine.store import pack, unpack
from engine.tools import tail as tail_tool
from engine.tools.watch import format_escalation, wanted

HUXI = Scope("huxi", towns=frozenset({"huxi"}))
FIRE = Scope("fire", departments=frozenset({"fire_rescue"}))
HUXI_FIRE = Scope("huxi-fire", towns=frozenset({"huxi"}), departments=frozenset({"fire_rescue"}))
DISTRICT = Scope("district", district=True)


def tokens_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "tokens.yaml"
    path.write_text("supervisors:\n" + "\n".join(entries) + "\n")
    return path


def escalation(town: str = "huxi", tier: str | None = "red", action: str = "summon",
               depts: tuple[str, ...] = ("fire_rescue",), level: str | None = None) -> dict:
    targets = [{"kind": "department", "id": d, "name": d} for d in depts]
    targets.append({"kind": "town", "id": town, "name": town})
    return {"subject_kind": "hazard", "subject_id": "HZ-1", "action": action, "tier": tier,
            "response_level": level, "town": town, "targets": targets, "sector": "fire_safety"}


# --- tokens -------------------------------------------------------------------------------


def test_minted_token_is_random_and_only_its_hash_is_written(tmp_path: Path) -> None:
    """`mint` gives a fresh 256-bit token and an entry with its hash that the store accepts."""
    token, line = mint("huxi-office", ["huxi"], [], False)
    assert token.startswith("hzt_") and len(token) > 40 and token != new_token()
    assert token not in line and hash_token(token) in line
    store = TokenStore.load(tokens_file(tmp_path, line))
    assert store.authenticate(f"Bearer {token}") == Scope("huxi-office", frozenset({"huxi"}))
    assert hash_token(token) == hash_token(token) and hash_token(token).startswith("sha256:")


def test_authenticate_refuses_missing_malformed_and_unknown_tokens(tmp_path: Path) -> None:
    """Only `Bearer <a configured token>` authenticates; an unconfigured store refuses all."""
    token, line = mint("x", [], [], True)
    store = TokenStore.load(tokens_file(tmp_path, line))
    assert store.authenticate(f"bearer  {token} ") == Scope("x", district=True)
    for header in (None, "", "Bearer", f"Basic {token}", token, "Bearer " + token + "x",
                   "Bearer " + new_token(), "Bearer \udc80", "Bearer tök"):  # aiohttp's odd bytes
        assert store.authenticate(header) is None, header
    assert not TokenStore().configured and TokenStore().authenticate(f"Bearer {token}") is None
    assert TokenStore.from_env({}).configured is False


def test_tokens_file_is_reloaded_and_a_broken_one_refuses_everyone(tmp_path: Path) -> None:
    """Revoking a token works without a restart; a file that stops parsing fails closed."""
    t1, l1 = mint("a", ["huxi"], [], False)
    t2, l2 = mint("b", ["yuji"], [], False)
    path = tokens_file(tmp_path, l1, l2)
    store = TokenStore.load(path)
    assert store.authenticate(f"Bearer {t2}") is not None
    path.write_text("supervisors:\n" + l1 + "\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert store.authenticate(f"Bearer {t2}") is None and store.authenticate(f"Bearer {t1}")
    path.write_text("supervisors: [this is: not valid")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
    assert store.authenticate(f"Bearer {t1}") is None
    # Written as bytes that are no UTF-8 (a file saved in GBK): refused as any broken file, where
    # the decoding error escaped to the request (a 500 on POST /events), and at start with why.
    path.write_bytes(("supervisors:\n" + l1 + "\n# 备注\n").encode("gbk"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 3 * 10**9))
    assert store.authenticate(f"Bearer {t1}") is None
    with pytest.raises(TokenFileError, match="is not UTF-8 text"):
        TokenStore.load(path)


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "top-level 'supervisors:'"),
    ("supervisors:\n  - {name: a, hash: 'abc', towns: [huxi]}", "'hash' must be"),
    (f"supervisors:\n  - {{name: a, hash: '{hash_token('t')}'}}", "give towns, departments"),
    (f"supervisors:\n  - {{hash: '{hash_token('t')}', town: [huxi]}}", "unknown keys"),
    (f"supervisors:\n  - {{hash: '{hash_token('t')}', district: true}}\n"
     f"  - {{hash: '{hash_token('t')}', district: true}}", "twice"),
])
def test_bad_tokens_files_are_refused_with_a_reason(text: str, message: str) -> None:
    """Mistakes in the tokens file fail at start with what is wrong."""
    with pytest.raises(TokenFileError, match=message):
        parse(text)


def test_unknown_towns_and_departments_are_reported(tmp_path: Path) -> None:
    """A typo in a scope would silently show nothing, so the store can list unknown ids."""
    _, line = mint("typo", ["huxii"], ["fire"], False)
    store = TokenStore.load(tokens_file(tmp_path, line))
    assert store.unknown_ids({"huxi"}, {"fire_rescue"}) == ["department 'fire' (typo)",
                                                            "town 'huxii' (typo)"]


# --- scopes and filters -------------------------------------------------------------------


def test_scope_allows_its_towns_departments_both_or_all() -> None:
    """Towns and departments each restrict; a scope naming both needs both; district sees all."""
    assert HUXI.allows("huxi", []) and not HUXI.allows("yuji", ["fire_rescue"])
    assert not HUXI.allows(None, [])  # an item without a town is not any town's
    assert FIRE.allows("yuji", ["fire_rescue", "safety_bureau"]) and not FIRE.allows("huxi", [])
    assert HUXI_FIRE.allows("huxi", ["fire_rescue"])
    assert not HUXI_FIRE.allows("huxi", ["safety_bureau"]) and not HUXI_FIRE.allows("yuji", ["fire_rescue"])
    assert DISTRICT.allows(None, [])


def test_filters_outside_the_scope_are_refused() -> None:
    """Asking for another town or department is a 403, not an empty feed."""
    refused = Filters(towns=frozenset({"yuji"})).outside(HUXI)
    assert refused == "town 'yuji' is outside the scope of this token"
    assert Filters(towns=frozenset({"huxi"})).outside(HUXI) is None
    assert Filters(departments=frozenset({"safety_bureau"})).outside(FIRE) is not None
    assert Filters(departments=frozenset({"safety_bureau"})).outside(HUXI) is None
    assert Filters(towns=frozenset({"yuji"})).outside(DISTRICT) is None


def test_filters_from_query_accept_lists_and_refuse_unknown_tiers() -> None:
    """`?tier=orange,red` and repeated parameters both work; a misspelt tier is a 400."""
    f = Filters.from_query({"town": "huxi", "tier": "orange, red", "action": "summon"})
    assert f == Filters(frozenset({"huxi"}), frozenset(), frozenset({"orange", "red"}),
                        frozenset(), frozenset({"summon"}))
    with pytest.raises(BadRequest, match="unknown tier 'purple'"):
        Filters.from_query({"tier": "purple"})
    with pytest.raises(BadRequest, match="unknown level"):
        Filters.from_query({"level": "V"})


def test_escalation_visibility_applies_scope_before_filters() -> None:
    """A town supervisor never sees another town's escalation, even without a town filter."""
    none = Filters()
    yuji = escalation(town="yuji")
    assert not escalation_visible(yuji, escalation_departments(yuji), none, HUXI)
    assert escalation_visible(yuji, escalation_departments(yuji), none, DISTRICT)
    huxi = escalation(tier="orange")
    depts = escalation_departments(huxi)
    assert depts == {"fire_rescue"}
    assert escalation_visible(huxi, depts, Filters(tiers=frozenset({"orange"})), HUXI)
    assert not escalation_visible(huxi, depts, Filters(tiers=frozenset({"red"})), HUXI)
    assert not escalation_visible(huxi, depts, Filters(actions=frozenset({"remind"})), HUXI)
    alert = escalation(tier=None, level="II")
    assert escalation_visible(alert, set(), Filters(levels=frozenset({"II"})), DISTRICT)


def test_a_stream_asked_for_tiers_keeps_the_alerts_escalations_of_the_levels_of_their_colours() -> None:
    """`?tier=orange,red` (README's example) dropped every alert's escalation, which has a response
    level and no tier. A tier now passes the level of its colour (I red, II orange), as the board
    colours them; `?level=` alone still gives the alerts' of those levels only, and both together
    take a hazard's by its tier and an alert's by its level."""
    from engine.alerts import AlertReplay
    from engine.feeds.share import LoopShare
    from engine.feeds.web import EscalationStream

    stream = EscalationStream("", "", {}, asyncio.Event(), LoopShare(1.0, 8))

    def seen(query: dict[str, str], data: dict[str, Any]) -> bool:
        event = json.dumps({"type": "safety.escalation.raised", "data": data}).encode()
        return stream.frame(event, Filters.from_query(query), DISTRICT, False) is not None

    hazards = {t: escalation(tier=t) for t in ("blue", "yellow", "orange", "red")}
    alerts = {lv: {**escalation(tier=None, level=lv), "subject_kind": "alert"}
              for lv in ("IV", "III", "II", "I")}
    grave = {"tier": "orange,red"}
    assert [t for t, e in hazards.items() if seen(grave, e)] == ["orange", "red"]
    assert [lv for lv, e in alerts.items() if seen(grave, e)] == ["II", "I"]
    assert [lv for lv, e in alerts.items() if seen({"tier": "blue"}, e)] == ["IV"]
    assert not seen(grave, {**escalation(tier=None, level=None), "subject_kind": "alert"})  # no level yet
    assert [lv for lv, e in alerts.items() if seen({"level": "I,II"}, e)] == ["II", "I"]
    assert not any(seen({"level": "I,II"}, e) for e in hazards.values())
    both = {"tier": "red", "level": "III"}
    assert [t for t, e in hazards.items() if seen(both, e)] == ["red"]
    assert [lv for lv, e in alerts.items() if seen(both, e)] == ["III"]
    # A real alert's escalations: a fire at an enterprise with 3 dead is 较大, response level III.
    from test_alerts import ALERT_RULES, raised
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-T", "2026-11-02 09:00", casualties={"dead": 3}))
    sent = [o.event["data"] for _, o in rp.outputs if o.event.get("type") == "safety.escalation.raised"]
    assert sent and {d["response_level"] for d in sent} == {"III"}
    assert all(seen({"tier": "yellow"}, d) for d in sent) and not any(seen(grave, d) for d in sent)


def test_each_event_of_the_stream_carries_when_it_was_sent() -> None:
    """An escalation's `time` is its step's, days back for a ladder a late record made owed; the
    stream adds the record's broker timestamp (`brokertime`), when the engine sent it, so a list
    can put what was sent last first. A record without a timestamp (-1) gets none."""
    from aiokafka import TopicPartition

    from engine.feeds.share import LoopShare
    from engine.feeds.web import BROKER_TIME, EscalationStream

    stream = EscalationStream("", "", {}, asyncio.Event(), LoopShare(1.0, 8))
    event = {"type": "safety.escalation.raised", "time": "2026-12-15T23:59:59+08:00",
             "data": escalation(tier="red")}
    sent = 1_798_416_300_123  # 2026-12-28 08:05:00.123 in Beijing
    batch = {TopicPartition("t", 0): [SimpleNamespace(offset=4, value=json.dumps(event).encode(),
                                                      timestamp=sent),
                                      SimpleNamespace(offset=5, value=json.dumps(event).encode(),
                                                      timestamp=-1)]}
    frames = stream.frames(batch, {0: 0}, Filters(), DISTRICT, False).split("\n\n")
    first, second = (json.loads(f.split("data: ", 1)[1]) for f in frames[:2])
    assert first[BROKER_TIME] == "2026-12-28T08:05:00.123000+08:00"
    assert first["time"] == "2026-12-15T23:59:59+08:00" and BROKER_TIME not in second


def test_department_filter_matches_a_target_or_the_lead_department() -> None:
    """`department=` matches a department target, or the subject's lead department."""
    data = escalation(depts=())
    assert not escalation_visible(data, escalation_departments(data), Filters(), FIRE)
    assert escalation_visible(data, escalation_departments(data, ["fire_rescue"]), Filters(), FIRE)
    only = Filters(departments=frozenset({"safety_bureau"}))
    assert escalation_visible(data, escalation_departments(data, ["safety_bureau"]), only, DISTRICT)
    assert not escalation_visible(data, escalation_departments(data, ["fire_rescue"]), only, DISTRICT)


# --- stream positions ---------------------------------------------------------------------


def test_positions_round_trip_and_reject_anything_else() -> None:
    """The SSE id is each partition's next offset; malformed ids are a 400."""
    positions = {2: 0, 0: 15, 3: 9, 1: 7}
    assert encode_positions(positions) == "0:15,1:7,2:0,3:9"
    assert decode_positions("0:15,1:7,2:0,3:9") == positions
    for bad in ("", "0:", "a:1", "0:1,0:2", "0:-1", "0=1", "0:1;1:2"):
        with pytest.raises(BadRequest):
            decode_positions(bad)
    with pytest.raises(BadRequest):
        decode_positions(",".join(f"{p}:0" for p in range(5000)))


# --- pagination and views -----------------------------------------------------------------


def test_cursor_limit_and_bool_parameters() -> None:
    """Cursors round-trip ids and refuse forgeries; limit and overdue take only what they say."""
    assert decode_cursor(encode_cursor("HZ-001")) == "HZ-001" and decode_cursor(None) is None
    with pytest.raises(BadRequest):
        decode_cursor("%%%")
    assert parse_limit(None) == 50 and parse_limit("500") == 500
    for bad in ("0", "501", "x", "-1"):
        with pytest.raises(BadRequest):
            parse_limit(bad)
    assert parse_bool("true", "overdue") is True and parse_bool(None, "overdue") is None
    with pytest.raises(BadRequest):
        parse_bool("maybe", "overdue")


def test_hazard_view_and_table_source() -> None:
    """A hazard's view has its place, lead department, overdue flag, clocks and record."""
    h = Hazard("HZ-9", opened="e1", opened_at=1_790_000_000, title="Blocked exit", sector="fire_safety",
               town="huxi", verdict="confirmed", grade="general", deadline=1_790_100_000,
               clocks={"ladder": 1_790_200_000, "review": 1_790_150_000},
               history=[[1_790_000_500, "e2", "verified"], [1_790_000_000, "e1", "reported"]])
    table = {b"HZ-9": pack(h)}
    index = PlaceIndex()
    index.put("HZ-9", hazard_place(h, "fire_rescue"))
    source = TableSource(table, lambda raw, record: hazard_view(unpack(raw), RULES, 1_790_100_001, record),
                         index)
    view = source.get("HZ-9", RecordPage())
    assert view is not None and source.get("HZ-X") is None and source.get("\udc80") is None
    assert view["status"] == "verified" and view["overdue"] is True
    assert view["lead_department"] == "fire_rescue" and view["departments"] == ["fire_rescue"]
    assert [c["name"] for c in view["clocks"]] == ["review", "ladder"]
    assert [r["what"] for r in view["record"]] == ["reported", "verified"]
    assert view["record_total"] == 2 and view["record_first"] == 0
    assert view["record_began"] == view["record"][0]["time"]  # the earliest step, on any page
    assert "record" not in source.get("HZ-9")  # a list's or the board's view reads no history
    assert view["deadline"].endswith("+08:00")
    json.dumps(view)  # JSON-ready
    assert item_visible(view, Filters(), HUXI, overdue=True)
    assert not item_visible(view, Filters(), HUXI, overdue=False)
    assert not item_visible(view, Filters(), Scope("y", towns=frozenset({"yuji"})))
    assert [v["id"] for v in source.items()] == ["HZ-9"]


# --- watch --------------------------------------------------------------------------------


def test_watch_line_is_coloured_by_tier_only_on_a_terminal() -> None:
    """`watch` prints one line per escalation, with ANSI colour when asked."""
    event = {"type": "safety.escalation.raised", "time": "2026-11-05T09:00:00+08:00",
             "data": {**escalation(), "reason": "7 days overdue"}}
    plain = format_escalation(event, colour=False)
    assert plain.startswith("2026-11-05 09:00  RED") and "HZ-1" in plain and "\x1b[" not in plain
    assert "\x1b[1;31mRED" in format_escalation(event, colour=True)
    said = {**event, "data": {**event["data"], "reason_zh": "已逾期 7 日"}}
    assert format_escalation(said, colour=False, zh=True).endswith("已逾期 7 日")
    assert format_escalation(said, colour=False).endswith("7 days overdue")
    assert format_escalation(event, colour=False, zh=True).endswith("7 days overdue")  # none: the English
    assert wanted(event, Filters(towns=frozenset({"huxi"})), None)
    assert not wanted(event, Filters(towns=frozenset({"yuji"})), None)


def test_watch_and_tail_show_control_characters_in_ids_never_obey_them() -> None:
    """An alert id with a newline, a forged RED line and ESC [8m (conceal) showed a supervisor a
    false "stand down"; an event id with ESC [2J cleared `tail`'s screen. Every character a terminal
    acts on is printed as its escape; `watch`'s own colour stays."""
    forged = "AL-1\n2026-12-07 20:00  RED    all_clear  AL-FAKE  huxi  → stand down\x1b[8m"
    event = {"type": "safety.escalation.raised", "time": "2026-11-05T09:00:00+08:00\x1b[2J",
             "data": {**escalation(), "subject_id": forged, "tier": "red", "reason": "r\u202egnp.exe\x9b"}}
    for line in (format_escalation(event, colour=True), format_escalation(event, colour=False, cut=False)):
        assert "\n" not in line and "\x1b[8m" not in line and "\u202e" not in line and "\x9b" not in line
        assert "AL-1\\u000a2026-12-07 20:00" in line and "\\u001b[8m" in line
    assert "\x1b[1;31mRED" in format_escalation(event, colour=True)
    entry = {"entry_id": "e", "type": "safety.hazard.reported", "subject": "HZ-1",
             "event_id": "x\n engine.timeline[0]@0 FAKE LINE \x1b[2J", "source": "/apps/\x1b]0;title\x07"}
    value = json.dumps(entry, ensure_ascii=False).encode()

    async def records(*args: Any) -> Any:
        yield TopicPartition("engine.timeline", 0), SimpleNamespace(offset=1, value=value)
        yield TopicPartition("engine.timeline", 0), SimpleNamespace(offset=2, value=b"\x1b[2J\r\nraw")

    for as_json in (False, True):
        out = io.StringIO()
        with pytest.MonkeyPatch.context() as m:
            m.setattr(tail_tool, "follow", records)
            asyncio.run(tail_tool.tail("b", "engine.timeline", True, None, 1, as_json, out))
        first, second = out.getvalue().splitlines()
        assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue() and "\r" not in out.getvalue()
        assert "\\u001b[2J" in first and "\\u001b[2J" in second
        if as_json:
            assert json.loads(first)["event_id"] == entry["event_id"]  # still JSON, and the same
    assert wanted(event, Filters(departments=frozenset({"safety_bureau"})), lambda s: "safety_bureau")
    assert not wanted({"type": "other", "data": {}}, Filters(), None)


def test_watch_into_a_pipe_keeps_the_whole_reason_and_with_zh_says_the_action_in_chinese(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut to a fixed width even into a pipe, `…已逾期 3 …` lost the number; `--zh` left the action
    in English."""
    from engine.tools import watch as watch_tool

    reason = "x" * 120 + " overdue by 3 days"
    event = {"type": "safety.escalation.raised", "time": "2026-11-05T09:00:00+08:00",
             "data": {**escalation(), "reason": reason, "reason_zh": "甲" * 70 + "已逾期 3 天"}}

    async def follow(*_: object) -> Any:
        yield None, SimpleNamespace(value=json.dumps(event).encode())

    monkeypatch.setattr(watch_tool, "follow", follow)
    def piped(zh: bool) -> str:
        out = io.StringIO()
        assert asyncio.run(watch_tool.watch("b", "t", Filters(), False, None, out=out, colour=False,
                                            zh=zh)) == 0
        return out.getvalue()

    assert piped(zh=False).rstrip("\n").endswith(reason)
    line = piped(zh=True)
    assert line.rstrip("\n").endswith("已逾期 3 天") and " 约谈 " in line and "summon" not in line
    assert "…" in format_escalation(event, colour=False)  # on a terminal, still one line


def test_a_hazard_page_reads_its_history_chunks_and_answers_503_while_one_is_missing(
        tmp_path: Path) -> None:
    """`GET /hazards/{id}` shows the record from the history table, a page at a time (the latest 500
    steps unless asked otherwise), each step in Chinese where its shape is known; a chunk the copy
    it reads does not hold yet (a replica behind) gets 503 with Retry-After, never a short record
    or a 500."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from engine.feeds.share import LoopShare
    from engine.feeds.views import hazard_source
    from engine.feeds.web import lookups
    from engine.http.server import Pages
    from engine.kernel.state import chunk_key

    items = [[1_790_000_000 + n, f"e{n}", "rectification claimed complete" if n % 2 else f"step {n}"]
             for n in range(150)]
    h = Hazard("HZ-L", opened="e0", opened_at=1_790_000_000, title="Blocked exit", sector="fire_safety",
               town="huxi", history=items)
    chunks: dict[int, bytes] = {}
    table = {b"HZ-L": pack(h, chunks=chunks)}
    history = {chunk_key(b"HZ-L", n): value for n, value in chunks.items()}
    assert len(history) == 2
    index = PlaceIndex()
    index.put("HZ-L", hazard_place(h, None))
    token, line = mint("district", [], [], True)
    pages = Pages()
    lookups(pages, "hazard", hazard_source(table, RULES, lambda: 1_790_100_000, index, history),
            TokenStore.load(tokens_file(tmp_path, line)), lambda: 1_790_100_000, LoopShare(1.0, 8))

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            auth = {"Authorization": f"Bearer {token}"}
            whole = await client.get("/hazards/HZ-L", headers=auth)
            assert whole.status == 200
            body = await whole.json()
            assert [r["event_id"] for r in body["record"]] == [i[1] for i in items]
            assert body["record_total"] == 150 and body["record_first"] == 0
            assert body["record"][1]["what_zh"] == "申报整改完成" and "what_zh" not in body["record"][0]
            latest = await (await client.get("/hazards/HZ-L?record_limit=100", headers=auth)).json()
            assert [r["event_id"] for r in latest["record"]] == [i[1] for i in items[50:]]
            assert latest["record_first"] == 50
            ahead = await (await client.get("/hazards/HZ-L?record_limit=100&record_before=50",
                                            headers=auth)).json()
            assert [r["event_id"] for r in ahead["record"]] == [i[1] for i in items[:50]]
            assert ahead["record_first"] == 0 and ahead["record_total"] == 150
            past = await (await client.get("/hazards/HZ-L?record_before=9999", headers=auth)).json()
            assert len(past["record"]) == 150  # a position past the end is the end
            for bad in ("record_limit=0", "record_limit=2001", "record_limit=x", "record_before=-1",
                        "record_before=1e3", "record_limit=%EF%BC%91"):
                refused = await client.get(f"/hazards/HZ-L?{bad}", headers=auth)
                assert refused.status == 400, bad
                assert "record_" in (await refused.json())["error"]
            listed = await (await client.get("/hazards", headers=auth)).json()
            assert "record" not in listed["items"][0]  # a list reads no history
            del history[chunk_key(b"HZ-L", 1)]
            behind = await client.get("/hazards/HZ-L", headers=auth)
            assert behind.status == 503 and behind.headers["Retry-After"] == "1"
            assert "history is still being read" in (await behind.json())["error"]
            assert (await client.get("/hazards", headers=auth)).status == 200  # reads no chunk

    asyncio.run(main())


def test_a_town_or_department_the_reference_does_not_know_is_400_naming_it(tmp_path: Path) -> None:
    """`?town=huxii` (a typo) gave an empty list or a stream that never spoke, as if nothing were
    there, where an unknown tier is a 400: now a list, the escalation stream and a town-limited
    token's request alike are refused, naming the id; a known town still filters."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from engine.feeds.views import hazard_source
    from engine.feeds.web import register
    from engine.http.server import Pages
    from engine.settings import Settings

    h = Hazard("HZ-Q", opened="e0", opened_at=1_790_000_000, title="Blocked exit", sector="fire_safety",
               town="huxi")
    index = PlaceIndex()
    index.put("HZ-Q", hazard_place(h, None))
    district, line = mint("district", [], [], True)
    huxi, huxi_line = mint("huxi", ["huxi"], [], False)
    tokens = TokenStore.load(tokens_file(tmp_path, line, huxi_line))
    source = hazard_source({b"HZ-Q": pack(h)}, RULES, lambda: 1_790_100_000, index, {})
    pages = Pages()
    register(pages, settings=Settings(), bootstrap="127.0.0.1:9", hazards=source, alerts=None,
             tokens=tokens, now=lambda: 1_790_100_000, known=RULES.reference)

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            for token, path, words in (
                    (district, "/hazards?town=huxii", "unknown town 'huxii'"),
                    (district, "/hazards?town=huxi,huxii", "unknown town 'huxii'"),
                    (district, "/hazards?department=fire_rescu", "unknown department 'fire_rescu'"),
                    (district, "/feeds/escalations?town=huxii", "unknown town 'huxii'"),
                    (district, "/feeds/escalations?department=nobody", "unknown department 'nobody'"),
                    (huxi, "/hazards?town=huxii", "unknown town 'huxii'")):
                refused = await client.get(path, headers={"Authorization": f"Bearer {token}"})
                assert refused.status == 400, path
                assert words in (await refused.json())["error"], path
            listed = await client.get("/hazards?town=huxi",
                                      headers={"Authorization": f"Bearer {district}"})
            assert listed.status == 200 and [i["id"] for i in (await listed.json())["items"]] == ["HZ-Q"]

    asyncio.run(main())


def test_a_list_refuses_parameters_it_would_not_apply_and_a_stream_refuses_head(tmp_path: Path) -> None:
    """`GET /hazards?tier=red` answered every hazard as if filtered, and `?teir=red` too; a list now
    refuses what it would not apply (400, naming what it takes), and a value it takes once given
    twice. `HEAD /feeds/escalations` opened a stream (a consumer, one of the token's slots) and
    wrote events after a head that may carry none: 405."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from engine.feeds.views import hazard_source
    from engine.feeds.web import register
    from engine.http.server import Pages
    from engine.settings import Settings

    h = Hazard("HZ-Q", opened="e0", opened_at=1_790_000_000, title="Blocked exit", sector="fire_safety",
               town="huxi")
    table = {b"HZ-Q": pack(h)}
    index = PlaceIndex()
    index.put("HZ-Q", hazard_place(h, None))
    token, line = mint("district", [], [], True)
    tokens = TokenStore.load(tokens_file(tmp_path, line))
    source = hazard_source(table, RULES, lambda: 1_790_100_000, index, {})
    pages = Pages()
    register(pages, settings=Settings(), bootstrap="127.0.0.1:9", hazards=source, alerts=None,
             tokens=tokens, now=lambda: 1_790_100_000)

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            auth = {"Authorization": f"Bearer {token}"}
            for query, words in (("tier=red", "tier filters the escalation stream"),
                                 ("action=refer", "action filters the escalation stream"),
                                 ("teir=red", "unknown parameter 'teir'"),
                                 ("limit=1&limit=600", "limit given 2 times"),
                                 ("overdue=true&overdue=false", "overdue given 2 times")):
                refused = await client.get(f"/hazards?{query}", headers=auth)
                assert refused.status == 400, query
                assert words in (await refused.json())["error"], query
            listed = await client.get("/hazards?town=huxi&town=yuji&limit=5&overdue=false", headers=auth)
            assert listed.status == 200 and [i["id"] for i in (await listed.json())["items"]] == ["HZ-Q"]
            head = await client.head("/feeds/escalations", headers=auth)
            assert head.status == 405
            assert (await client.head("/hazards", headers=auth)).status == 200  # a page may be HEAD

    asyncio.run(main())
