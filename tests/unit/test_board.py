"""The board without Kafka: session cookies, CSRF, scopes in every number, and its routes in aiohttp."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from decide_fixtures import INSPECTORS, RULES, SUPERVISOR, event, finding

from engine.alerts import load_alert_rules
from engine.alerts.disaster import DAILY, FINAL, INITIAL
from engine.board import picture
from engine.board.html import RECORD_ROWS, Page
from engine.board.session import COOKIE, SessionError, Sessions
from engine.board.web import OUTPUTS_SKEW_S, outputs_since, register, safe_next
from engine.contract.outputs import OUTPUT_TYPES
from engine.decide import clocks as hazard_clocks
from engine.enterprise.replay import DistrictReplay
from engine.enterprise.view import enterprise_view
from engine.feeds.filters import Filters, RecordPage, item_visible
from engine.feeds.tokens import Scope, TokenStore, hash_token, mint
from engine.feeds.views import alert_view, record_page
from engine.http.server import Pages
from engine.reference.models import SECTORS
from engine.ruletest import run_file
from engine.settings import Settings
from engine.zh import record, words
from engine.zh.words import Words

REPO = Path(__file__).resolve().parents[2]
SECRET = b"s" * 32
NOW = 1_800_000_000.0
HUXI = Scope("huxi-office", towns=frozenset({"huxi"}))
DISTRICT = Scope("district", district=True)


def visible(views: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    """The views `scope` may see, as the board's pages read them (engine/feeds/views.every_visible)."""
    return [v for v in views if item_visible(v, Filters(), scope)]


def keeper(scopes: dict[str, Scope], lifetime: int = 3600) -> Sessions:
    return Sessions(SECRET, lifetime, scopes.get)


# --- the session cookie -------------------------------------------------------------------


def test_a_session_cookie_carries_the_tokens_hash_and_checks_its_scope_again() -> None:
    """The cookie names the token's hash (never the token) and is re-checked against the store."""
    scopes = {hash_token("hzt_huxi"): HUXI}
    s = keeper(scopes)
    session, cookie = s.sign_in("hzt_huxi", NOW)
    assert "hzt_huxi" not in cookie and session.scope == HUXI
    assert s.check(cookie, NOW + 10).scope == HUXI
    scopes.clear()  # the token is revoked in the tokens file
    with pytest.raises(SessionError, match="no longer valid"):
        s.check(cookie, NOW + 10)
    with pytest.raises(SessionError, match="unknown"):
        s.sign_in("hzt_huxi", NOW)


def test_a_forged_tampered_expired_or_signed_out_cookie_is_refused() -> None:
    """Any change to a cookie breaks its signature; expiry and sign-out end it."""
    scopes = {hash_token("hzt_huxi"): HUXI, hash_token("hzt_district"): DISTRICT}
    s = keeper(scopes, lifetime=600)
    session, cookie = s.sign_in("hzt_huxi", NOW)
    version, body, mac = cookie.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["h"] = hash_token("hzt_district")  # the huxi session made to claim the district's scope
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    other = Sessions(b"o" * 32, 600, scopes.get).sign_in("hzt_district", NOW)[1]  # another key
    for bad in (f"{version}.{forged}.{mac}", other, cookie[:-2], "v1.x.y", "garbage", "", "a" * 5000):
        with pytest.raises(SessionError):
            s.check(bad, NOW)
    with pytest.raises(SessionError, match="expired"):
        s.check(cookie, NOW + 600)
    assert s.still_valid(session, NOW)
    s.sign_out(session, NOW)
    with pytest.raises(SessionError, match="signed out"):
        s.check(cookie, NOW)
    assert not s.still_valid(session, NOW)
    with pytest.raises(ValueError, match="32 bytes"):
        Sessions(b"short", 600, scopes.get)


def test_csrf_tokens_belong_to_one_session_and_sign_in_forms_to_their_nonce() -> None:
    """A form's token from another session, or a sign-in token without its cookie, is refused."""
    scopes = {hash_token("hzt_huxi"): HUXI}
    s = keeper(scopes)
    one, _ = s.sign_in("hzt_huxi", NOW)
    two, _ = s.sign_in("hzt_huxi", NOW)
    assert s.csrf_ok(one, s.csrf(one)) and not s.csrf_ok(one, s.csrf(two)) and not s.csrf_ok(one, "")
    nonce = s.new_signin_nonce(NOW)
    token = s.signin_csrf(nonce)
    assert s.signin_csrf_ok(nonce, token, NOW)
    assert not s.signin_csrf_ok(s.new_signin_nonce(NOW), token, NOW)  # another form's cookie
    assert not s.signin_csrf_ok(nonce, token, NOW + 7200)  # the form waited too long
    assert not s.signin_csrf_ok(nonce.replace(":", ":9"), token, NOW)  # a stretched expiry
    assert not s.signin_csrf_ok(None, token, NOW) and not s.signin_csrf_ok(nonce, None, NOW)


def test_after_sign_in_the_board_only_sends_people_to_its_own_pages() -> None:
    for bad in ("https://evil.example/board", "//evil.example/board", "/feeds/escalations", "", None,
                "/board\\@evil"):
        assert safe_next(bad) == "/board"
    assert safe_next("/board/hazards/HZ-1?lang=en") == "/board/hazards/HZ-1?lang=en"


# --- what the board shows -----------------------------------------------------------------


def hazard(id_: str, town: str, tier: str | None = None, status: str = "reported",
           sector: str = "fire_safety", overdue: bool = False, listed: dict | None = None,
           lat: float | None = None) -> dict[str, Any]:
    view = {"kind": "hazard", "id": id_, "town": town, "departments": ["fire_rescue"], "tier": tier,
            "status": status, "sector": sector, "overdue": overdue, "listed": listed, "referrals": [],
            "title": "t", "deadline": None, "record": []}
    if lat is not None:
        view["location"] = {"lat": lat, "lon": 116.0}
    return view


def alert(id_: str, town: str, lat: float | None = 36.4) -> dict[str, Any]:
    return {"kind": "alert", "id": id_, "town": town, "departments": [], "status": "open",
            "response_level": "III", "overdue": False, "missed_reports": [], "clocks": [],
            "location": {"town": town, "lat": lat, "lon": 116.0} if lat is not None else {"town": town},
            "record": []}


HAZARDS = [hazard("HZ-1", "huxi", "red", overdue=True), hazard("HZ-2", "huxi", None),
           hazard("HZ-3", "lihaiwu", "orange", overdue=True,
                  listed={"notice_no": "N-3", "deadline": "2027-01-10T00:00:00+08:00", "active": True}),
           hazard("HZ-4", "huxi", "blue", status="closed")]
