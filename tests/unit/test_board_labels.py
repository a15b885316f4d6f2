"""The board's words for what it lists: the overdue ladder's step apart from a hazard's grade,
each referral as what it is, a listed deadline's time left, an alert nobody took on, a withdrawal
as what it takes back; and the order and length of its hazard list."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from decide_fixtures import RULES, at

from engine.board import picture
from engine.board.html import Page
from engine.feeds.views import alert_view
from engine.kernel.time import iso

NOW = 1_800_000_000.0
DAY, HOUR = 86400, 3600


def page(lang: str = "zh") -> Page:
    return Page(lang, RULES.reference, "c", "o")


def listed(id_: str, seconds_left: float) -> dict[str, Any]:
    due = iso(int(NOW + seconds_left))
    return {"kind": "hazard", "id": id_, "town": "huxi", "departments": [], "tier": None,
            "status": "in_progress", "grade": "major", "sector": "fire_safety", "overdue": False,
            "listed": {"notice_no": f"N-{id_}", "deadline": due, "active": True}, "referrals": [],
            "title": "t", "deadline": due}


def listed_cells(html: str) -> dict[str, str]:
    """Each listed row's id and the HTML of its last cell (the time left)."""
    table = html.split('<table id="listed">', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[2:]
    return {row.split('">', 2)[1].split("<", 1)[0]: row.rsplit("<td", 1)[1] for row in rows}


def test_a_listed_deadline_shows_hours_on_its_last_day_and_overdue_once_passed() -> None:
    """Seven minutes before the deadline is not "1 day left", a day after it is not "0": the last
    day reads in hours, a passed deadline reads overdue and is marked late, in both languages."""
    hazards = [listed("HZ-SOON", 7 * 60), listed("HZ-PAST", -(DAY + 60)), listed("HZ-JUST", -60),
               listed("HZ-FAR", 3 * DAY + 5 * HOUR)]
    s = picture.summary(hazards, [], NOW)
    assert [x["id"] for x in s["listed"]] == ["HZ-PAST", "HZ-JUST", "HZ-SOON", "HZ-FAR"]
    zh, en = listed_cells(page("zh").summary(s)), listed_cells(page("en").summary(s))
    assert "不足一天（0 小时）" in zh["HZ-SOON"] and "late" not in zh["HZ-SOON"]
    assert "已逾期 1 天" in zh["HZ-PAST"] and 'class="late"' in zh["HZ-PAST"]
    assert "已逾期 1 小时" in zh["HZ-JUST"] and 'class="late"' in zh["HZ-JUST"]
    assert "3 天" in zh["HZ-FAR"] and "late" not in zh["HZ-FAR"]
    assert "last day (0 h)" in en["HZ-SOON"] and "overdue by 1 d" in en["HZ-PAST"]
    assert "overdue by 1 h" in en["HZ-JUST"] and "3 d" in en["HZ-FAR"]


def hazard(id_: str, tier: str | None, grade: str | None, status: str = "in_progress") -> dict[str, Any]:
    return {"kind": "hazard", "id": id_, "town": "huxi", "departments": [], "tier": tier, "grade": grade,
            "status": status, "sector": "fire_safety", "overdue": tier is not None, "listed": None,
            "referrals": [], "title": "t", "deadline": None}


def hazard_rows(html: str) -> dict[str, str]:
    """Each row of the board's hazard list by its id."""
    table = html.split('<table id="hazards">', 1)[1].split("</table>", 1)[0]
    return {row.split('">', 2)[1].split("<", 1)[0]: row for row in table.split("<tr>")[2:]}


def test_the_overdue_ladders_step_is_never_named_with_a_hazards_grade() -> None:
    """A general hazard seven days overdue is red on the ladder and reads 一般, not 重大; a major
    hazard no step has reached reads 重大, not 未分级; a claim not yet verified says so."""
    hs = [hazard("HZ-GEN", "red", "general"), hazard("HZ-MAJ", None, "major"),
          hazard("HZ-CLAIM", None, "major", status="reported")]
    s = picture.summary(hs, [], NOW)
    zh, en = page("zh").summary(s), page("en").summary(s)
    for risk_word in ("红（重大）", "橙（较大）", "黄（一般）", "蓝（低）", "未分级"):
        assert risk_word not in zh
    rows = hazard_rows(zh)
    assert "红色（逾期约谈）" in rows["HZ-GEN"] and "<td>一般</td>" in rows["HZ-GEN"]
    assert 'class="badge grade-major">重大<' in rows["HZ-MAJ"] and "未升级" in rows["HZ-MAJ"]
    assert "未核实（报称重大）" in rows["HZ-CLAIM"] and "grade-major" not in rows["HZ-CLAIM"]
    assert "<th scope=\"col\">级别</th>" in zh and "<th scope=\"col\">逾期升级</th>" in zh
    rows = hazard_rows(en)
    assert "red (summons)" in rows["HZ-GEN"] and "<td>general</td>" in rows["HZ-GEN"]
    assert ">major<" in rows["HZ-MAJ"] and "unverified (claimed major)" in rows["HZ-CLAIM"]
    # The counts name the steps; the hazard's own page gives both, each under its own name.
    assert "红色（逾期约谈）" in zh.split('<table id="overdue">')[0]
    detail = page("zh").hazard({**hs[0], "record": []}, [])
    assert "<dt>逾期升级</dt><dd><span class=\"badge tier-red\">红色（逾期约谈）" in detail
    assert "<dt>级别</dt><dd>一般</dd>" in detail


def test_an_escalations_colour_is_only_a_colour() -> None:
    """A duty failure's or a referral's escalation is coloured without being called a ladder step."""
    outputs = [{"time": "2026-11-13T23:59:59+08:00", "type": "safety.escalation.raised",
                "action": "discipline_referral", "tier": "red", "rule_id": "referral.duty_failures",
                "reason": "r"}]
    html = page("zh").hazard({**hazard("HZ-1", None, "general"), "record": []}, outputs)
    assert '<td><span class="badge tier-red">红色</span></td>' in html.split('<table id="outputs">')[1]
    assert json.loads(page("zh")._live_labels())["tiers"]["red"] == "红色"


def test_a_transfer_to_the_police_and_a_power_stop_proposal_are_not_called_discipline_referrals() -> None:
    """A hazard transferred to the public security bureau (referrals.judicial) with a power-stop
    proposal (安全生产法 art. 70) and a duty failure referred to 纪委监委: each row and each fact
    of its page says where it went, and names the rule and the order in Chinese, not by ids."""
    order = "度应急责停〔2026〕7"
    view = {**hazard("HZ-J", None, "major"), "record": [], "referrals_withdrawn": [],
            "referrals": [f"judicial.134-1:{order}", f"utility_stop_notice:{order}",
                          "referral.duty_failures:fire_rescue"]}
    s = picture.summary([view], [], NOW)
    assert [(r["to"], r["grounds"]) for r in s["referrals"]] == [
        ("discipline", ["referral.duty_failures:fire_rescue"]),
        ("judicial", [f"judicial.134-1:{order}"]), ("enforcement", [f"utility_stop_notice:{order}"])]
    zh = page("zh").summary(s)
    table = zh.split('<table id="referrals">', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[2:]
    assert "<td>移送纪委监委</td><td>不履行安全监管职责（区消防救援大队）</td>" in rows[0]
    assert ("<td>移送公安机关（行刑衔接）</td>"
            f"<td>行刑衔接（刑法第一百三十四条之一）（违反决定 {order}）</td>") in rows[1]
    assert f"<td>停止供电措施建议</td><td>停止供电措施建议（安全生产法第七十条）（违反决定 {order}）</td>" \
        in rows[2]
    assert "judicial.134-1" not in table and "utility_stop_notice" not in table
    detail = page("zh").hazard(view, [])
    assert "<dt>移送纪委监委</dt><dd>不履行安全监管职责（区消防救援大队）</dd>" in detail
    assert "<dt>移送公安机关（行刑衔接）</dt><dd>行刑衔接" in detail and "<dt>停止供电措施建议</dt>" in detail
    en = page("en").summary(s)
    assert "<td>Transfer to the public security bureau</td>" in en
    assert "<td>Referral to discipline inspection</td>" in en


def test_a_transfer_is_listed_as_one_whatever_the_rules_file_calls_its_rule(tmp_path: Path) -> None:
    """The board told a transfer to the police from a referral to 纪委监委 by the shipped rule id's
    text ("judicial."): a district whose rules name the rule otherwise had its transfers listed under
    discipline inspection. The hazard's view now says where each referral goes, by the rules in force."""
    from decide_fixtures import REPO

    from engine.decide.state import Hazard
    from engine.feeds.views import hazard_view
    from engine.ruleset import load_rules

    rules_dir = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules_dir)
    hazards = rules_dir / "hazards.yaml"
    text = hazards.read_text(encoding="utf-8")
    renamed = text.replace("rule_id: judicial.134-1", "rule_id: transfer.134-1")
    hazards.write_text(renamed, encoding="utf-8")
    rules = load_rules(rules_dir)
    assert rules.judicial is not None and rules.judicial.rule_id == "transfer.134-1"
    order = "度应急责停〔2026〕7"
    h = Hazard("HZ-T", opened="e", opened_at=0, origin="report", sector="hazardous_chemicals", town="huxi",
               verdict="confirmed", grade="major",
               referred=[f"transfer.134-1:{order}", "referral.duty_failures:safety_bureau"])
    view = hazard_view(h, rules, NOW)
    assert view["referrals_to"] == {f"transfer.134-1:{order}": "judicial",
                                    "referral.duty_failures:safety_bureau": "discipline"}
    rows = picture.referrals([view], [])
    assert [(r["to"], r["grounds"]) for r in rows] == [
        ("discipline", ["referral.duty_failures:safety_bureau"]), ("judicial", [f"transfer.134-1:{order}"])]


def test_a_city_bureaus_branch_referred_shows_as_passed_on_by_the_districts_commission() -> None:
    """市公安局度假区分局's officials are the city's cadres (管理权限): its referral for a missed
    verification goes to 区纪委监委 to pass on, and the view, the board's list and the hazard's page
    say so; a district bureau's referral on the same hazard goes to 区纪委监委 as its own."""
    from engine.decide.state import Hazard
    from engine.feeds.views import hazard_view

    h = Hazard("HZ-B", opened="e", opened_at=0, origin="report", sector="road_transport", town="lihaiwu",
               referred=["referral.duty_failures:public_security", "referral.duty_failures:safety_bureau"])
    view = hazard_view(h, RULES, NOW)
    assert view["referrals_to"] == {"referral.duty_failures:public_security": "discipline_forwarded",
                                    "referral.duty_failures:safety_bureau": "discipline"}
    rows = picture.referrals([view], [])
    assert [(r["to"], r["grounds"]) for r in rows] == [
        ("discipline", ["referral.duty_failures:safety_bureau"]),
        ("discipline_forwarded", ["referral.duty_failures:public_security"])]
    assert "移送区纪委监委，请其按管理权限转送有管辖权的纪委监委" in page("zh").summary(
        picture.summary([view], [], NOW))
    assert "to pass on to the one with jurisdiction" in page("en").hazard(view, [])


def test_a_missed_listing_of_a_city_bureaus_branch_is_passed_on_and_the_town_with_it() -> None:
    """A listed road-transport hazard's missed deadline refers the town government and its lead,
    市公安局度假区分局: one referral, passed on for the branch's part."""
    from engine.decide.state import Hazard
    from engine.feeds.views import referral_destination

    h = Hazard("HZ-L", opened="e", opened_at=0, origin="report", sector="road_transport", town="lihaiwu",
               verdict="confirmed", grade="major", listed=["N-1", 0, 10, 1])
    assert referral_destination("referral.supervision_missed", RULES, h) == "discipline_forwarded"
    h.sector = "hazardous_chemicals"  # led by 区安监局
    assert referral_destination("referral.supervision_missed", RULES, h) == "discipline"
    assert referral_destination("referral.supervision_missed", RULES) == "discipline"


# --- alerts: who holds one, and who may see it ---------------------------------------------


def alert_run(until: str, *, close_at: str | None = None):
    """A fire at an enterprise in lihaiwu (one worker hurt) nobody acknowledges, run to `until`."""
    from test_alerts import ALERT_RULES, INFO_OFFICER, alert_event, raised, run

    entries = [raised("AL-F", "2026-11-02 09:00")]
    if close_at:
        entries.append(alert_event("closed", "AL-F", close_at, note="Fire out.", by=INFO_OFFICER))
    return run(entries, until), ALERT_RULES


def test_an_alert_nobody_acknowledged_reads_so_and_names_whom_the_handover_passed_it_to() -> None:
    """Not 处置中: 未签收, handed over to the town's duty officer, who holds it now (not post A)."""
    rp, rules = alert_run("2026-11-02 09:15")
    view = alert_view(rp.states["AL-F"], NOW, rules=rules)
    assert view["status"] == "open" and [u["name"] for u in view["handed_to"]] == ["李海务街道应急值班员"]
    row = page("zh")._alert_row(view)
    assert "处置中" not in row and "未签收（待接手） · 已逐级转交至 李海务街道应急值班员" in row
    assert "<td>李海务街道应急值班员</td>" in row and "岗位" not in row
    english = page("en")._alert_row(view)
    assert "not acknowledged (nobody took it on) · handed over to 李海务街道应急值班员" in english
    assert "<dt>处置单位/岗位</dt><dd>李海务街道应急值班员</dd>" in page("zh").alert(view, [])


def test_a_closed_alert_stays_on_the_board_while_its_report_clocks_run() -> None:
    """Closed 20 minutes after the fire, its county and city reports still due: on the board and
    counted, flagged, until the clock stops; then gone."""
    rp, rules = alert_run("2026-11-02 09:30", close_at="2026-11-02 09:20")
    view = alert_view(rp.states["AL-F"], NOW, rules=rules)
    assert view["status"] == "closed"
    assert [c["name"] for c in view["clocks"]] == ["report_county", "report_city"]
    s = picture.summary([], [view], NOW)
    assert [a["id"] for a in s["alerts"]] == ["AL-F"]
    html = page("zh").summary(s)
    assert '<span id="alert-count">1</span>' in html
    assert '已结束 · <strong class="late">事故报告时限仍在计时' in html
    stopped = {**view, "clocks": []}
    assert picture.summary([], [stopped], NOW)["alerts"] == []


def test_a_closed_accident_whose_reports_were_missed_stays_on_the_board_until_they_are_made() -> None:
    """Closed at 09:20, its county (10:00) and city (12:00) reports never made: at 13:00 every report
    clock has stopped, but the board keeps it, counted and flagged with what is owed, until both
    are made late (补报); then it leaves."""
    from test_alerts import INFO_OFFICER, alert_event

    rp, rules = alert_run("2026-11-02 13:00", close_at="2026-11-02 09:20")
    view = alert_view(rp.states["AL-F"], NOW, rules=rules)
    assert view["clocks"] == [] and view["missed_reports"] == ["county", "city"]
    assert view["reports_owed"] == ["report_county", "report_city"]
    s = picture.summary([], [view], NOW)
    assert [a["id"] for a in s["alerts"]] == ["AL-F"]
    html = page("zh").summary(s)
    assert '<span id="alert-count">1</span>' in html
    assert '已结束 · <strong class="late">逾期未报，尚未补报：向区（县级）报告、向市级报告' in html
    assert "reports missed and not made since: report_county, report_city" in page("en").summary(s)
    for time, unit in (("2026-11-02 13:10", "district_emergency"), ("2026-11-02 13:30", "city_emergency")):
        rp.advance_to(at(time))
        rp.feed(alert_event("acknowledged", "AL-F", time, unit=unit, by=INFO_OFFICER))
        view = alert_view(rp.states["AL-F"], NOW, rules=rules)
        shown = [a["id"] for a in picture.summary([], [view], NOW)["alerts"]]
        assert shown == ([] if unit == "city_emergency" else ["AL-F"]), (unit, view["reports_owed"])
    assert view["missed_reports"] == ["county", "city"]  # made late: still missed on the record


def test_a_closed_disaster_whose_final_report_was_missed_stays_on_the_board_until_it_is_made() -> None:
    """A flood closed on Friday 24 July 2026: its final report (核报, two working days) ran out on
    the 28th. The board keeps it until a final report is on file, late as it is."""
    from test_alerts import ALERT_RULES as rules
    from test_alerts import INFO_OFFICER, alert_event, raised
    from test_alerts import _disaster_report as report

    from engine.alerts import AlertReplay

    rp = AlertReplay(rules)
    rp.feed(raised("AL-FD", "2026-07-20 14:00", kind="flood", enterprise=None))
    rp.feed(report("AL-FD", "2026-07-20 14:10", "initial"))
    rp.advance_to(at("2026-07-24 10:00"))
    rp.feed(alert_event("closed", "AL-FD", "2026-07-24 10:00", note="Water down.", by=INFO_OFFICER))
    rp.advance_to(at("2026-07-30 10:00"))
    view = alert_view(rp.states["AL-FD"], NOW, rules=rules)
    assert view["status"] == "closed" and view["clocks"] == [] and view["reports_owed"] == ["disaster_final"]
    s = picture.summary([], [view], NOW)
    assert [a["id"] for a in s["alerts"]] == ["AL-FD"] and "尚未补报：灾情核报" in page("zh").summary(s)
    rp.feed(report("AL-FD", "2026-07-30 10:00", "final"))
    view = alert_view(rp.states["AL-FD"], NOW, rules=rules)
    assert view["reports_owed"] == [] and picture.summary([], [view], NOW)["alerts"] == []


def test_a_closed_drill_leaves_the_board_with_its_missed_reports() -> None:
    """A drill (演练) owes no report once it ends: nothing happened to report."""
    from test_alerts import ALERT_RULES, INFO_OFFICER, alert_event, raised, run

    rp = run([raised("AL-D", "2026-11-02 09:00", exercise=True),
              alert_event("closed", "AL-D", "2026-11-02 10:30", note="Drill over.", by=INFO_OFFICER)],
             "2026-11-02 13:00")
    view = alert_view(rp.states["AL-D"], NOW, rules=ALERT_RULES)
    assert view["missed_reports"] == ["county"] and view["reports_owed"] == []
    assert picture.summary([], [view], NOW)["alerts"] == []


def test_a_departments_token_sees_the_alerts_its_feed_tells_it_of() -> None:
    """Every department an escalation about the alert targets is one of the alert's departments,
    in its view and its place alike: the fire brigade's token lists the fire, and the safety
    bureau's once the handover and the missed county report reached it."""
    from test_alerts import escalations

    from engine.feeds.filters import Filters, escalation_departments, item_visible
    from engine.feeds.index import PlaceIndex, alert_place
    from engine.feeds.tokens import Scope

    rp, rules = alert_run("2026-11-02 11:00")
    a = rp.states["AL-F"]
    view, place = alert_view(a, NOW, rules=rules), alert_place(a, rules)
    targeted = set().union(*(escalation_departments(e) for e in escalations(rp)))
    assert {"fire_rescue", "safety_bureau"} <= targeted <= set(view["departments"])
    assert set(place.departments) == set(view["departments"])
    fire = Scope("fire-brigade", departments=frozenset({"fire_rescue"}))
    assert item_visible(view, Filters(), fire)
    index = PlaceIndex()
    index.put(a.id, place)
    assert index.scan(fire, Filters(), None, NOW, None, 100)[0] == ["AL-F"]
    education = Scope("education", departments=frozenset({"education_sports"}))
    assert not item_visible(view, Filters(), education)


def reported(id_: str, day: int, *, grade: str = "general", overdue: bool = False,
             listed_: bool = False) -> dict[str, Any]:
    """An open hazard reported `day` days before NOW."""
    h = {**hazard(id_, None, grade), "overdue": overdue, "reported_at": iso(int(NOW - day * DAY))}
    if listed_:
        h["listed"] = {"notice_no": f"N-{id_}", "deadline": iso(int(NOW + DAY)), "active": True}
    return h


def test_the_hazard_list_puts_listed_major_and_overdue_first_and_says_what_it_leaves_out() -> None:
    """Listed, then major, then overdue, then the rest, newest first in each; past 200 rows the list
    says how many it shows of how many, in both languages, instead of dropping the rest silently."""
    hs = [reported("HZ-OLD", 9), reported("HZ-NEW", 1), reported("HZ-LATE", 5, overdue=True),
          reported("HZ-MAJ", 8, grade="major", overdue=True), reported("HZ-LST", 30, grade="major",
                                                                       listed_=True),
          reported("HZ-MAJ2", 2, grade="major")]
    s = picture.summary(hs, [], NOW)
    assert [h["id"] for h in s["hazards"]] == ["HZ-LST", "HZ-MAJ2", "HZ-MAJ", "HZ-LATE", "HZ-NEW", "HZ-OLD"]
    assert list(hazard_rows(page("zh").summary(s))) == [h["id"] for h in s["hazards"]]
    assert "hazards-cut" not in page("zh").summary(s)

    many = [reported(f"HZ-{i:04d}", i % 50) for i in range(260)] + [reported("HZ-LAST", 60, overdue=True)]
    s = picture.summary(many, [], NOW)
    zh, en = page("zh").summary(s), page("en").summary(s)
    rows = hazard_rows(zh)
    assert len(rows) == 200 and next(iter(rows)) == "HZ-LAST"
    assert "仅显示前 200 条，共 261 条" in zh and "Showing 200 of 261" in en


LADDER_WITHDRAWN = {"time": "2026-12-28T08:05:00+08:00", "type": "safety.escalation.raised",
                    "action": "failure_withdrawn", "tier": "red", "rule_id": "ladder.red", "reason": "r"}
DUTY_WITHDRAWN = {**LADDER_WITHDRAWN, "tier": "orange", "rule_id": "duty.verify"}


def outputs_rows(html: str) -> list[str]:
    return html.split('<table id="outputs">', 1)[1].split("</table>", 1)[0].split("<tr>")[2:]


def test_a_withdrawal_is_named_by_what_it_takes_back_and_wears_no_colour_of_it() -> None:
    """A ladder step taken back reads 撤回升级, not 撤回失职认定 (which only a duty failure's does),
    and shows 撤回 in place of the red badge of the step it withdraws."""
    for lang, ladder, duty, badge in (
            ("zh", "撤回升级", "撤回失职认定", "撤回"),
            ("en", "withdrawn: ladder step", "withdrawn: duty failure", "withdrawn")):
        html = page(lang).hazard({**hazard("HZ-1", None, "general"), "record": []},
                                 [LADDER_WITHDRAWN, DUTY_WITHDRAWN])
        ladder_row, duty_row = outputs_rows(html)
        assert f"<td>{ladder}</td>" in ladder_row and f"<td>{duty}</td>" in duty_row
        for row in (ladder_row, duty_row):
            assert f'<span class="badge tier-none">{badge}</span>' in row and "tier-red" not in row
            assert "tier-orange" not in row
    labels = json.loads(page("zh")._live_labels())
    assert labels["withdrawals"]["ladder"] == "撤回升级" and labels["withdrawn"] == "撤回"


# A stand-in for the few DOM calls board.js makes, so its live list can be read without a browser.
FAKE_DOM = r"""
function El(tag) { this.tag = tag; this.children = []; this.attrs = {}; this.className = "";
  this.textContent = ""; this.parent = null; }
El.prototype.appendChild = function (c) { c.parent = this; this.children.push(c); return c; };
El.prototype.insertBefore = function (c, ref) { c.parent = this;
  var i = ref ? this.children.indexOf(ref) : -1;
  if (i < 0) { this.children.push(c); } else { this.children.splice(i, 0, c); } return c; };
El.prototype.removeChild = function (c) { this.children.splice(this.children.indexOf(c), 1); };
El.prototype.setAttribute = function (k, v) { this.attrs[k] = String(v); };
El.prototype.getAttribute = function (k) { return k in this.attrs ? this.attrs[k] : null; };
Object.defineProperty(El.prototype, "firstChild", { get: function () { return this.children[0] || null; } });
Object.defineProperty(El.prototype, "lastChild", {
  get: function () { return this.children[this.children.length - 1] || null; } });
Object.defineProperty(El.prototype, "nextSibling", { get: function () {
  var s = this.parent.children; return s[s.indexOf(this) + 1] || null; } });
function text(el) { return el.tag === "#text" ? el.textContent
  : el.textContent + el.children.map(text).join(""); }
var list = new El("ol"), conn = new El("p");
list.setAttribute("data-labels", process.argv[2]);
global.document = { body: new El("body"),
  getElementById: function (id) { return { live: list, conn: conn }[id] || null; },
  createElement: function (tag) { return new El(tag); },
  createTextNode: function (t) { var n = new El("#text"); n.textContent = t; return n; } };
global.document.body.setAttribute("data-lang", "zh");
var handlers = {};
global.EventSource = function () { this.addEventListener = function (k, f) { handlers[k] = f; }; };
global.setTimeout = function () {}; global.setInterval = function () {};
global.location = { pathname: "/board" };
require(process.argv[3]);
JSON.parse(process.argv[4]).forEach(function (e, i) {
  handlers.escalation({ lastEventId: "0:" + i, data: JSON.stringify(e) }); });
console.log(JSON.stringify(list.children.map(function (li) {
  return { cls: li.className, badge: li.children[0].className + " " + li.children[0].textContent,
           text: text(li) }; })));
"""


BOARD_JS = Path(__file__).resolve().parents[2] / "engine/board/static/board.js"


def live_list(events: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, str]]:
    """The live list board.js makes of `events` (CloudEvents as the board's stream sends them)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = tmp_path / "dom.js"
    script.write_text(FAKE_DOM)
    out = subprocess.run([node, str(script), page("zh")._live_labels(), str(BOARD_JS), json.dumps(events)],
                         capture_output=True, text=True, check=True, timeout=30)
    return json.loads(out.stdout)


def test_the_live_list_names_a_withdrawal_by_what_it_takes_back_without_its_colour(tmp_path: Path) -> None:
    def cloud(data: dict[str, Any]) -> dict[str, Any]:
        return {"time": data.pop("time"), "data": {**data, "subject_id": "HZ-1", "subject_kind": "hazard",
                                                   "town": "huxi"}}

    summon = {**LADDER_WITHDRAWN, "action": "summon", "time": "2026-12-21T23:59:59+08:00"}
    items = live_list([cloud(dict(summon)), cloud(dict(LADDER_WITHDRAWN)), cloud(dict(DUTY_WITHDRAWN))],
                      tmp_path)
    said = {("ladder" if "撤回升级" in i["text"] else "duty" if "撤回失职认定" in i["text"] else "summon"): i
            for i in items}
    assert len(said) == 3
    assert said["summon"]["cls"] == "tier-red" and said["summon"]["badge"] == "badge tier-red 红色"
    assert said["ladder"]["cls"] == "tier-none" and said["ladder"]["badge"] == "badge tier-none 撤回"
    assert "撤回失职认定" not in said["ladder"]["text"]
    assert said["duty"]["cls"] == "tier-none" and said["duty"]["badge"] == "badge tier-none 撤回"


def test_the_live_list_puts_what_was_sent_last_first_whatever_the_time_of_its_step(tmp_path: Path) -> None:
    """A late verification made a whole ladder owed at once: its red summons, sent at 12-28 08:05,
    tells of a step of 12-21. Ordered by the steps' times it sank under everything sent since 12-21;
    ordered by when each was sent (the stream's `brokertime`) it comes first, and says when it went."""
    def cloud(id_: str, step: str, sent: str | None, action: str = "summon") -> dict[str, Any]:
        event = {"time": step, "data": {"escalation_id": id_, "subject_id": id_, "subject_kind": "hazard",
                                        "town": "huxi", "action": action, "tier": "red",
                                        "rule_id": "ladder.red"}}
        return {**event, "brokertime": sent} if sent else event

    events = [cloud("HZ-A", "2026-12-27T09:00:00+08:00", "2026-12-27T09:00:01.250000+08:00", "remind"),
              cloud("HZ-LATE", "2026-12-21T23:59:59+08:00", "2026-12-28T08:05:00.123000+08:00"),
              cloud("HZ-B", "2026-12-26T10:00:00+08:00", "2026-12-26T10:00:00.500000+08:00", "remind"),
              cloud("HZ-OLD", "2026-12-20T10:00:00+08:00", None, "remind")]  # a stream of before
    items = live_list(events, tmp_path)
    assert [i["text"].split(" ", 2)[1] for i in items] == ["HZ-LATE", "HZ-A", "HZ-B", "HZ-OLD"]
    assert "2026-12-21T23:59:59+08:00 · 发出于 2026-12-28T08:05:00+08:00 · " in items[0]["text"]
    assert "发出于" not in items[3]["text"]


def test_the_chinese_outputs_name_measures_and_grounds_and_an_alerts_page_counts_its_handovers() -> None:
    """An enforcement proposal's measure (`fine`, `utility_stop_notice`) and a referral's grounds
    read in Chinese on the Chinese board, as board.web reads them off the topic; an alert's page
    says how often it was handed over, not a bare number; the counts by state say they count all."""
    from engine.board.web import _output

    def raw(type_: str, data: dict[str, Any]) -> dict[str, Any]:
        return _output(json.dumps({"time": "2026-12-28T08:05:00+08:00", "type": type_, "id": "x",
                                   "data": data}).encode())

    outputs = [raw("safety.enforcement.proposed", {"measure": "fine", "rule_id": "ladder.red"}),
               raw("safety.enforcement.proposed", {"measure": "utility_stop_notice",
                                                   "rule_id": "enforcement.utility_stop_notice"}),
               raw("safety.referral.discipline", {"grounds": "listed_supervision_failed",
                                                  "rule_id": "referral.supervision_missed"})]
    rows = outputs_rows(page("zh").hazard({**hazard("HZ-1", None, "general"), "record": []}, outputs))
    assert "<td>罚款</td>" in rows[0] and "<td>通知停止供电</td>" in rows[1]
    assert "<td>挂牌督办逾期未整改</td>" in rows[2]
    assert "<td>fine</td>" in outputs_rows(page("en").hazard({**hazard("HZ-1", None, "general"),
                                                             "record": []}, outputs))[0]

    rp, rules = alert_run("2026-11-03 09:15")
    view = alert_view(rp.states["AL-F"], NOW, rules=rules)
    assert view["handover_step"] >= 2
    assert f"<dt>逐级转交</dt><dd>已转交 {view['handover_step']} 次</dd>" in page("zh").alert(view, [])
    assert f"handed over {view['handover_step']} times" in page("en").alert(view, [])
    assert "按状态（全部隐患，含已销号）" in page("zh").counts(picture.summary([], [], NOW))
