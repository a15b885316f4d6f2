"""The board's pages as server-rendered HTML, in Chinese first and English on request.

Every value goes through `esc` (html.escape); colour is never the only sign of
a tier or level: each badge carries its name in words. No inline script or
style, so the Content-Security-Policy can forbid both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote

from engine.board import picture
from engine.contract.outputs import LEVELS
from engine.feeds.filters import LEVEL_OF_TIER
from engine.reference.compiled import Reference
from engine.zh.words import Words

LANGS = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "安全隐患与突发事件看板", "signin": "登录", "signout": "退出登录",
        "token": "监管令牌", "token_help": "粘贴您的监管令牌（hzt_ 开头）。登录后令牌不会保存在浏览器中。",
        "signin_failed": "登录失败", "board": "看板", "kiosk": "大屏", "map": "风险一张图",
        "live": "实时升级", "waiting": "等待新的升级事件…", "connected": "已连接，实时更新中",
        "disconnected": "连接已断开，正在重连…", "connecting": "正在连接…",
        "signed_out": "会话已结束，请重新登录",
        "open_hazards": "未销号隐患", "by_tier": "按逾期升级", "by_state": "按状态（全部隐患，含已销号）",
        "overdue": "逾期未整改（按镇街、行业）", "listed": "挂牌督办", "days_left": "剩余时间",
        "deadline": "期限", "approximate": "估算：当年节假日安排未公布", "referrals": "移送与执法建议",
        "referred_to": "去向", "judicial": "移送公安机关（行刑衔接）", "enforcement": "停止供电措施建议",
        "referral_forwarded": "移送区纪委监委，请其按管理权限转送有管辖权的纪委监委（市管或垂直管理单位）",
        "earlier": "仅显示最近的记录，更早的 {n} 条未显示（完整记录：接口 GET /hazards/… 或 /alerts/…）",
        "alerts": "警情", "level": "响应级别",
        "held_by": "处置单位/岗位", "clocks": "报告时限", "deadlines": "各项时限", "missed": "已超时",
        "hazards": "隐患", "id": "编号", "town": "镇街", "sector": "行业", "tier": "逾期升级",
        "colour": "颜色", "unverified": "未核实", "claimed": "报称{grade}",
        "state": "状态", "count": "数量", "none": "无", "notice": "督办文号", "grounds": "事由",
        "grade": "级别", "lead": "牵头部门", "reported_at": "上报时间", "record": "处置记录",
        "time": "时间", "event": "事件", "what": "内容", "outputs": "引发的输出（规则）",
        "back": "返回看板", "not_found": "未找到", "heat": "风险热力表（未销号）",
        "no_points": "没有带经纬度的事件。", "points": "点位（无底图，按经纬度绘制）",
        "outputs_unavailable": "暂时无法读取输出（消息服务器无响应），请稍后刷新。",
        "rule": "规则", "action": "措施", "reason": "原因", "subject": "对象",
        "grades": "级别变化", "caps": "CAP 文档", "handover": "逐级转交", "post": "岗位",
        "handovers": "已转交 {n} 次",
        "reports": "逐级报告", "demanded": "要求上报时间", "reported": "已报", "report_level": "报告层级",
        "lang_other": "English", "skip": "跳到正文", "scope": "可见范围",
        "district": "全区", "geojson": "GeoJSON 下载", "opened": "发生时间", "status_open": "处理中",
        "alerts_col": "警情", "proposals": "执法建议", "measure": "措施",
        "proposed_at": "提出时间", "due": "审核（决定）期限", "answered_by": "审核或决定记录",
        "decision": "审核通过后的执法决定",
        "enterprise": "企业档案（一企一档）", "uscc": "统一社会信用代码", "address": "地址",
        "legal_rep": "法定代表人", "risk_class": "风险等级", "key": "重点企业", "yes": "是", "no": "否",
        "registration": "登记状态", "registered_at": "登记时间", "closed_at": "关闭时间",
        "coverage_due": "检查周期下一节点", "inspection_count": "检查次数",
        "last_inspection": "最近一次检查", "refused": "拒绝、阻碍检查", "findings": "发现隐患",
        "orders": "生效的执法决定", "order_no": "文号", "order": "决定", "since": "作出时间",
        "hazard": "隐患", "credit": "信用惩戒建议", "criterion": "事由", "credit_listed": "列入失信名单",
        "seen_enterprise_town": "本档案按您的可见范围显示：该企业位于其他镇（街道）的隐患及相关执法决定、"
                                "建议和记录不在此列。",
        "seen_hazard_town": "该企业登记在{town}。本档案按您的可见范围显示与本镇（街道）相关的部分："
                            "位于本镇（街道）的隐患及其执法决定、执法建议和记录；企业的检查、重点企业"
                            "检查周期、警情和信用惩戒建议由企业所在镇（街道）掌握，不在此列。",
        "open_count": "未销号", "overdue_count": "逾期", "closed_count": "已销号",
        "enterprise_outputs": "引发的输出（规则），自档案所留最早一条记录起", "credit_decision": "决定",
        "enterprise_of": "企业", "enterprises": "企业档案", "only_overdue": "只看有逾期隐患的",
        "all_enterprises": "全部", "next_page": "下一页", "name": "名称",
        "missed_cycles": "重点企业检查周期届满未检查", "cycle_from": "周期起算", "missed_at": "届满认定",
        "coverage_notices": "已告知镇（街道）安监站的周期届满通知", "told_at": "告知时间",
        "department": "失职部门", "referral": "移送纪委监委",
        "held_referrals": "暂缓移送（等待补录的记录）", "held_until": "{ground}，暂缓至 {until}",
        "referrals_withdrawn": "已撤回的移送",
        "hazards_order": "排序：挂牌督办的在前，其次重大事故隐患（含报称重大、未核实的），"
        "再次逾期的，然后其余；各组内最新上报的在前。",
        "hazards_cut": "仅显示前 {n} 条，共 {of} 条（其余的：接口 GET /hazards，可按镇街、逾期等筛选）",
    },
    "en": {
        "title": "Hazards and emergencies board", "signin": "Sign in", "signout": "Sign out",
        "token": "Supervisor token", "token_help": "Paste your supervisor token (it starts with hzt_). "
        "The browser does not keep the token after sign-in.",
        "signin_failed": "Sign-in failed", "board": "Board", "kiosk": "Wall screen", "map": "Risk picture",
        "live": "Live escalations", "waiting": "Waiting for new escalations…",
        "connected": "Connected, updating live", "disconnected": "Disconnected, reconnecting…",
        "connecting": "Connecting…",
        "signed_out": "The session has ended; sign in again",
        "open_hazards": "Open hazards", "by_tier": "By overdue-ladder step",
        "by_state": "By state (every hazard, closed ones too)",
        "overdue": "Overdue rectifications (by town and sector)", "listed": "Listed supervision",
        "days_left": "Time left", "deadline": "Deadline",
        "approximate": "approximate: no holiday notice for its year yet",
        "referrals": "Referrals and enforcement proposals", "referred_to": "To",
        "judicial": "Transfer to the public security bureau",
        "enforcement": "Proposal to stop the power supply",
        "referral_forwarded": "Referral to the district's discipline commission, to pass on to the one "
        "with jurisdiction (a city-managed or vertically managed body)",
        "earlier": "Only the latest steps are shown; {n} earlier ones are not (the whole record: "
        "GET /hazards/… or /alerts/… of the API)",
        "alerts": "Alerts",
        "level": "Response level", "held_by": "Held by", "clocks": "Report clocks",
        "deadlines": "Running clocks", "missed": "Missed",
        "hazards": "Hazards", "id": "Id", "town": "Town", "sector": "Sector", "tier": "Overdue ladder",
        "colour": "Colour", "unverified": "unverified", "claimed": "claimed {grade}",
        "state": "State", "count": "Count", "none": "None", "notice": "Notice no.", "grounds": "Grounds",
        "grade": "Grade", "lead": "Lead department", "reported_at": "Reported", "record": "Record",
        "time": "Time", "event": "Event", "what": "What", "outputs": "Outputs it caused (rule)",
        "back": "Back to the board", "not_found": "Not found", "heat": "Risk heat table (open)",
        "no_points": "No event carries a latitude and longitude.",
        "points": "Points (no base map, drawn from latitude and longitude)",
        "outputs_unavailable": "The outputs cannot be read now (the broker does not answer); "
        "reload later.", "rule": "Rule", "action": "Action", "reason": "Reason", "subject": "Subject",
        "grades": "Grades over time", "caps": "CAP documents", "handover": "Handover",
        "handovers": "handed over {n} times", "post": "Post",
        "reports": "Reports up the chain", "demanded": "Demanded at", "reported": "Reported",
        "report_level": "Report level",
        "lang_other": "中文", "skip": "Skip to content", "scope": "Scope",
        "district": "whole district", "geojson": "GeoJSON download", "opened": "Happened",
        "status_open": "open", "alerts_col": "Alerts",
        "proposals": "Enforcement proposals", "measure": "Measure", "proposed_at": "Proposed",
        "due": "Review (decision) due", "answered_by": "Review or decision on record",
        "decision": "Decision after an approving review",
        "enterprise": "Enterprise file", "uscc": "Unified social credit code", "address": "Address",
        "legal_rep": "Legal representative", "risk_class": "Risk class", "key": "Key enterprise",
        "yes": "yes", "no": "no", "registration": "Registration", "registered_at": "Registered",
        "closed_at": "Closed", "coverage_due": "Next step of its inspection cycle",
        "inspection_count": "Inspections counted",
        "last_inspection": "Last inspection", "refused": "Refused or obstructed", "findings": "Findings",
        "orders": "Orders in force", "order_no": "Order no.", "order": "Order", "since": "Made",
        "hazard": "Hazard", "credit": "Credit proposals", "criterion": "Criterion",
        "seen_enterprise_town": "This file is shown as it concerns your towns: the enterprise's hazards in "
                                "other towns, and the orders, proposals and record steps about them, are not "
                                "listed.",
        "seen_hazard_town": "The enterprise is registered in {town}. This file is shown as it concerns "
                            "your towns: its hazards there, with their orders, enforcement proposals and "
                            "record. Its inspections, key-enterprise cycle, alerts and credit proposals are "
                            "kept by its own town and are not shown.",
        "credit_listed": "On the credit list", "open_count": "open", "overdue_count": "overdue",
        "closed_count": "closed",
        "enterprise_outputs": "Outputs it caused (rule), since the earliest step the file keeps",
        "credit_decision": "Decision", "enterprise_of": "Enterprise", "enterprises": "Enterprises",
        "only_overdue": "only those with an overdue hazard", "all_enterprises": "all",
        "next_page": "Next page", "name": "Name",
        "missed_cycles": "Key-enterprise cycles run out uninspected",
        "coverage_notices": "Notices to the town safety office that a cycle ran out", "told_at": "Told at",
        "cycle_from": "Cycle from", "missed_at": "Missed at", "department": "Department that failed",
        "referral": "Referral to discipline inspection",
        "held_referrals": "Held (waiting for a record that may come late)",
        "held_until": "{ground}, held until {until}",
        "referrals_withdrawn": "Referrals withdrawn",
        "hazards_order": "Listed for supervision first, then major hazards (claimed major ones not yet "
        "verified among them), then overdue ones, then the rest; the newest reported first in each.",
        "hazards_cut": "Showing {n} of {of} (the others: GET /hazards of the API, which filters by town, "
        "overdue and more)",
    },
}

# A hazard's tier is the step of the overdue ladder it reached (rules/hazards.yaml `overdue_ladder`),
# named by what that step does. It says how late the rectification is, never how grave the
# hazard is: that is its grade (一般/重大事故隐患), which has a column of its own, and the risk
# classes' words (重大风险, 较大风险...) are kept away from it so the one is not read as the other.
TIER_NAMES = {"zh": {"blue": "蓝色（到期前提醒）", "yellow": "黄色（到期）", "orange": "橙色（逾期督办）",
                     "red": "红色（逾期约谈）", picture.NO_TIER: "未升级"},
              "en": {"blue": "blue (reminder)", "yellow": "yellow (due)",
                     "orange": "orange (supervision letter)", "red": "red (summons)",
                     picture.NO_TIER: "no step yet"}}
# An escalation's colour alone: a duty failure, a referral or a plan's deadline is coloured too,
# and is no step of the ladder.
COLOURS = {"zh": {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色", picture.NO_TIER: "—"},
           "en": {"blue": "blue", "yellow": "yellow", "orange": "orange", "red": "red", picture.NO_TIER: "—"}}
# An escalation taken back (`failure_withdrawn`), named by what it takes back, which its rule's family
# says: a ladder step is no duty failure, and a withdrawal shows no colour of the step it withdraws.
WITHDRAWN_STEPS = {"zh": {"duty": "撤回失职认定", "coverage": "撤回失职认定", "ladder": "撤回升级",
                          "supervision": "撤回挂牌督办催办", "enforcement": "撤回执法建议逾期督办",
                          "alert": "撤回响应级别", "report": "撤回报告超时", "disaster": "撤回报告超时",
                          "": "撤回升级"},
                   "en": {"duty": "withdrawn: duty failure", "coverage": "withdrawn: duty failure",
                          "ladder": "withdrawn: ladder step",
                          "supervision": "withdrawn: listed-plan escalation",
                          "enforcement": "withdrawn: overdue-proposal escalation",
                          "alert": "withdrawn: response level", "report": "withdrawn: report overdue",
                          "disaster": "withdrawn: report overdue", "": "withdrawn: escalation"}}
WITHDRAWN = {"zh": "撤回", "en": "withdrawn"}  # a withdrawal's badge, in place of a colour
# When the engine sent a live-list entry, beside the time of the step it tells of.
SENT = {"zh": "发出于", "en": "sent"}
# The grounds a referral to discipline inspection goes on (safety.referral.discipline `grounds`).
REFERRAL_GROUNDS = {"zh": {"duty_failure": "不履行安全监管职责",
                           "listed_supervision_failed": "挂牌督办逾期未整改",
                           "periodic_filing": "监督检查结果定期抄报"}}
REFERRAL_WORDS = {"discipline": "referral", "discipline_forwarded": "referral_forwarded",  # TEXT keys
                  "judicial": "judicial", "enforcement": "enforcement"}
UNVERIFIED = frozenset({"reported", "orphan"})  # a hazard's grade is only a claim until verified
# A listed deadline's time left (picture.time_left).
LEFT = {"zh": {"days": "{n} 天", "hours": "不足一天（{n} 小时）", "overdue_days": "已逾期 {n} 天",
               "overdue_hours": "已逾期 {n} 小时"},
        "en": {"days": "{n} d", "hours": "last day ({n} h)", "overdue_days": "overdue by {n} d",
               "overdue_hours": "overdue by {n} h"}}
LEVEL_TIER = {level: tier for tier, level in LEVEL_OF_TIER.items()}  # IV blue … I red, as the feed filters
STATES = {"zh": {"reported": "已上报", "verified": "已核实", "planned": "已制定方案", "in_progress": "整改中",
                 "completed": "待验收", "closed": "已销号", "unfounded": "不属实", "duplicate": "重复",
                 "orphan": "待关联", "open": "未签收", "acknowledged": "已签收"}}
# Where an alert stands: `open` is raised and acknowledged by no responder yet, which is not being
# handled; a closed one is over for its responders, not for its report clocks.
ALERT_STATES = {"zh": {"open": "未签收（待接手）", "acknowledged": "已签收", "closed": "已结束",
                       "orphan": "待关联", "handed": "已逐级转交至 {to}",
                       "reporting": "事故报告时限仍在计时", "unreported": "逾期未报，尚未补报：{what}"},
                "en": {"open": "not acknowledged (nobody took it on)", "acknowledged": "acknowledged",
                       "closed": "closed", "orphan": "not raised yet", "handed": "handed over to {to}",
                       "reporting": "report clocks still run",
                       "unreported": "reports missed and not made since: {what}"}}
# Where an enforcement proposal stands (engine/decide/proposals.py `standing`).
PROPOSAL_STATES = {"zh": {"awaiting": "待审核（决定）", "answered": "已按期审核（决定）",
                          "answered_late": "逾期后审核（决定）", "overdue": "逾期未审核（决定），已督办",
                          "not_pressed": "隐患不属实或重复，不再督办", "not_watched": "无对应记录，不跟踪"},
                   "en": {"awaiting": "awaiting its review (decision)",
                          "answered": "reviewed (decided) in time",
                          "answered_late": "reviewed (decided) after its due time",
                          "overdue": "overdue: escalated",
                          "not_pressed": "hazard found unfounded or a duplicate",
                          "not_watched": "no record can answer it: not watched"}}
# Where the decision due after an approving review stands (the same statuses, of a decision alone).
# Where an enterprise stands on the register (engine/enterprise/state.py `status`).
REGISTRATION = {"zh": {"registered": "已登记", "closed": "已关闭", "unregistered": "未登记"}}
# What became of a missed cycle's referral (engine/enterprise/coverage.py: held, sent, or none: under
# the threshold, taken back below it, or nobody public to answer for it).
REFERRALS = {"zh": {"held": "暂缓（等待补录的检查记录）", "sent": "已移送", None: "未移送"},
             "en": {"held": "held (waiting for an inspection recorded late)", "sent": "sent",
                    None: "not referred"}}
# How the running coverage cycle goes on (engine/enterprise/coverage.py `next_step`).
COVERAGE_STEPS = {"zh": {"town_safety_office": "期满告知镇（街道）安监站",
                         "lead_department": "认定牵头部门不履行安全监管职责"},
                  "en": {"town_safety_office": "the town safety office told the cycle ran out",
                         "lead_department": "the lead department's duty failure"}}
DECISION_STATES = {"zh": {"awaiting": "待作出决定", "answered": "已按期作出决定",
                          "answered_late": "逾期后作出决定", "overdue": "逾期未作决定，已督办",
                          "not_pressed": "隐患不属实或重复，不再督办"},
                   "en": {"awaiting": "awaiting the decision", "answered": "decided in time",
                          "answered_late": "decided after its due time", "overdue": "overdue: escalated",
                          "not_pressed": "hazard found unfounded or a duplicate"}}


def esc(value: Any) -> str:
    """Text for HTML: escaped, and '—' for nothing."""
    return "—" if value is None or value == "" else escape(str(value), quote=True)


RECORD_ROWS = 500  # the most steps of a record a detail page shows, the latest
HAZARD_ROWS = 200  # the most rows of the board's hazard list, the first in picture.list_order


class Page:
    """Renders pages for one language, one scope and one reference."""

    def __init__(self, lang: str, reference: Reference, csrf: str | None, scope_name: str | None,
                 scope_text: str = "") -> None:
        self.lang = lang if lang in LANGS else "zh"
        self.t = TEXT[self.lang]
        self.ref, self.csrf, self.scope_name, self.scope_text = reference, csrf, scope_name, scope_text
        self.towns: frozenset[str] | None = None  # the scope's towns, when it names some
        self.w = Words(self.lang, reference)

    # --- names -------------------------------------------------------------------------------

    def town(self, town_id: str | None) -> str:
        town = self.ref.towns.get(town_id or "")
        return esc(town.name if town and self.lang == "zh" else town_id)

    def link(self, kind: str, id_: str, text: str | None = None) -> str:
        """A link to a hazard's, an alert's or an enterprise's detail page (`kind`: its plural)."""
        return f'<a href="/board/{kind}/{quote(id_, safe="")}">{esc(text or id_)}</a>'

    def department(self, dept_id: str | None) -> str:
        dept = self.ref.department(dept_id or "")
        if dept is None:
            return esc(dept_id)
        return esc(dept.name if self.lang == "zh" else dept.name_en)

    def state(self, status: str | None) -> str:
        return esc(STATES.get(self.lang, {}).get(status or "", status))

    def deadline(self, h: Mapping[str, Any]) -> str:
        """A hazard's deadline, marked when overdue, and when counted in working days through a
        year whose holiday notice is not out (it may truly fall later)."""
        approx = f' <abbr title="{esc(self.t["approximate"])}">≈</abbr>' if h.get("approximate") else ""
        return f'{esc(h.get("deadline"))}{approx}{" ⚠" if h.get("overdue") else ""}'

    def tier(self, tier: str | None) -> str:
        """A hazard's step of the overdue ladder, as a badge in its colour and named in words."""
        key = tier or picture.NO_TIER
        return (f'<span class="badge tier-{esc(key)}">'
                f'{esc(TIER_NAMES[self.lang].get(key, key))}</span>')

    def colour(self, tier: str | None) -> str:
        """An escalation's tier: its colour in words, which says nothing of a ladder step."""
        key = tier or picture.NO_TIER
        return f'<span class="badge tier-{esc(key)}">{esc(COLOURS[self.lang].get(key, key))}</span>'

    def grade(self, h: Mapping[str, Any]) -> str:
        """A hazard's grade (一般/重大事故隐患): a major one as a badge; before its verification only
        what the report claimed, said to be unverified."""
        grade = h.get("grade")
        said = self.w.grade(grade)
        if h.get("status") in UNVERIFIED:
            claim = self.t["claimed"].format(grade=said) if said else ""
            words = self.t["unverified"] + ((f"（{claim}）" if self.w.zh else f" ({claim})") if claim else "")
            return f'<span class="grade-unverified">{esc(words)}</span>'
        if grade == "major":
            return f'<span class="badge grade-major">{esc(said)}</span>'
        return esc(said)

    def action(self, o: Mapping[str, Any]) -> str | None:
        """An output's action in words: an escalation taken back by what its rule says it takes back,
        an enforcement proposal's measure and a referral's grounds in the measures' and the grounds'
        words (the output says which of them its `action` is)."""
        action = o.get("action")
        if action is not None and action == o.get("measure"):
            return self.w.measure(action)
        if action is not None and action == o.get("grounds"):
            return REFERRAL_GROUNDS.get(self.lang, {}).get(action, action)
        if action == "failure_withdrawn":
            steps = WITHDRAWN_STEPS[self.lang]
            return steps.get((o.get("rule_id") or "").partition(".")[0], steps[""])
        return self.w.action(action)

    def level(self, level: str | None) -> str:
        if not level:
            return esc(None)
        prefix = "Ⅳ Ⅲ Ⅱ Ⅰ".split()[LEVELS.index(level)] + "级响应" if level in LEVELS and self.lang == "zh" \
            else f"Level {level}"
        return f'<span class="badge tier-{esc(LEVEL_TIER.get(level, "none"))}">{esc(prefix)}</span>'

    # --- the frame ---------------------------------------------------------------------------

    def frame(self, title: str, body: str, *, kind: str = "page", stream: bool = False) -> str:
        t = self.t
        nav = ""
        if self.scope_name is not None:
            other = "en" if self.lang == "zh" else "zh"
            nav = (f'<nav aria-label="{esc(t["title"])}"><a href="/board">{esc(t["board"])}</a> '
                   f'<a href="/board/kiosk">{esc(t["kiosk"])}</a> '
                   f'<a href="/board/map">{esc(t["map"])}</a> '
                   f'<a href="/board/enterprises">{esc(t["enterprises"])}</a> '
                   f'<a href="?lang={other}" lang="{"en" if other == "en" else "zh-CN"}" '
                   f'id="lang-switch">{esc(t["lang_other"])}</a> '
                   f'<span class="who">{esc(t["scope"])}: {esc(self.scope_name)}'
                   f'{" (" + esc(self.scope_text) + ")" if self.scope_text else ""}</span>'
                   f'<form method="post" action="/board/signout" class="inline">'
                   f'<input type="hidden" name="csrf" value="{esc(self.csrf)}">'
                   f'<button type="submit" id="signout">{esc(t["signout"])}</button></form></nav>')
        script = '<script src="/board/static/board.js" defer></script>' if stream else ""
        return (f'<!doctype html><html lang="{"zh-CN" if self.lang == "zh" else "en"}"><head>'
                f'<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{esc(title)} · {esc(t["title"])}</title>'
                f'<link rel="stylesheet" href="/board/static/board.css">{script}</head>'
                f'<body class="{esc(kind)}" data-lang="{self.lang}">'
                f'<a class="skip" href="#main">{esc(t["skip"])}</a>'
                f'<header><h1>{esc(self.ref.district.name)} · {esc(t["title"])}</h1>{nav}</header>'
                f'<main id="main">{body}</main></body></html>')

    def status_line(self) -> str:
        """The connection state the script keeps up to date, in words (and read out when it changes)."""
        t = self.t
        return (f'<p id="conn" class="conn" role="status" aria-live="polite" '
                f'data-connected="{esc(t["connected"])}" data-disconnected="{esc(t["disconnected"])}" '
                f'data-signed-out="{esc(t["signed_out"])}">{esc(t["connecting"])}</p>')

    def live_list(self) -> str:
        t = self.t
        return (f'<section aria-labelledby="live-h"><h2 id="live-h">{esc(t["live"])}</h2>'
                f'{self.status_line()}'
                f'<ol id="live" class="live" aria-live="polite" data-empty="{esc(t["waiting"])}" '
                f'data-labels="{esc(self._live_labels())}"></ol></section>')

    def _live_labels(self) -> str:
        import json

        return json.dumps({"tiers": COLOURS[self.lang], "towns": {
            k: (v.name if self.lang == "zh" else k) for k, v in self.ref.towns.items()
            if self.towns is None or k in self.towns}, "actions": self.w.all_actions(), **self.w.all_rules(),
            "level": "级响应" if self.lang == "zh" else "Level", "withdrawals": WITHDRAWN_STEPS[self.lang],
            "withdrawn": WITHDRAWN[self.lang], "sent": SENT[self.lang]}, ensure_ascii=False)

    # --- sign-in -----------------------------------------------------------------------------

    def signin(self, csrf: str, error: str | None = None, next_path: str = "/board") -> str:
        t = self.t
        alert = f'<p class="error" role="alert">{esc(t["signin_failed"])}: {esc(error)}</p>' if error else ""
        body = (f'<h2>{esc(t["signin"])}</h2>{alert}'
                f'<form method="post" action="/board/signin" class="signin">'
                f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
                f'<input type="hidden" name="next" value="{esc(next_path)}">'
                f'<label for="token">{esc(t["token"])}</label>'
                f'<input id="token" name="token" type="password" autocomplete="off" required '
                f'aria-describedby="token-help" spellcheck="false">'
                f'<p id="token-help" class="help">{esc(t["token_help"])}</p>'
                f'<button type="submit" id="signin">{esc(t["signin"])}</button></form>'
                f'<p><a href="?lang={"en" if self.lang == "zh" else "zh"}">{esc(t["lang_other"])}</a></p>')
        return self.frame(t["signin"], body)

    # --- the board ---------------------------------------------------------------------------

    def board(self, s: Mapping[str, Any], heat_html: str) -> str:
        t = self.t
        body = (f'<div class="grid">{self.live_list()}'
                f'<div id="summary" data-src="/board/summary">{self.summary(s)}</div></div>'
                f'<section aria-labelledby="heat-h"><h2 id="heat-h">{esc(t["heat"])}</h2>'
                f'{heat_html}</section>')
        return self.frame(t["board"], body, kind="board", stream=True)

    def kiosk(self, s: Mapping[str, Any]) -> str:
        t = self.t
        body = (f'{self.live_list()}<div id="summary" data-src="/board/summary?part=counts">'
                f'{self.counts(s)}</div>')
        return self.frame(t["kiosk"], body, kind="kiosk", stream=True)

    def counts(self, s: Mapping[str, Any]) -> str:
        t = self.t
        tiers = "".join(f'<tr><th scope="row">{self.tier(k)}</th><td>{n}</td></tr>'
                        for k, n in s["by_tier"].items())
        states = "".join(f'<tr><th scope="row">{self.state(k)}</th><td>{n}</td></tr>'
                         for k, n in s["by_state"].items())
        return (f'<section aria-labelledby="counts-h"><h2 id="counts-h">{esc(t["open_hazards"])}: '
                f'<span id="open-count">{s["open_hazards"]}</span> · {esc(t["alerts"])}: '
                f'<span id="alert-count">{len(s["alerts"])}</span></h2>'
                f'<div class="two"><table><caption>{esc(t["by_tier"])}</caption>'
                f'<thead><tr><th scope="col">{esc(t["tier"])}</th><th scope="col">{esc(t["count"])}</th></tr>'
                f'</thead><tbody>{tiers}</tbody></table>'
                f'<table><caption>{esc(t["by_state"])}</caption>'
                f'<thead><tr><th scope="col">{esc(t["state"])}</th>'
                f'<th scope="col">{esc(t["count"])}</th></tr>'
                f'</thead><tbody>{states or self._none(2)}</tbody></table></div></section>')

    def _none(self, cols: int) -> str:
        return f'<tr><td colspan="{cols}">{esc(self.t["none"])}</td></tr>'

    def summary(self, s: Mapping[str, Any]) -> str:
        t = self.t
        overdue = "".join(f'<tr><td>{self.town(o["town"])}</td><td>{esc(self.w.sector(o["sector"]))}</td>'
                          f'<td>{o["count"]}</td></tr>' for o in s["overdue"])
        listed = "".join(f'<tr><td>{self.link("hazards", x["id"])}</td>'
                         f'<td>{esc(x["notice_no"])}</td><td>{esc(x["deadline"])}</td>'
                         f'{self._left(x["seconds_left"])}</tr>' for x in s["listed"])
        referrals = "".join(f'<tr><td>{self.link(r["kind"] + "s", r["id"], r.get("name"))}</td>'
                            f'<td>{self.town(r["town"])}</td><td>{esc(t[REFERRAL_WORDS[r["to"]]])}</td>'
                            f'<td>{esc("; ".join(map(self.w.ground, r["grounds"])))}</td>'
                            f'<td>{self._held(r["held"])}</td></tr>' for r in s["referrals"])
        alerts = "".join(self._alert_row(a) for a in s["alerts"])
        hazards = "".join(
            f'<tr><td>{self.link("hazards", h["id"])}</td>'
            f'<td>{esc(h.get("title"))}</td><td>{self.town(h.get("town"))}</td><td>{esc(self.w.sector(h.get("sector")))}</td>'
            f'<td>{self.grade(h)}</td><td>{self.tier(h.get("tier"))}</td><td>{self.state(h.get("status"))}</td>'
            f'<td>{self.deadline(h)}</td></tr>' for h in s["hazards"][:HAZARD_ROWS])
        total = len(s["hazards"])
        cut = (f'<p class="help" id="hazards-cut">{esc(t["hazards_cut"].format(n=HAZARD_ROWS, of=total))}</p>'
               if total > HAZARD_ROWS else "")
        th = lambda *names: "".join(f'<th scope="col">{esc(t[n])}</th>' for n in names)  # noqa: E731
        return (self.counts(s)
                + f'<section><h2>{esc(t["overdue"])}</h2><table id="overdue"><thead><tr>'
                  f'{th("town", "sector", "count")}'
                  f'</tr></thead><tbody>{overdue or self._none(3)}</tbody></table></section>'
                + f'<section><h2>{esc(t["listed"])}</h2><table id="listed"><thead><tr>'
                  f'{th("id", "notice", "deadline", "days_left")}</tr></thead>'
                  f'<tbody>{listed or self._none(4)}</tbody></table></section>'
                + f'<section><h2>{esc(t["referrals"])}</h2><table id="referrals"><thead><tr>'
                  f'{th("id", "town", "referred_to", "grounds", "held_referrals")}'
                  f'</tr></thead><tbody>{referrals or self._none(5)}</tbody></table></section>'
                + f'<section><h2>{esc(t["alerts"])}</h2><table id="alerts"><thead><tr>'
                  f'{th("id", "town", "level", "state", "held_by", "clocks")}</tr></thead>'
                  f'<tbody>{alerts or self._none(6)}</tbody></table></section>'
                + f'<section><h2>{esc(t["hazards"])}</h2>'
                  f'<p class="help">{esc(t["hazards_order"])}</p>{cut}<table id="hazards"><thead><tr>'
                  f'{th("id", "what", "town", "sector", "grade", "tier", "state", "deadline")}</tr></thead>'
                  f'<tbody>{hazards or self._none(8)}</tbody></table></section>')

    def _left(self, seconds: float | None) -> str:
        """A listed deadline's time left as a cell: days, hours on its last day, and once it has
        passed how long overdue, marked late in words and not by colour alone."""
        left = picture.time_left(seconds)
        if left is None:
            return f"<td>{esc(None)}</td>"
        unit, n = left
        words = LEFT[self.lang][unit].format(n=n)
        if unit.startswith("overdue"):
            return f'<td class="late"><strong>{esc(words)}</strong></td>'
        return f"<td>{esc(words)}</td>"

    def _held(self, held: Iterable[Mapping[str, Any]]) -> str:
        """Referrals held for a record that may come late, each with the end of its hold."""
        return esc("; ".join(self.t["held_until"].format(ground=self.w.ground(h["ground"]), until=h["until"])
                             for h in held))

    def alert_state(self, a: Mapping[str, Any]) -> str:
        """Where an alert stands in words: not acknowledged (and whom the handover passed it to),
        acknowledged, or closed, flagged while its report clocks still run or, once they stopped,
        while a report it missed is still not made (which ones)."""
        words = ALERT_STATES[self.lang]
        status = a.get("status") or ""
        said = esc(words.get(status, status))
        if status == "open" and a.get("handed_to"):
            said += f' · {esc(words["handed"].format(to=self._units(a["handed_to"])))}'
        if picture.reporting(a):
            owed = ("、" if self.lang == "zh" else ", ").join(
                str(self.w.clock(name)) for name in a.get("reports_owed") or ())
            flag = words["reporting"] if a.get("clocks") else words["unreported"].format(what=owed)
            said += f' · <strong class="late">{esc(flag)}</strong>'
        return said

    def holder(self, a: Mapping[str, Any]) -> str:
        """Who holds an alert now: the unit that acknowledged it, else the units the handover
        passed it to last, else the post it was raised at."""
        if a.get("held_by"):
            return self.department(a["held_by"])
        if a.get("handed_to"):
            return esc(self._units(a["handed_to"]))
        return esc(f'{self.t["post"]} {a["post"]}' if a.get("post") else None)

    @staticmethod
    def _units(units: Iterable[Mapping[str, Any]]) -> str:
        return "、".join(u.get("name") or u.get("id") or "" for u in units)

    def _alert_row(self, a: Mapping[str, Any]) -> str:
        t = self.t
        missed = set(a.get("missed_reports") or ())
        clocks = "; ".join(f'{esc(self.w.clock(c["name"]))} {esc(c["due"])}' for c in a.get("clocks") or ())
        levels = ", ".join(str(self.w.level(level)) for level in sorted(missed))
        late = f' <strong class="late">{esc(t["missed"])}: {esc(levels)}</strong>' if missed else ""
        return (f'<tr><td>{self.link("alerts", a["id"])}</td>'
                f'<td>{self.town(a.get("town"))}</td><td>{self.level(a.get("response_level"))}</td>'
                f'<td>{self.alert_state(a)}</td><td>{self.holder(a)}</td>'
                f'<td>{clocks or esc(None)}{late}</td></tr>')

    # --- risk picture ------------------------------------------------------------------------

    def heat(self, towns: list[str], columns: list[str],
             cells: Mapping[tuple[str, str], Mapping[str, int]]) -> str:
        t = self.t
        if not towns:
            return f'<p>{esc(t["none"])}</p>'
        head = "".join(f'<th scope="col">{esc(t["alerts_col"] if c == "alerts" else self.w.sector(c))}</th>'
                       for c in columns)
        rows = []
        for town in towns:
            tds = []
            for col in columns:
                cell = cells.get((town, col), {})
                total = sum(cell.values())
                top = next((k for k in ("red", "orange", "yellow", "blue") if cell.get(k)), None)
                words = ", ".join(
                    f'{TIER_NAMES[self.lang].get(k, t["alerts_col"])} {n}'
                    for k, n in sorted(cell.items(), key=lambda kv: kv[0]))
                cls = f"heat tier-{top}" if top else ("heat alerts" if col == "alerts" and total else "heat")
                tds.append(f'<td class="{cls}" title="{esc(words)}">{total or ""}'
                           f'<span class="sr">{esc(words)}</span></td>')
            rows.append(f'<tr><th scope="row">{self.town(town)}</th>{"".join(tds)}</tr>')
        return (f'<div class="scroll"><table class="heat-table" id="heat"><thead><tr>'
                f'<th scope="col">{esc(t["town"])}</th>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table></div>')

    def svg_map(self, features: list[dict[str, Any]], width: int = 640, height: int = 420) -> str:
        t = self.t
        if not features:
            return f'<p id="no-points">{esc(t["no_points"])}</p>'
        marks = []
        for x, y, f in picture.project(features, width, height):
            p = f["properties"]
            colour = p.get("tier") or LEVEL_TIER.get(p.get("response_level") or "", picture.NO_TIER)
            label = f'{f["id"]} · {p.get("town") or ""} · ' + (
                TIER_NAMES[self.lang].get(p.get("tier") or "", "") if p.get("kind") == "hazard"
                else f'{t["level"]} {p.get("response_level") or "—"}')
            shape = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8"/>' if p.get("kind") == "hazard" else
                     f'<rect x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14"/>')
            href = f'/board/{"hazards" if p.get("kind") == "hazard" else "alerts"}/{quote(f["id"], safe="")}'
            marks.append(f'<a href="{href}" class="pt tier-{esc(colour)}" aria-label="{esc(label)}">'
                         f'<title>{esc(label)}</title>{shape}</a>')
        return (f'<figure><svg id="map" viewBox="0 0 {width} {height}" role="img" '
                f'aria-labelledby="map-cap" class="map"><rect class="bg" width="{width}" height="{height}"/>'
                f'{"".join(marks)}</svg><figcaption id="map-cap">{esc(t["points"])} · '
                f'<a href="/hazards.geojson">{esc(t["geojson"])}</a></figcaption></figure>')

    def map_page(self, heat_html: str, svg: str) -> str:
        t = self.t
        body = (f'<section aria-labelledby="heat-h"><h2 id="heat-h">{esc(t["heat"])}</h2>'
                f'{heat_html}</section><section aria-labelledby="map-h">'
                f'<h2 id="map-h">{esc(t["map"])}</h2>{svg}</section>')
        return self.frame(t["map"], body, kind="map")

    # --- details -----------------------------------------------------------------------------

    def _record(self, item: Mapping[str, Any]) -> str:
        """The page of the record the view gives (the board asks for the latest RECORD_ROWS steps:
        a record a field app filled with thousands of steps would make a page no browser shows),
        saying how many earlier ones are left out. On the Chinese board each step in Chinese where
        the view gives it (`what_zh`)."""
        t = self.t
        shown = (item.get("record") or [])[-RECORD_ROWS:]
        rows = "".join(f'<tr><td>{esc(r["time"])}</td><td><code>{esc(r["event_id"])}</code></td>'
                       f'<td>{esc(self._step(r))}</td></tr>' for r in shown)
        earlier = item.get("record_first") or 0
        note = f'<p class="help">{esc(t["earlier"].format(n=earlier))}</p>' if earlier else ""
        return (f'{note}<table id="record"><thead><tr><th scope="col">{esc(t["time"])}</th>'
                f'<th scope="col">{esc(t["event"])}</th><th scope="col">{esc(t["what"])}</th></tr></thead>'
                f'<tbody>{rows or self._none(3)}</tbody></table>')

    def _step(self, step: Mapping[str, Any]) -> str:
        """A step's sentence: the view's Chinese on the Chinese board, read here where it has none."""
        if not self.w.zh:
            return step["what"]
        return step.get("what_zh") or self.w.record(step["what"])

    def _outputs(self, outputs: list[Mapping[str, Any]] | None) -> str:
        t = self.t
        if outputs is None:
            return f'<p class="error" role="status">{esc(t["outputs_unavailable"])}</p>'
        rows = "".join(
            f'<tr><td>{esc(o.get("time"))}</td><td>{esc(self.w.output_type(o.get("type")))}</td>'
            f'<td>{esc(self.action(o))}</td>'
            f'<td>{self._badge(o)}</td>'
            f'<td>{self._rule(o.get("rule_id"))}</td><td>{self._reason(o)}</td></tr>'
            for o in outputs)
        return (f'<table id="outputs"><thead><tr><th scope="col">{esc(t["time"])}</th>'
                f'<th scope="col">{esc(t["event"])}</th><th scope="col">{esc(t["action"])}</th>'
                f'<th scope="col">{esc(t["colour"])}</th><th scope="col">{esc(t["rule"])}</th>'
                f'<th scope="col">{esc(t["reason"])}</th></tr></thead>'
                f'<tbody>{rows or self._none(6)}</tbody></table>')

    def _badge(self, o: Mapping[str, Any]) -> str:
        """An output's colour; a withdrawal's word, without the colour of the step it takes back."""
        if str(o.get("action") or "").endswith("_withdrawn"):
            return f'<span class="badge tier-none">{esc(WITHDRAWN[self.lang])}</span>'
        return self.colour(o.get("tier")) if o.get("tier") else esc(None)

    def _rule(self, rule_id: str | None) -> str:
        named = self.w.rule(rule_id)
        code = f'<code>{esc(rule_id)}</code>'
        return code if named == rule_id else f'{esc(named)}<br>{code}'

    def _reason(self, o: Mapping[str, Any]) -> str:
        """The engine's reason. On the English board it stands under the time the output names; on
        the Chinese board under the rule, time and recipients in Chinese and the reason in Chinese
        where the output gives it (`reason_zh`), the reason itself (the engine's English sentence)
        marked as English."""
        said = self.w.summary(o.get("rule_id"), o.get("due_at"), list(o.get("to") or ()),
                              o.get("due_at_latest"))
        if said is None:
            return esc(o.get("reason"))
        if not self.w.zh:  # the time, then the reason where the output has one
            return esc(said) + (f'<br>{esc(o["reason"])}' if o.get("reason") else "")
        grounds = f'<br>{esc(o["reason_zh"])}' if o.get("reason_zh") else ""
        return f'{esc(said)}{grounds}<br><span lang="en" class="en">{esc(o.get("reason"))}</span>'

    def hazard(self, h: Mapping[str, Any], outputs: list[Mapping[str, Any]] | None) -> str:
        t = self.t
        listed = h.get("listed") or {}
        clocks = "".join(f'<li>{esc(self.w.clock(c["name"]))}: {esc(c["due"])}</li>'
                         for c in h.get("clocks") or ())
        facts = [("state", self.state(h.get("status"))), ("tier", self.tier(h.get("tier"))),
                 ("grade", self.grade(h)), ("town", self.town(h.get("town"))),
                 ("sector", esc(self.w.sector(h.get("sector")))),
                 ("lead", self.department(h.get("lead_department"))),
                 ("reported_at", esc(h.get("reported_at"))),
                 ("deadline", self.deadline(h)),
                 ("notice", esc(listed.get("notice_no")))]
        firm = h.get("enterprise")
        if firm:  # its file (一企一档); a public place has none
            facts.insert(3, ("enterprise_of", self.link("enterprises", firm["uscc"], firm.get("name"))))
        # Its referrals, each under where it went (discipline inspection, the public security bureau,
        # a power-stop proposal): sent, held for a record that may come late, withdrawn.
        for to in picture.REFERRED_TO:
            if grounds := [g for g in h.get("referrals") or () if picture.referred_to(g, h) == to]:
                facts.append((REFERRAL_WORDS[to], esc("; ".join(map(self.w.ground, grounds)))))
        if grounds := h.get("referrals_withdrawn"):
            facts.append(("referrals_withdrawn", esc("; ".join(map(self.w.ground, grounds)))))
        if h.get("referrals_held"):
            facts.append(("held_referrals", self._held(h["referrals_held"])))
        dl = "".join(f'<dt>{esc(t[k])}</dt><dd>{v}</dd>' for k, v in facts)
        body = (f'<p><a href="/board">← {esc(t["back"])}</a></p>'
                f'<h2 id="subject">{esc(h["id"])} · {esc(h.get("title"))}</h2><dl class="facts">{dl}</dl>'
                f'<h3>{esc(t["deadlines"])}</h3><ul>{clocks or "<li>" + esc(t["none"]) + "</li>"}</ul>'
                f'{self._proposals(h.get("proposals") or [])}'
                f'<h3>{esc(t["record"])}</h3>{self._record(h)}'
                f'<h3>{esc(t["outputs"])}</h3>{self._outputs(outputs)}')
        return self.frame(h["id"], body, kind="detail")

    def _proposals(self, proposals: list[Mapping[str, Any]]) -> str:
        """The hazard's enforcement proposals and whether each one's review or decision is on record."""
        if not proposals:
            return ""
        t, lang = self.t, self.lang
        rows = "".join(
            f'<tr><td>{esc(self.w.measure(p["measure"]))}</td><td>{esc(p["proposed_at"])}</td>'
            f'<td>{esc(p["due"])}</td><td>{esc(PROPOSAL_STATES[lang].get(p["status"], p["status"]))}</td>'
            f'<td>{esc(self._answer(p.get("answered_by")))}</td>'
            f'<td>{esc(self._decision(p.get("decision")))}</td></tr>' for p in proposals)
        return (f'<h3>{esc(t["proposals"])}</h3><table id="proposals"><thead><tr>'
                f'<th>{esc(t["measure"])}</th><th>{esc(t["proposed_at"])}</th><th>{esc(t["due"])}</th>'
                f'<th>{esc(t["state"])}</th><th>{esc(t["answered_by"])}</th><th>{esc(t["decision"])}</th>'
                f'</tr></thead><tbody>{rows}</tbody></table>')

    def _answer(self, answer: Mapping[str, Any] | None) -> str | None:
        """The record that answered a proposal, a review's outcome with it."""
        if not answer:
            return None
        outcome = f' {self.w.outcome(answer["outcome"])}' if answer.get("outcome") else ""
        return f'{self.w.answer(answer["record"])}{outcome} {answer["time"]}'

    def _decision(self, decision: Mapping[str, Any] | None) -> str | None:
        """The decision due after an approving review: when, where it stands, and the decision on file."""
        if not decision:
            return None
        state = DECISION_STATES[self.lang].get(decision["status"], decision["status"])
        by = self._answer(decision.get("decided_by"))
        return f'{decision["due"]} · {state}' + (f' · {by}' if by else "")

    def alert(self, a: Mapping[str, Any], outputs: list[Mapping[str, Any]] | None) -> str:
        t = self.t
        reports = "".join(
            f'<tr><td>{esc(self.w.level(r["level"]))}</td><td>{esc(r["demanded"])}</td><td>{esc(r["reported"])}</td>'
            f'<td>{esc(t["missed"]) if r["level"] in (a.get("missed_reports") or ()) else ""}</td></tr>'
            for r in a.get("reports") or ())
        caps = "".join(f'<li>#{esc(c["sequence"])} {esc(c["msg_type"])} <code>{esc(c["identifier"])}</code> '
                       f'{esc(c["sent"])}</li>' for c in a.get("caps") or ())
        facts = [("state", self.alert_state(a)), ("level", self.level(a.get("response_level"))),
                 ("grade", esc(self.w.grade(a.get("grade")))), ("town", self.town(a.get("town"))),
                 ("opened", esc(a.get("opened_at"))), ("post", esc(a.get("post"))),
                 ("held_by", self.holder(a)),
                 ("handover", esc(t["handovers"].format(n=a["handover_step"]) if a.get("handover_step")
                                  else None))]
        firm = a.get("enterprise")
        if firm:  # where it happened (v2): its file
            facts.insert(4, ("enterprise_of", self.link("enterprises", firm["uscc"], firm.get("name"))))
        dl = "".join(f'<dt>{esc(t[k])}</dt><dd>{v}</dd>' for k, v in facts)
        body = (f'<p><a href="/board">← {esc(t["back"])}</a></p>'
                f'<h2 id="subject">{esc(a["id"])} · {esc(self.w.alert_kind(a.get("alert_kind")))}</h2>'
                f'<dl class="facts">{dl}</dl>'
                f'<h3>{esc(t["reports"])}</h3><table><thead><tr><th scope="col">{esc(t["report_level"])}</th>'
                f'<th scope="col">{esc(t["demanded"])}</th><th scope="col">{esc(t["reported"])}</th>'
                f'<th scope="col">{esc(t["missed"])}</th></tr></thead>'
                f'<tbody>{reports or self._none(4)}</tbody>'
                f'</table><h3>{esc(t["caps"])}</h3>'
                f'<ul id="caps">{caps or "<li>" + esc(t["none"]) + "</li>"}</ul>'
                f'<h3>{esc(t["record"])}</h3>{self._record(a)}'
                f'<h3>{esc(t["outputs"])}</h3>{self._outputs(outputs)}')
        return self.frame(a["id"], body, kind="detail")

    def enterprise(self, f: Mapping[str, Any], outputs: list[Mapping[str, Any]] | None) -> str:
        """An enterprise's file (一企一档): who it is, its class and cycle, its open hazards (each a
        link to its page), orders in force, inspections, enforcement and credit proposals, the steps
        its file keeps, and the outputs about it since the earliest of them."""
        t, lang, w = self.t, self.lang, self.w
        cls = f.get("classified") or {}
        step = f.get("coverage_due")
        last = f.get("last_inspection")
        counts = f.get("hazards") or {}
        facts = [("uscc", f'<code>{esc(f["uscc"])}</code>'),
                 ("registration", esc(REGISTRATION.get(lang, {}).get(f.get("status"), f.get("status")))),
                 ("town", self.town(f.get("town"))), ("sector", esc(w.sector(f.get("sector")))),
                 ("address", esc(f.get("address"))), ("legal_rep", esc(f.get("legal_representative"))),
                 ("risk_class", esc(w.named("risk", f.get("risk_class")))
                  + (f' · {esc(cls.get("decision_no"))}' if cls.get("decision_no") else "")),
                 ("key", esc(t["yes"] if f.get("key_enterprise") else t["no"])),
                 ("coverage_due", esc(None) if not step else
                  f'{esc(step["at"])} · {esc(COVERAGE_STEPS[lang].get(step["step"], step["step"]))}'),
                 ("registered_at", esc(f.get("registered_at"))), ("closed_at", esc(f.get("closed_at"))),
                 ("hazards", esc(f'{counts.get("open", 0)} {t["open_count"]} · {counts.get("overdue", 0)} '
                                 f'{t["overdue_count"]} · {counts.get("closed", 0)} {t["closed_count"]}')),
                 ("inspection_count", esc(f.get("inspections"))),
                 ("last_inspection", esc(None) if not last else
                  f'{esc(last["time"])} · {esc(w.named("inspection", last["kind"]))} <code>'
                  f'{esc(last["inspection_id"])}</code> · {esc(t["findings"])} {esc(last["findings"])}'),
                 ("refused", esc(", ".join(f'{r["inspection_id"]} {r["time"]}'
                                           for r in f.get("refused_inspections") or ()) or None)),
                 ("credit_listed", esc(t["yes"] if (f.get("credit") or {}).get("listed") else t["no"]))]
        dl = "".join(f'<dt>{esc(t[k])}</dt><dd>{v}</dd>' for k, v in facts)

        table = self._table
        hazards = table("hazards", ("id", "town", "state", "grade", "tier", "deadline", "lead"),
                        f.get("open_hazards") or (), lambda h: (
                            self.link("hazards", h["id"]), self.town(h.get("town")),
                            self.state(h.get("status")),
                            self.grade(h), self.tier(h.get("tier")), self.deadline(h),
                            self.department(h.get("lead_department"))))
        orders = table("orders", ("order_no", "order", "hazard", "since"), f.get("orders_in_force") or (),
                       lambda o: (f'<code>{esc(o["order_no"])}</code>', esc(w.measure(o["order"])),
                                  self.link("hazards", o["hazard_id"]), esc(o["since"])))
        proposals = table("proposals", ("proposed_at", "measure", "hazard", "state"),
                          f.get("proposals") or (), lambda p: (esc(p["time"]), esc(w.measure(p["measure"])),
                                     self.link("hazards", p["hazard_id"]),
                                     esc(PROPOSAL_STATES[lang].get(p.get("status") or "", p.get("status")))))
        credit = table("credit", ("id", "criterion", "proposed_at", "credit_decision"),
                       (f.get("credit") or {}).get("proposals") or (),
                       lambda c: (f'<code>{esc(c["proposal_id"])}</code>',
                                  esc(w.named("criterion", c["criterion"])), esc(c["proposed_at"]),
                                  esc(w.named("credit", c["decision"]))))
        missed = table("missed", ("cycle_from", "missed_at", "risk_class", "department", "referral"),
                       f.get("missed_cycles") or (),
                       lambda m: (esc(m["cycle_from"]), esc(m["missed_at"]),
                                  esc(w.named("risk", m.get("risk_class"))), self.department(m["department"]),
                                  esc(REFERRALS[lang].get(m.get("referral"), m.get("referral")))))
        notices = table("notices", ("cycle_from", "told_at", "risk_class", "id"),
                        f.get("coverage_notices") or (),
                        lambda n: (esc(n["cycle_from"]), esc(n["told_at"]),
                                   esc(w.named("risk", n.get("risk_class"))),
                                   f'<code>{esc(n["escalation_id"])}</code>'))
        body = (f'<p><a href="/board">← {esc(t["back"])}</a></p>'
                f'<h2 id="subject">{esc(f.get("name") or f["uscc"])} · {esc(t["enterprise"])}</h2>'
                f'{self._seen_as(f)}<dl class="facts">{dl}</dl>'
                + (f'<h3>{esc(t["missed_cycles"])}</h3>{missed}' if f.get("missed_cycles") else "")
                + (f'<h3>{esc(t["coverage_notices"])}</h3>{notices}' if f.get("coverage_notices") else "")
                + f'<h3>{esc(t["open_hazards"])}</h3>{hazards}<h3>{esc(t["orders"])}</h3>{orders}'
                f'<h3>{esc(t["proposals"])}</h3>{proposals}<h3>{esc(t["credit"])}</h3>{credit}'
                f'<h3>{esc(t["record"])}</h3>{self._record(f)}'
                f'<h3>{esc(t["enterprise_outputs"])}</h3>{self._outputs(outputs)}')
        return self.frame(f.get("name") or f["uscc"], body, kind="detail")

    def _seen_as(self, f: Mapping[str, Any]) -> str:
        """A line saying that the file is shown as it concerns the viewer's towns, and what is left
        out (engine/enterprise/view.py `seen_as`); nothing for a file seen whole."""
        part = f.get("seen_as")
        if part not in ("enterprise_town", "hazard_town"):
            return ""
        said = esc(self.t[f"seen_{part}"]).replace("{town}", self.town(f.get("town")))
        return f'<p class="note" id="seen-as">{said}</p>'

    def _table(self, id_: str, heads: tuple[str, ...], items: Any, cells: Any) -> str:
        """A table of `items`, one row each, its cells (HTML) as `cells` gives them, under the words
        of `heads`."""
        head = "".join(f'<th scope="col">{esc(self.t[h])}</th>' for h in heads)
        rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in cells(item)) + "</tr>" for item in items)
        return (f'<table id="{id_}"><thead><tr>{head}</tr></thead>'
                f'<tbody>{rows or self._none(len(heads))}</tbody></table>')

    def enterprises(self, items: list[Mapping[str, Any]], next_cursor: str | None,
                    overdue: bool | None) -> str:
        """A page of the enterprises' files in the scope, by USCC, each a link to its file: who, where,
        its class, and its open and overdue hazards; `overdue`: only those with an overdue one."""
        t, w = self.t, self.w

        def cells(f: Mapping[str, Any]) -> tuple[Any, ...]:
            counts = f.get("hazards") or {}
            return (self.link("enterprises", f["uscc"], f.get("name") or f["uscc"]),
                    f'<code>{esc(f["uscc"])}</code>', self.town(f.get("town")),
                    esc(w.sector(f.get("sector"))), esc(w.named("risk", f.get("risk_class"))),
                    esc(t["yes"] if f.get("key_enterprise") else t["no"]), counts.get("open", 0),
                    f'{counts.get("overdue", 0)}{" ⚠" if f.get("overdue") else ""}')

        listed = self._table("enterprises", ("name", "uscc", "town", "sector", "risk_class", "key",
                                             "open_hazards", "overdue_count"), items, cells)
        only = "&amp;overdue=true" if overdue else ""
        more = (f'<p><a id="next" href="/board/enterprises?cursor={quote(next_cursor, safe="")}{only}">'
                f'{esc(t["next_page"])} →</a></p>' if next_cursor else "")
        body = (f'<p><a href="/board">← {esc(t["back"])}</a></p>'
                f'<h2 id="subject">{esc(t["enterprises"])}</h2>'
                f'<p><a href="/board/enterprises">{esc(t["all_enterprises"])}</a> · '
                f'<a href="/board/enterprises?overdue=true">{esc(t["only_overdue"])}</a></p>'
                f'{listed}{more}')
        return self.frame(t["enterprises"], body, kind="detail")

    def not_found(self, what: str) -> str:
        t = self.t
        return self.frame(t["not_found"], f'<h2>{esc(t["not_found"])}</h2><p>{esc(what)}</p>'
                          f'<p><a href="/board">{esc(t["back"])}</a></p>')