ALERTS = [alert("AL-1", "huxi"), alert("AL-2", "lihaiwu"), alert("AL-3", "huxi", lat=None)]
FIRM_HUXI, FIRM_LIHAIWU = "91371500MA3C4XK2N2", "91371500MA3D7PQ1LM"  # decide_fixtures' two enterprises


def files() -> list[dict[str, Any]]:
    """Two enterprises' files as the worker's pages read them, made by the real intake and cores:
    one in huxi, classified and inspected, with an open hazard; one in lihaiwu."""
    rp = DistrictReplay.of(RULES)
    for uscc, town, name in ((FIRM_HUXI, "huxi", "Binhe (No. 2) Chemicals"),
                             (FIRM_LIHAIWU, "lihaiwu", "Other")):
        rp.feed(*event("safety.enterprise.registered", "2026-11-01T09:00:00+08:00", {
            "uscc": uscc, "name": name, "sector": "hazardous_chemicals",
            "location": {"town": town, "address": "No. 8 Binhe Road"}, "legal_representative": "Zhang Wei",
            "by": SUPERVISOR}, uscc))
    rp.feed(*event("safety.enterprise.classified", "2026-11-01T10:00:00+08:00", {
        "uscc": FIRM_HUXI, "risk_class": "red", "key_enterprise": True, "decided_by": SUPERVISOR,
        "decided_at": "2026-11-01T10:00:00+08:00", "decision_no": "度应急分〔2026〕7"}, FIRM_HUXI))
    for e in event("safety.inspection.recorded", "2026-11-02T10:00:00+08:00", {
            "inspection_id": "INS-B1", "kind": "routine", "inspectors": INSPECTORS,
            "enterprise": {"uscc": FIRM_HUXI, "name": "Binhe (No. 2) Chemicals"},
            "location": {"town": "huxi"}, "findings": [finding("HZ-B1")]}, "INS-B1"):
        rp.feed(e)
    return [enterprise_view(f, RULES, NOW, RecordPage(RECORD_ROWS)) for f in rp.states["enterprise"].values()]


def test_every_number_of_a_towns_board_is_made_of_its_own_towns_subjects() -> None:
    """Counts, lists, heat cells and map points of a town scope leave other towns out entirely."""
    hs, als = visible(HAZARDS, HUXI), visible(ALERTS, HUXI)
    s = picture.summary(hs, als, NOW)
    assert s["open_hazards"] == 2 and s["by_tier"]["red"] == 1 and s["by_tier"]["orange"] == 0
    assert s["by_state"] == {"closed": 1, "reported": 2}
    assert s["overdue"] == [{"town": "huxi", "sector": "fire_safety", "count": 1}]
    assert s["listed"] == [] and [a["id"] for a in s["alerts"]] == ["AL-1", "AL-3"]
    towns, columns, cells = picture.heat(hs, als)
    assert towns == ["huxi"] and columns == ["fire_safety", "alerts"]
    assert cells[("huxi", "fire_safety")] == {"red": 1, "none": 1}
    assert cells[("huxi", "alerts")] == {"alerts": 2}
    geo = picture.geojson([*hs, *als])
    assert [f["id"] for f in geo["features"]] == ["AL-1"]  # AL-3 has no point; closed HZ-4 is left out
    assert geo["features"][0]["geometry"] == {"type": "Point", "coordinates": [116.0, 36.4]}

    district = picture.summary(visible(HAZARDS, DISTRICT), visible(ALERTS, DISTRICT), NOW)
    assert district["open_hazards"] == 3
    assert district["listed"][0]["notice_no"] == "N-3"
    assert district["listed"][0]["seconds_left"] == picture.seconds_left("2027-01-10T00:00:00+08:00", NOW)


def test_time_left_and_points_read_only_what_makes_sense() -> None:
    assert picture.seconds_left(None, NOW) is None and picture.time_left(None) is None
    day = 86400
    iso = "2027-01-15T08:00:00+00:00"
    due = picture.epoch(iso)
    assert picture.time_left(picture.seconds_left(iso, due - 1.5 * day)) == ("days", 1)
    assert picture.time_left(picture.seconds_left(iso, due + 0.5 * day)) == ("overdue_hours", 13)
    assert picture.time_left(picture.seconds_left(iso, due + 1.5 * day)) == ("overdue_days", 1)
    for loc in ({"lat": 91, "lon": 0}, {"lat": "36", "lon": 116}, {"lat": True, "lon": 1}, None, "x"):
        assert picture.point({"location": loc}) is None


def test_the_map_fits_its_points_inside_the_picture() -> None:
    east = {**alert("B", "huxi"), "location": {"lat": 36.5, "lon": 116.2}}
    feats = picture.geojson([alert("A", "huxi", 36.40), east])["features"]
    placed = picture.project(feats, 600, 400, pad=20)
    for x, y, _ in placed:
        assert 20 - 1e-6 <= x <= 580 + 1e-6 and 20 - 1e-6 <= y <= 380 + 1e-6
    (xa, ya, _), (xb, yb, _) = placed
    assert xb > xa and yb < ya  # east is right, north is up
    assert len(picture.project(feats[:1], 600, 400)) == 1 and picture.project([], 600, 400) == []


def test_pages_escape_what_they_show() -> None:
    page = Page("en", RULES.reference, "csrf", "office")
    html = page.hazard({**hazard("<script>x</script>", "huxi"), "title": "<img src=x onerror=1>"}, [])
    assert "<script>x" not in html and "<img src=x" not in html and "&lt;script&gt;" in html


def test_the_chinese_board_names_what_the_outputs_give_as_identifiers() -> None:
    """Sectors, grades, clocks, actions, output types and referral grounds read in Chinese; the
    English board shows the identifiers."""
    view = {**hazard("HZ-9", "huxi", "orange", status="in_progress"), "grade": "major",
            "clocks": [{"name": "supervision", "due": "2027-01-10T23:59:59+08:00"}]}
    outputs = [{"time": "2026-11-13T23:59:59+08:00", "type": "safety.escalation.raised",
                "action": "supervision_letter", "tier": "orange", "rule_id": "ladder.orange", "reason": "r"}]
    zh, en = Page("zh", RULES.reference, "c", "o").hazard(view, outputs), \
        Page("en", RULES.reference, "c", "o").hazard(view, outputs)
    for word in ("消防安全", "重大", "各项时限", "挂牌督办期限", "督办函", "升级"):
        assert word in zh
    for ident in ("fire_safety", "major", "supervision", "supervision_letter", "safety.escalation.raised"):
        assert f">{ident}<" in en or f">{ident}:" in en
    summary = picture.summary([{**view, "referrals": ["referral.duty_failures:fire_rescue",
                                                      "referral.supervision_missed"]}], [], NOW)
    grounds = "不履行安全监管职责（区消防救援大队）; 挂牌督办逾期未整改"
    assert grounds in Page("zh", RULES.reference, "c", "o").summary(summary)
    late = {**alert("AL-9", "huxi"), "missed_reports": ["county"]}
    assert "已超时: 区（县级）" in Page("zh", RULES.reference, "c", "o")._alert_row(late)
    held = {**late, "held_by": "fire_rescue"}  # the responder that acknowledged it
    assert "<td>区消防救援大队</td>" in Page("zh", RULES.reference, "c", "o")._alert_row(held)
    assert "区消防救援大队" in Page("zh", RULES.reference, "c", "o").alert(held, [])
    labels = json.loads(Page("zh", RULES.reference, "c", "o")._live_labels())
    assert labels["actions"]["discipline_referral"] == "移送纪委监委"
    assert labels["rules"]["ladder.orange"] == "整改逾期督办（橙色）" and labels["families"]["coverage"]
    assert json.loads(Page("en", RULES.reference, "c", "o")._live_labels())["actions"] == {}


def test_the_chinese_board_says_an_outputs_rule_time_and_recipients_in_chinese() -> None:
    """The reason is the engine's English sentence: on the Chinese board it stands, marked as
    English, under the rule's name, the time the output names and whom it went to; on the English
    board under the time alone."""
    view = hazard("HZ-9", "huxi", "orange")
    outputs = [{"time": "2026-11-13T23:59:59+08:00", "type": "safety.escalation.raised",
                "action": "supervision_letter", "tier": "orange", "rule_id": "ladder.orange",
                "reason": "Rectification <late>", "due_at": "2026-11-10T23:59:59+08:00",
                "to": ["区消防救援大队", "区应急管理局"]},
               {"time": "2026-11-14T00:00:00+08:00", "type": "safety.escalation.raised",
                "action": "coverage_missed", "rule_id": "coverage.A", "reason": "r2", "to": []}]
    zh = Page("zh", RULES.reference, "c", "o").hazard(view, outputs)
    assert ("整改逾期督办（橙色）；期限 2026-11-10T23:59:59+08:00；送 区消防救援大队、区应急管理局"
            '<br><span lang="en" class="en">Rectification &lt;late&gt;</span>') in zh
    assert "整改逾期督办（橙色）<br><code>ladder.orange</code>" in zh
    assert "重点企业检查频次（A）" in zh  # a rule of a family, named by its family
    fine = {"time": "2027-02-03T23:59:59+08:00", "type": "safety.enforcement.proposed", "action": "fine",
            "rule_id": "ladder.red", "due_at": "2027-02-16T23:59:59+08:00",
            "due_at_latest": "2027-02-18T23:59:59+08:00", "to": []}
    assert ("期限 约 2027-02-16T23:59:59+08:00，最迟可能为 2027-02-18T23:59:59+08:00"
            in Page("zh", RULES.reference, "c", "o").hazard(view, [fine]))
    referral = {"time": "2026-11-20T23:59:59+08:00", "type": "safety.referral.discipline",
                "action": "duty_failure", "reason": "fire_rescue failed <its> duty",
                "reason_zh": "区消防救援大队 <失职>", "to": ["区消防救援大队"]}
    page = Page("zh", RULES.reference, "c", "o").hazard(view, [referral])
    assert ('送 区消防救援大队<br>区消防救援大队 &lt;失职&gt;<br><span lang="en" class="en">'
            'fire_rescue failed &lt;its&gt; duty</span>') in page
    assert "失职" not in Page("en", RULES.reference, "c", "o").hazard(view, [referral])
    en = Page("en", RULES.reference, "c", "o").hazard(view, outputs)
    assert ("<td><code>ladder.orange</code></td><td>Due 2026-11-10T23:59:59+08:00<br>"
            "Rectification &lt;late&gt;</td>") in en
    assert "<td><code>coverage.A</code></td><td>r2</td>" in en  # no time named: the reason alone
    assert "区消防救援大队" not in en
    # A proposal has no reason: the English board still says when it is due, and how late it may be.
    assert ("<td>Due about 2027-02-16T23:59:59+08:00, possibly as late as 2027-02-18T23:59:59+08:00</td>"
            in Page("en", RULES.reference, "c", "o").hazard(view, [fine]))


def test_every_identifier_the_shipped_rules_send_has_a_chinese_word() -> None:
    """Each action, output type, grade and rule the shipped rule tests send, each clock the cores run,
    each sector of the contract and each accident report level has a word on the Chinese board:
    a new one without a word would show as an identifier in a Chinese page."""
    alert_rules = load_alert_rules(REPO / "rules", RULES.reference)
    files = sorted((REPO / "rules" / "tests").glob("*.yaml")) + \
        sorted((REPO / "rules" / "tests" / "alerts").glob("*.yaml"))
    sent = [g.out.event for f in files for g in run_file(f, RULES, alert_rules).got if g.type != "cap"]
    actions = {e["data"]["action"] for e in sent if "action" in e["data"]}
    actions |= {a for step in RULES.ladder for a in step.actions if not a.startswith("propose:")}
    actions |= {"coverage_missed", "duty_failure", "plan_behind"}  # the enterprise and plan cores'
    assert len(actions) >= 13 and actions <= set(words.ACTIONS)
    assert {e["type"] for e in sent} | set(OUTPUT_TYPES) <= set(words.TYPES)
    grades = {e["data"].get("grade") for e in sent} - {None}
    assert grades and grades <= set(words.GRADES)
    clocks = set(hazard_clocks._FIRE) | {"handover", INITIAL, DAILY, FINAL} | {
        f"report_{level.id}" for level in alert_rules.report_levels}
    assert clocks <= set(words.CLOCKS)
    assert {level.id for level in alert_rules.report_levels} <= set(words.LEVELS)
    assert all(RULES.reference.sectors[s].name for s in SECTORS)
    assert {g.rule_id for g in (RULES.duty_failures, RULES.supervision_missed)} <= set(words.GROUNDS)
    rule_ids = {e["data"]["rule_id"] for e in sent if e["data"].get("rule_id")}
    assert len(rule_ids) >= 25 and rule_ids <= set(words.RULES)
    assert {"annual.behind", "referral.periodic_filing", "alert.cap"} <= set(words.RULES)
    assert all(r.split(".", 1)[0] in words.FAMILIES for r in words.RULES)


# --- the routes, on an aiohttp application without Kafka -----------------------------------


class Views:
    """A StateSource over a list of views (with their records as given), in one page."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.by_id = {i["id"]: i for i in items}

    def get(self, id_: str, record: RecordPage | None = None,
            scope: Scope | None = None) -> dict[str, Any] | None:
        return self.by_id.get(id_)

    async def page(self, scope: Scope, filters: Filters, overdue: bool | None, after: str | None,
                   limit: int, now: float, share: Any) -> tuple[list[dict[str, Any]], str | None]:
        return [dict(v) for v in self.by_id.values() if item_visible(v, filters, scope, overdue)], None

    def items(self) -> list[dict[str, Any]]:
        return list(self.by_id.values())


def run_board(tmp_path: Path, check: Callable[[TestClient, dict[str, str]], Awaitable[None]]) -> None:
    tokens, lines = {}, []
    for name, towns, district in (("huxi", ["huxi"], False), ("district", [], True)):
        tokens[name], line = mint(name, towns, [], district)
        lines.append(line)
    (tmp_path / "tokens.yaml").write_text("supervisors:\n" + "\n".join(lines) + "\n")
    pages = Pages()
    register(pages, settings=Settings(board_secret="k" * 40), bootstrap="127.0.0.1:9",
             hazards=Views(HAZARDS), alerts=Views(ALERTS), enterprises=Views(files()),
             tokens=TokenStore.load(tmp_path / "tokens.yaml"), reference=RULES.reference,
             now=lambda: NOW)

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            await check(client, tokens)

    asyncio.run(main())


async def sign_in(client: TestClient, token: str) -> Any:
    form = await (await client.get("/board/signin")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    return await client.post("/board/signin", data={"csrf": csrf, "token": token, "next": "/board"},
                             allow_redirects=False)


def test_forms_that_cannot_be_read_and_origins_that_are_no_urls_are_the_senders_fault(tmp_path: Path) -> None:
    """Sign-in and sign-out forms that cannot be parsed (a multipart body without its boundary, a
    charset Python does not know, text not in the charset it names) answer 400, and an Origin that
    is no URL at all answers 403: never a 500. A HEAD of the board's event stream opens nothing."""
    bodies = [("multipart/form-data", b"--x\r\n\r\n"),
              ("application/x-www-form-urlencoded; charset=bogus", b"token=a"),
              ("application/x-www-form-urlencoded; charset=utf-8", b"token=%ff%fe&csrf=\xff")]

    async def check(client: TestClient, tokens: dict[str, str]) -> None:
        for content_type, body in bodies:
            refused = await client.post("/board/signin", data=body, headers={"Content-Type": content_type},
                                        allow_redirects=False)
            assert refused.status in (400, 403), (content_type, refused.status)
        odd_origin = await client.post("/board/signin", data={"csrf": "x", "token": "y"},
                                       headers={"Origin": "http://[::1"}, allow_redirects=False)
        assert odd_origin.status == 403
        assert (await sign_in(client, tokens["huxi"])).status == 303
        for content_type, body in bodies:
            refused = await client.post("/board/signout", data=body, headers={"Content-Type": content_type},
                                        allow_redirects=False)
            assert refused.status in (400, 403), (content_type, refused.status)
        assert (await client.head("/board/events")).status == 405
        assert (await client.get("/board", allow_redirects=False)).status == 200  # still signed in

    run_board(tmp_path, check)


def test_non_ascii_cookies_and_csrf_fields_are_not_a_match_never_a_500(tmp_path: Path) -> None:
    """A session cookie, a sign-in cookie's signature or a CSRF field with non-ASCII text (or text
    aiohttp could only read with surrogates) answered 500 to anyone: `hmac.compare_digest` raises
    TypeError on such str. Now it is simply no match: the sign-in page, or 403."""

    async def check(client: TestClient, tokens: dict[str, str]) -> None:
        for value in ("v1.abc.\u00e9", "v1.\u00e9.abc", "v1.abc.\udcff"):
            page = await client.get("/board", headers={"Cookie": f"{COOKIE}={value}"},
                                    allow_redirects=False)
            assert page.status == 200 and 'id="token"' in await page.text(), value
        form = await (await client.get("/board/signin")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        refused = await client.post("/board/signin", data={"csrf": "\u00e9" + csrf[1:], "token": "x"},
                                    allow_redirects=False)
        assert refused.status == 403
        forged = await client.post("/board/signin", data={"csrf": csrf, "token": "x"}, allow_redirects=False,
                                   headers={"Cookie": "hzb_signin=nonce:9999999999.\u00e9"})
        assert forged.status == 403
        assert (await sign_in(client, tokens["huxi"])).status == 303
        out = await client.post("/board/signout", data={"csrf": "\u00e9"}, allow_redirects=False)
        assert out.status == 403
        assert (await client.get("/board", allow_redirects=False)).status == 200  # still signed in

    run_board(tmp_path, check)


def test_a_static_name_too_long_for_the_file_system_is_404(tmp_path: Path) -> None:
    """`/board/static/<a name over 255 bytes>` made the file system refuse (ENAMETOOLONG), and
    aiohttp's static route let that out as a 500. Only the board's own files are served."""

    async def check(client: TestClient, tokens: dict[str, str]) -> None:
        for name in ("a" * 300, "a/" * 3000, "\u00e9" * 200, "../board.py", "board.css/x", "", "."):
            assert (await client.get(f"/board/static/{name}")).status == 404, name[:20]
        css = await client.get("/board/static/board.css")
        assert css.status == 200 and css.content_type == "text/css"
        assert (await client.get("/board/static/board.js")).status == 200

    run_board(tmp_path, check)


def test_sign_in_sets_a_strict_httponly_expiring_cookie_and_sign_out_needs_the_csrf_token(
        tmp_path: Path) -> None:
    async def check(client: TestClient, tokens: dict[str, str]) -> None:
        resp = await client.get("/board", allow_redirects=False)
        assert resp.status == 200 and 'id="token"' in await resp.text()  # the sign-in page
        # A sign-in form posted without its cookie's token (another site's form) is refused.
        refused = await client.post("/board/signin", data={"csrf": "x", "token": tokens["huxi"]},
                                    allow_redirects=False)
        assert refused.status == 403 and COOKIE not in refused.cookies
        resp = await sign_in(client, tokens["huxi"])
        assert resp.status == 303 and resp.headers["Location"] == "/board"
        header = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith(COOKIE + "="))
        assert "HttpOnly" in header and "SameSite=Strict" in header and "Max-Age=43200" in header
        board = await client.get("/board")
        text = await board.text()
        assert board.status == 200 and "HZ-1" in text and "HZ-3" not in text and "AL-2" not in text
        assert "script-src 'self'" in board.headers["Content-Security-Policy"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
        for bad in ({}, {"csrf": "forged"}):
            assert (await client.post("/board/signout", data=bad, allow_redirects=False)).status == 403
        other_site = await client.post("/board/signout", data={"csrf": csrf}, allow_redirects=False,
                                       headers={"Origin": "https://evil.example"})
        assert other_site.status == 403
        out = await client.post("/board/signout", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303 and out.headers["Location"] == "/board/signin"
        assert 'id="token"' in await (await client.get("/board")).text()
        assert (await client.get("/board/summary")).status == 401
        assert (await client.get("/board/events")).status == 401

    run_board(tmp_path, check)


def test_the_boards_session_cookie_twice_or_two_authorization_headers_answer_400(tmp_path: Path) -> None:
    """The board marks its session and sign-in cookies as credentials, so the server's limits
    refuse a request that names one twice (which one is the user?), as they refuse two
    Authorization headers on /hazards.geojson; one of each is served as before."""
    from multidict import CIMultiDict

    from engine.http.limits import Limits

    token, line = mint("district", [], [], True)
    (tmp_path / "tokens.yaml").write_text("supervisors:\n" + line + "\n")
    pages = Pages()
    register(pages, settings=Settings(board_secret="k" * 40), bootstrap="127.0.0.1:9",
             hazards=Views(HAZARDS), alerts=Views(ALERTS), enterprises=Views(files()),
             tokens=TokenStore.load(tmp_path / "tokens.yaml"), reference=RULES.reference,
             now=lambda: NOW)
    Limits().install(pages.web_app)

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            for cookie in ("hzb_session=a.b.c; hzb_session=d.e.f", "hzb_signin=a; hzb_signin=b"):
                twice = await client.get("/board", headers={"Cookie": cookie})
                assert twice.status == 400 and "ambiguous" in (await twice.json())["error"], cookie
            bearer = f"Bearer {token}"
            two = await client.get("/hazards.geojson", headers=CIMultiDict(
                [("Authorization", bearer), ("Authorization", "Bearer hzt_other")]))
            assert two.status == 400 and "2 Authorization headers" in (await two.json())["error"]
            assert (await client.get("/hazards.geojson", headers={"Authorization": bearer})).status == 200
            assert (await client.get("/board", headers={"Cookie": "hzb_lang=en; hzb_lang=zh"})).status == 200

    asyncio.run(main())


def test_geojson_refuses_the_parameters_it_would_ignore(tmp_path: Path) -> None:
    """`/hazards.geojson?town=yuji` answered every feature of the scope as if filtered: it filters
    nothing, so any parameter is now a 400 naming it, by token or by session alike."""
    async def check(client: TestClient, tokens: dict[str, str]) -> None:
        bearer = {"Authorization": f"Bearer {tokens['huxi']}"}
        for query, name in (("town=yuji", "'town'"), ("tier=red&x=1", "'tier'"), ("lang=en", "'lang'")):
            refused = await client.get(f"/hazards.geojson?{query}", headers=bearer)
            assert refused.status == 400 and f"unknown parameter {name}" in (await refused.json())["error"]
        assert (await client.get("/hazards.geojson?town=yuji")).status == 401  # no one: who first
        await sign_in(client, tokens["huxi"])
        assert (await client.get("/hazards.geojson?town=yuji")).status == 400
        assert (await client.get("/hazards.geojson")).status == 200

    run_board(tmp_path, check)


def test_another_towns_subject_answers_as_an_unknown_one_and_geojson_keeps_the_scope(
        tmp_path: Path) -> None:
    async def check(client: TestClient, tokens: dict[str, str]) -> None:
        assert (await client.get("/hazards.geojson")).status == 401
        geo = await (await client.get("/hazards.geojson",
                                      headers={"Authorization": f"Bearer {tokens['huxi']}"})).json()
        assert [f["id"] for f in geo["features"]] == ["AL-1"]
        await sign_in(client, tokens["huxi"])
        outside, unknown = await client.get("/board/hazards/HZ-3"), await client.get("/board/hazards/HZ-9")
        assert outside.status == unknown.status == 404
        assert (await outside.text()).replace("HZ-3", "X") == (await unknown.text()).replace("HZ-9", "X")
        alert_outside = await client.get("/board/alerts/AL-2")
        assert alert_outside.status == 404
        geo = await (await client.get("/hazards.geojson")).json()  # by the session cookie
        assert [f["id"] for f in geo["features"]] == ["AL-1"]
        for bad in ({"headers": {"Last-Event-ID": "0:x"}}, {"params": {"recent": "0"}},
                    {"params": {"recent": "²"}}):
            assert (await client.get("/board/events", **bad)).status == 400
        # No broker behind this board: a detail page still shows the state, and says what is missing.
        page = await client.get("/board/hazards/HZ-1?lang=en")
        assert page.status == 200 and "The outputs cannot be read now" in await page.text()
        assert (await client.get("/board/events", params={"recent": "5"})).status == 503
        assert (await client.get("/board/events")).status == 503
        english = await client.get("/board/map?lang=en")
        assert "Risk picture" in await english.text() and 'id="map"' in await english.text()
        assert english.cookies["hzb_lang"].value == "en"

    run_board(tmp_path, check)


def test_an_enterprises_file_has_its_page_in_its_towns_scope_and_its_hazards_link_to_it(
        tmp_path: Path) -> None:
    """一企一档 on the board: the file's facts, its open hazard linked to the hazard's page, its record
    in Chinese; another town's enterprise answers exactly as an unknown one."""
    async def check(client: TestClient, tokens: dict[str, str]) -> None:
        await sign_in(client, tokens["huxi"])
        page = await client.get(f"/board/enterprises/{FIRM_HUXI}")
        text = await page.text()
        assert page.status == 200 and "Binhe (No. 2) Chemicals" in text
        assert f"<code>{FIRM_HUXI}</code>" in text and "红色（重大风险） · 度应急分〔2026〕7" in text
        assert '<a href="/board/hazards/HZ-B1">HZ-B1</a>' in text  # its open hazard, one click away
        assert "日常检查 INS-B1：发现隐患 1 项" in text
        assert "风险等级评定为红色（重大风险），列为重点企业" in text
        assert "暂时无法读取输出" in text  # no broker here: the file shows, and says what is missing
        outside = await client.get(f"/board/enterprises/{FIRM_LIHAIWU}")
        unknown = await client.get("/board/enterprises/91371500MA0000000X")
        assert outside.status == unknown.status == 404
        assert ((await outside.text()).replace(FIRM_LIHAIWU, "X")
                == (await unknown.text()).replace("91371500MA0000000X", "X"))
        english = await (await client.get(f"/board/enterprises/{FIRM_HUXI}?lang=en")).text()
        assert "Enterprise file" in english and "registered: Binhe (No. 2) Chemicals (" in english
        # The list, from the board's menu: the scope's files only, each a link to its page.
        listed = await (await client.get("/board/enterprises?lang=zh")).text()
        assert '<a href="/board/enterprises">企业档案</a>' in listed
        assert f'<a href="/board/enterprises/{FIRM_HUXI}">Binhe (No. 2) Chemicals</a>' in listed
        assert FIRM_LIHAIWU not in listed
        assert "1 ⚠" in listed  # HZ-B1 has been overdue since November
        assert FIRM_HUXI in await (await client.get("/board/enterprises?overdue=true")).text()
        assert FIRM_HUXI not in await (await client.get("/board/enterprises?overdue=false")).text()
        for bad in ("overdue=maybe", "cursor=%%%"):
            assert (await client.get(f"/board/enterprises?{bad}")).status == 400

    run_board(tmp_path, check)


def test_an_alerts_page_links_the_file_of_the_enterprise_where_it_happened() -> None:
    from test_alerts import ALERT_RULES, raised

    rp = DistrictReplay.of(RULES, ALERT_RULES)
    rp.feed(raised("AL-9", "2026-11-02 09:00"))  # at decide_fixtures' enterprise, FIRM_HUXI
    view = alert_view(rp.states["alert"]["AL-9"], NOW)
    assert view["enterprise"] == {"uscc": FIRM_HUXI, "name": "Shuicheng Logistics Co., Ltd."}
    html = Page("en", RULES.reference, "c", "o").alert(view, [])
    assert (f'<dt>Enterprise</dt><dd><a href="/board/enterprises/{FIRM_HUXI}">Shuicheng Logistics Co., '
            'Ltd.</a></dd>') in html


def test_a_hazards_page_links_its_enterprises_file() -> None:
    view = {**hazard("HZ-9", "huxi"), "enterprise": {"uscc": FIRM_HUXI, "name": "Binhe <Chemicals>"}}
    html = Page("zh", RULES.reference, "c", "o").hazard(view, [])
    link = f'<a href="/board/enterprises/{FIRM_HUXI}">Binhe &lt;Chemicals&gt;</a>'
    assert f"<dt>企业</dt><dd>{link}</dd>" in html
    public_place = Page("zh", RULES.reference, "c", "o").hazard(hazard("HZ-9", "huxi"), [])
    assert "/board/enterprises/" not in public_place


def test_the_board_secret_must_be_long_enough() -> None:
    with pytest.raises(ValueError):
        Settings(board_secret="short")


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_coloured_text_of_the_stylesheet_passes_wcag_aa_contrast() -> None:
    """Each rule that sets both a background and a text colour gives at least 4.5:1 (WCAG 2, AA)."""
    css = (Path(__file__).resolve().parents[2] / "engine" / "board" / "static" / "board.css").read_text()
    def full(colour: str) -> str:  # #fff -> #ffffff
        return "#" + "".join(c * 2 for c in colour[1:]) if len(colour) == 4 else colour

    names = {k: full(v) for k, v in re.findall(r"--([a-z]+):\s*(#[0-9a-f]{3,6})\b", css)}
    pairs = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        bg = re.search(r"background:\s*(var\(--([a-z]+)\)|#[0-9a-f]{3,6}\b)", body)
        fg = re.search(r"(?<![-a-z])color:\s*(var\(--([a-z]+)\)|#[0-9a-f]{3,6}\b)", body)
        if bg and fg:
            pairs.append((selector.strip().splitlines()[-1], names.get(bg.group(2), full(bg.group(1))),
                          names.get(fg.group(2), full(fg.group(1)))))
    assert len(pairs) >= 8
    low = [(s, b, f, round(contrast(b, f), 2)) for s, b, f in pairs if contrast(b, f) < 4.5]
    assert not low, low


def test_an_approximate_deadline_is_marked_where_the_board_shows_it() -> None:
    """A working-day deadline in a year without a holiday notice may truly fall later: the hazard
    page and the summary's list mark it, and say why on hover and to screen readers."""
    late = {**hazard("HZ-8", "huxi", "red"), "deadline": "2027-02-15T23:59:59+08:00", "approximate": True}
    page = Page("zh", RULES.reference, "c", "o")
    marked = '2027-02-15T23:59:59+08:00 <abbr title="估算：当年节假日安排未公布">≈</abbr>'
    assert marked in page.hazard(late, [])
    assert marked in page.summary(picture.summary([late], [], NOW))
    assert "≈" not in page.hazard({**late, "approximate": False}, [])


def test_every_record_line_the_shipped_rule_tests_write_reads_in_chinese() -> None:
    """Each line the cores write into a subject's record in the shipped rule tests has a known
    shape (engine/zh/record.py): a sentence added to a core without its Chinese fails here."""
    alert_rules = load_alert_rules(REPO / "rules", RULES.reference)
    files = sorted((REPO / "rules" / "tests").glob("*.yaml")) + \
        sorted((REPO / "rules" / "tests" / "alerts").glob("*.yaml"))
    lines = {what for f in files for state in run_file(f, RULES, alert_rules).states.values()
             for _, _, what in state.timeline()}
    zh = Words("zh", RULES.reference)
    unread = sorted(line for line in lines if record.in_chinese(line, zh._value) is None)
    assert len(lines) >= 150 and unread == []


@pytest.mark.parametrize(("line", "chinese"), [
    ("registered: Binhe (No. 2) Chemicals Co., Ltd. (hazardous_chemicals, huxi)",
     "登记：Binhe (No. 2) Chemicals Co., Ltd.（危险化学品，湖西街道）"),
    ("classified red, key enterprise (重点企业) by sup-01",
     "风险等级评定为红色（重大风险），列为重点企业（sup-01）"),
    ("inspection INS-7 (random_check): 2 finding(s)", "双随机抽查 INS-7：发现隐患 2 项"),
    ("inspection INS-7 (routine) REFUSED or obstructed (拒绝、阻碍检查)", "日常检查 INS-7：拒绝、阻碍检查"),
    ("inspection INS-7 (routine) recorded again: counted once", "日常检查 INS-7 再次报送，只计一次"),
    ("classification red of 2026-11-01T10:00:00+08:00 recorded again: one decision",
     "2026-11-01T10:00:00+08:00 的风险等级评定（红色（重大风险））再次报送，只算一次"),
    ("hazard HZ-1 opened (grade unknown)", "隐患 HZ-1 立案（等级待核定）"),
    ("hazard HZ-1 unfounded", "隐患 HZ-1：核实不属实"),
    ("alert AL-1 raised (hazardous_chemical_leak)", "警情 AL-1（危险化学品泄漏）"),
    ("enforcement proposal P-1: utility_stop_notice (hazard HZ-1)",
     "执法建议 P-1：通知停止供电（隐患 HZ-1）"),
    ("credit proposal C-1 (refused_inspection): awaits a person's decision",
     "信用惩戒建议 C-1（多次拒绝、阻碍检查）：待人工决定"),
    ("credit proposal C-1: rejected by sup-01 (XY-2027-3)",
     "信用惩戒建议 C-1：不予列入（sup-01，XY-2027-3）"),
    ("credit proposal C-1 withdrawn: hazard HZ-1 was settled by its deadline (passed)",
     "撤回信用惩戒建议 C-1：隐患 HZ-1 已在期限内了结（复查验收通过）"),
    ("credit proposal C-1 withdrawn: its order was lifted before the violation",
     "撤回信用惩戒建议 C-1：违反的决定此前已解除"),
    ("referral R-1 withdrawn", "撤回移送 R-1"),
])
def test_a_line_of_an_enterprises_file_in_chinese(line: str, chinese: str) -> None:
    """The lines of engine/enterprise/core.py the district properties may not reach; a name as
    typed stays as typed, brackets and all."""
    zh = Words("zh", RULES.reference)
    assert zh.record(line) == chinese and zh.timeline_item(0, "ev", line)["what_zh"] == chinese
    assert Words("en", RULES.reference).record(line) == line


@pytest.mark.parametrize(("line", "chinese"), [
    ("ladder ladder.red: summon, propose:fine", "整改逾期约谈（红色）：约谈、建议罚款"),
    ("recorded again under a fresh event id: the same record as one on file, applied once",
     "再次报送（与已记录的一条相同，只处理一次）"),
    ("review failed: recorded again, counted once", "复查验收未通过（再次报送，只计一次）"),
    ("extension requested until 2026-07-31: answered by the decision of 2026-04-03T18:00:00+08:00",
     "申请延期至 2026-07-31：已由 2026-04-03T18:00:00+08:00 的决定答复"),
    ("duty failure duty.verify by fire_rescue (1)",
     "区消防救援大队 不履行安全监管职责（隐患核实期限，第 1 次）"),
    ("reported (general) via grid_patrol (reached the engine late, on 2026-11-07T12:00:00+08:00)",
     "上报（一般），来源：网格巡查（2026-11-07T12:00:00+08:00 才送达引擎）"),
    ("extension requested until 2026-07-31 (39 working days left); extension approved: new deadline "
     "2026-07-31T23:59:59+08:00",
     "申请延期至 2026-07-31（距期限 39 个工作日）；延期批准，新期限 2026-07-31T23:59:59+08:00"),
    ("ladder steps ladder.yellow, ladder.red withdrawn: review passed on 2026-11-09T10:00:00+08:00",
     "撤回 整改到期（黄色）、整改逾期约谈（红色）：已于 2026-11-09T10:00:00+08:00 复查验收通过"),
    ("supervision.listed.plan of 2026-03-06T23:59:59+08:00 withdrawn: found unfounded on "
     "2026-03-05T09:00:00+08:00",
     "撤回 挂牌督办整改方案期限（2026-03-06T23:59:59+08:00）：已于 2026-03-05T09:00:00+08:00 核实认定不属实"),
    ("supervision.listed.plan of 2026-03-06T23:59:59+08:00 withdrawn: review passed on "
     "2026-03-05T09:00:00+08:00",
     "撤回 挂牌督办整改方案期限（2026-03-06T23:59:59+08:00）：已于 2026-03-05T09:00:00+08:00 复查验收通过"),
    ("reported (general) via self_inspection; its rectify_by 2027-11-01T23:59:59+08:00 not applied: a "
     "deadline is an inspector's to set, and the reporter is enterprise",
     "上报（一般），来源：企业自查；所填整改期限 2027-11-01T23:59:59+08:00 未采用：整改期限由执法人员确定"
     "（上报人：企业）"),
    ("verified: confirmed (major); notice 度假区挂督〔2026〕HZ-1 issued again to the new lead department "
     "fire_rescue",
     "核实：属实（重大）；挂牌督办通知书 度假区挂督〔2026〕HZ-1 重新下发给新的牵头部门 区消防救援大队"),
    # A duty failure withdrawn says why: done, or never due, or its deadline moved (since 2026-12-07).
    ("duty.review failure of 2026-11-13T23:59:59+08:00 withdrawn: found unfounded on "
     "2026-11-08T10:00:00+08:00",
     "撤回失职认定 整改复查验收期限（期限 2026-11-13T23:59:59+08:00）："
     "已于 2026-11-08T10:00:00+08:00 核实认定不属实，该项职责未到履行期限"),
    ("referral.supervision_missed failure of 2026-06-30T23:59:59+08:00 withdrawn: deadline moved to "
     "2026-07-31T23:59:59+08:00 on 2026-07-03T09:00:00+08:00",
     "撤回失职认定 挂牌督办逾期未整改（期限 2026-06-30T23:59:59+08:00）："
     "督办单位已于 2026-07-03T09:00:00+08:00 将期限改为 2026-07-31T23:59:59+08:00"),
    ("extension decided by a inspector, who decides none: not applied",
     "延期审批记录由执法人员作出，其无权审批延期：不予采用"),
    # A legal basis that names its law's year in brackets, as the contract's examples write them.
    ("penalty decision 消行罚决字〔2026〕31号: fine 20000 CNY (安全生产法 (2021) art. 102)",
     "行政处罚决定 消行罚决字〔2026〕31号：罚款 20000 元（安全生产法 (2021) art. 102）"),
    ("order 度应急责改〔2026〕101: suspend (安全生产法 (2021) art. 65)",
     "度应急责改〔2026〕101：责令停产停业（安全生产法 (2021) art. 65）"),
    ("raised: fire in lihaiwu, production_accident", "接报：李海务街道火灾（生产安全事故）"),
    ("updated: a; b", "更新：a; b"),  # a person's note stays as written, even with a semicolon
    ("updated: two\nlines", "更新：two\nlines"),
    ("something the cores never wrote", "something the cores never wrote"),
    ("HZ-1: HZ-2: verified: unfounded", "HZ-1: HZ-2: verified: unfounded"),  # one subject only
])
def test_a_record_line_in_chinese(line: str, chinese: str) -> None:
    assert Words("zh", RULES.reference).record(line) == chinese
    assert Words("en", RULES.reference).record(line) == line


def test_a_record_line_of_many_prefixes_is_read_without_recursion() -> None:
    line = "a: " * 100_000 + "closed"
    assert Words("zh", RULES.reference).record(line) == line


def test_a_detail_page_shows_the_latest_steps_of_a_long_record_and_says_how_many_it_leaves_out() -> None:
    timeline = [[1_793_500_000 + n, f"ev-{n}", f"rectification {n % 100}% done"] for n in range(30_000)]
    zh = Words("zh", RULES.reference)
    page = record_page(timeline, RecordPage(RECORD_ROWS), zh)
    html = Page("zh", RULES.reference, "c", "o").hazard({**hazard("HZ-7", "huxi"), **page}, [])
    assert html.count("<tr><td>2026-11-") == 500 and "ev-29999" in html and "ev-29499<" not in html
    assert "更早的 29500 条未显示" in html
    short = record_page(timeline[:3], RecordPage(RECORD_ROWS), zh)
    short_html = Page("zh", RULES.reference, "c", "o").hazard({**hazard("HZ-7", "huxi"), **short}, [])
    assert "未显示" not in short_html and short_html.count("<tr><td>2026-11-") == 3
    # The view's Chinese of a step is what the Chinese board shows; the English board the sentence.
    said = {**hazard("HZ-7", "huxi"), "record": [{"time": "t", "event_id": "e", "what": "Verified",
                                                  "what_zh": "已核查 <x>"}]}
    assert "已核查 &lt;x&gt;" in Page("zh", RULES.reference, "c", "o").hazard(said, [])
    assert "已核查" not in Page("en", RULES.reference, "c", "o").hazard(said, [])


def test_a_detail_page_reads_outputs_from_its_records_start_less_what_clocks_allow() -> None:
    """The earliest record timestamp an output of a subject can carry: its record's earliest step,
    less the future intake allows and the hosts' skew; none without a start or that bound."""
    item = {"record_began": "2026-12-01T08:00:00+08:00"}
    began_ms = 1_796_083_200_000  # 2026-12-01T00:00:00Z
    assert outputs_since(item, 900) == began_ms - (900 + OUTPUTS_SKEW_S) * 1000
    assert outputs_since({"record_began": None}, 900) is None and outputs_since({}, 900) is None
    assert outputs_since(item, 0) is None  # intake takes any time ahead: no bound


def test_an_enterprises_page_shows_its_missed_cycles_and_what_became_of_their_referrals() -> None:
    """A key enterprise whose lead department missed its cycle: the file's view names the
    department and the referral held a day for an inspection recorded late, and the page says so;
    once the hold is over, sent. A file with no missed cycle has no such section."""
    from test_enterprise import _fired, _missed_once

    f, outs, due = _missed_once()
    view = enterprise_view(f, RULES, due, RecordPage(RECORD_ROWS))
    [told] = [o for o in outs if o.event["data"]["action"] == "coverage_missed"]
    assert view["coverage_notices"] == [{"cycle_from": "2026-11-01T10:00:00+08:00",
                                         "told_at": "2026-12-31T23:59:59+08:00", "risk_class": "orange",
                                         "escalation_id": told.id}]
    assert view["missed_cycles"] == [{"cycle_from": "2026-11-01T10:00:00+08:00",
                                      "missed_at": "2027-01-07T23:59:59+08:00",
                                      "department": "safety_bureau", "referral": "held",
                                      "ground": "referral.duty_failures:safety_bureau",
                                      "risk_class": "orange",
                                      "held_until": "2027-01-08T23:59:59+08:00"}]
    assert view["duty_failures"] == {"safety_bureau": 1}
    page = Page("zh", RULES.reference, "c", "o").enterprise(view, [])
    assert "重点企业检查周期届满未检查" in page and "区安监局" in page
    missed = page.split("重点企业检查周期届满未检查", 1)[1].split("</table>", 1)[0]
    assert ">风险等级</th>" in missed and "<td>橙色（较大风险）</td>" in missed
    notices = page.split("已告知镇（街道）安监站的周期届满通知", 1)[1].split("</table>", 1)[0]
    assert "<td>2026-12-31T23:59:59+08:00</td>" in notices and f"<code>{told.id}</code>" in notices
    assert "暂缓（等待补录的检查记录）" in page
    f, _ = _fired(f, f.next_due())  # the hold is over: referred
    assert enterprise_view(f, RULES, due)["missed_cycles"][0]["referral"] == "sent"
    page = Page("zh", RULES.reference, "c", "o").enterprise(files()[0], [])
    assert "重点企业检查周期" not in page and "周期届满通知" not in page


def test_the_boards_referrals_name_an_enterprises_missed_cycles_and_the_referrals_held() -> None:
    """The referrals list is every referral that stands: a hazard's, sent or held, and a key
    enterprise's department that missed its cycle, held a day for an inspection recorded late, then
    sent; each links to its subject's page. A withdrawn one is not on it."""
    from test_enterprise import _fired, _missed_once

    f, _, due = _missed_once()
    hazard = {**HAZARDS[0], "referrals": ["referral.supervision_missed"],
              "referrals_held": [{"ground": "referral.duty_failures:fire_rescue",
                                  "until": "2026-12-02T09:00:00+08:00"}],
              "referrals_withdrawn": ["referral.verification_overdue:emergency_bureau"]}
    held = picture.summary([hazard], [], NOW, [enterprise_view(f, RULES, due)])["referrals"]
    assert held == [
        {"kind": "hazard", "id": hazard["id"], "town": hazard["town"], "to": "discipline",
         "grounds": ["referral.supervision_missed"],
         "held": [{"ground": "referral.duty_failures:fire_rescue", "until": "2026-12-02T09:00:00+08:00"}]},
        {"kind": "enterprise", "id": f.id, "name": f.name, "town": f.town, "to": "discipline", "grounds": [],
         "held": [{"ground": "referral.duty_failures:safety_bureau", "until": "2027-01-08T23:59:59+08:00"}]}]
    zh = Page("zh", RULES.reference, "c", "o")
    text = zh.summary(picture.summary([hazard], [], NOW, [enterprise_view(f, RULES, due)]))
    assert f'<a href="/board/enterprises/{f.id}">{f.name}</a>' in text
    assert "不履行安全监管职责（区安监局），暂缓至 2027-01-08T23:59:59+08:00" in text
    assert "不履行安全监管职责（区消防救援大队），暂缓至 2026-12-02T09:00:00+08:00" in text
    f, _ = _fired(f, f.next_due())  # the hold is over: referred
    [_, sent] = picture.summary([hazard], [], NOW, [enterprise_view(f, RULES, due)])["referrals"]
    assert sent["grounds"] == ["referral.duty_failures:safety_bureau"] and sent["held"] == []
    # The hazard's own page says the same of its referrals, the withdrawn one as withdrawn.
    page = zh.hazard(hazard, [])
    assert "<dt>移送纪委监委</dt><dd>挂牌督办逾期未整改</dd>" in page
    assert "<dt>暂缓移送（等待补录的记录）</dt>" in page and "<dt>已撤回的移送</dt>" in page
    assert picture.summary(HAZARDS, [], NOW, files())["referrals"] == []  # nothing referred: none


def test_the_boards_read_of_the_files_keeps_only_those_with_a_missed_cycle() -> None:
    """`every_visible(..., keep=)`, as the board reads the files for its referrals list: the file
    whose cycle ran out is kept, the others are dropped as they are read."""
    from test_enterprise import _missed_once

    from engine.feeds.share import LoopShare
    from engine.feeds.views import every_visible

    f, _, due = _missed_once()
    missed = {**enterprise_view(f, RULES, due), "id": "91371500MA0000001X"}  # beside the others
    source = Views([*files(), missed])
    every = asyncio.run(every_visible(source, DISTRICT, NOW, LoopShare()))
    kept = asyncio.run(every_visible(source, DISTRICT, NOW, LoopShare(), keep=picture.has_missed_cycles))
    assert len(every) == len(files()) + 1 and [v["id"] for v in kept] == [missed["id"]]


def test_both_languages_name_every_part_of_a_page() -> None:
    from engine.board.html import TEXT

    assert set(TEXT["zh"]) == set(TEXT["en"])
