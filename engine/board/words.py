"""The board's words for the identifiers the engine's outputs and views carry.

Outputs name what happened with identifiers (`supervision_letter`,
`referral.duty_failures:fire_rescue`, `safety.supervision.listed`), which is
right for subscribers and wrong for a district supervisor reading the Chinese
board. This module gives the Chinese board each one's name; the English board
shows the identifiers themselves, which are English. Names of places,
departments and sectors come from the reference (rules/reference/), kinds of
alert from the CAP mapping; what is here is the vocabulary of the rules and
the contract. An identifier with no word here is shown as it is.
"""

from __future__ import annotations

from engine.cap.mapping import EVENTS
from engine.reference.compiled import Reference

# `action` of safety.escalation.raised: the ladder's and the rules' actions, and the engine's own.
ACTIONS = {
    "remind": "提醒", "notify": "通报", "supervision_letter": "督办函", "summon": "约谈",
    "discipline_referral": "移送纪委监委", "referral_withdrawn": "撤回移送",
    "failure_withdrawn": "撤回失职认定", "response_activation": "启动应急响应",
    "handover": "逐级转交（应急值守）", "report_overdue": "事故报告超时",
    "coverage_missed": "重点企业检查逾期", "duty_failure": "不履行安全监管职责",
    "plan_behind": "检查计划滞后",
}

# A hazard's grade (and the reporter's claim), and an accident's grade (493号令 art. 3).
GRADES = {
    "general": "一般", "major": "重大", "large": "较大", "especially_major": "特别重大", "unknown": "待核定",
}

# The running clocks of a hazard or an alert (the views' `clocks`).
CLOCKS = {
    "verify": "核实期限", "ladder": "整改期限提醒", "review": "复查验收期限", "plan": "整改方案期限",
    "supervision": "挂牌督办期限", "extension": "延期审批期限", "refer": "移送（等待补录记录）",
    "handover": "逐级转交", "report_county": "向区（县级）报告", "report_city": "向市级报告",
    "report_province": "向省级报告", "report_state_council": "向国务院应急管理部门报告",
    "disaster_initial": "灾情初报", "disaster_daily": "灾情续报（每日）", "disaster_final": "灾情核报",
}

# The levels an accident is reported through (rules/alerts.yaml `accident_report.levels`).
LEVELS = {"county": "区（县级）", "city": "市级", "province": "省级", "state_council": "国务院"}

# The grounds of a referral to discipline inspection (rules/hazards.yaml `referral`), by rule id.
GROUNDS = {
    "referral.duty_failures": "不履行安全监管职责", "referral.supervision_missed": "挂牌督办逾期未整改",
    "referral.periodic_filing": "监督检查结果定期抄报",
}

# The output event types a subject's detail page lists.
TYPES = {
    "safety.escalation.raised": "升级", "safety.supervision.listed": "挂牌督办",
    "safety.supervision.lifted": "解除挂牌督办", "safety.referral.discipline": "移送纪委监委",
    "safety.referral.withdrawn": "撤回移送", "safety.enforcement.proposed": "执法建议",
    "safety.enforcement.withdrawn": "撤回执法建议",
    "safety.referral.judicial": "移送公安机关（行刑衔接）", "safety.notification.due": "法定通知",
    "safety.intake.rejected": "拒收", "safety.credit.proposed": "信用惩戒建议",
    "safety.inspection.published": "检查结果公示",
}


class Words:
    """Names for one language: the Chinese board's words, or the identifiers as they are."""

    def __init__(self, lang: str, reference: Reference) -> None:
        self.zh, self.ref = lang == "zh", reference

    def _say(self, table: dict[str, str], value: str | None) -> str | None:
        return table.get(value, value) if self.zh and value else value

    def action(self, value: str | None) -> str | None:
        return self._say(ACTIONS, value)

    def grade(self, value: str | None) -> str | None:
        return self._say(GRADES, value)

    def clock(self, value: str | None) -> str | None:
        return self._say(CLOCKS, value)

    def level(self, value: str | None) -> str | None:
        return self._say(LEVELS, value)

    def output_type(self, value: str | None) -> str | None:
        return self._say(TYPES, value)

    def alert_kind(self, value: str | None) -> str | None:
        if not self.zh or not value or value not in EVENTS:
            return value
        return EVENTS[value].split(" ", 1)[0]  # "火灾 Fire": the Chinese half

    def sector(self, value: str | None) -> str | None:
        found = self.ref.sectors.get(value or "")
        return found.name if self.zh and found is not None and found.name else value

    def ground(self, tag: str) -> str:
        """A referral's ground as hazards keep it: a rule id, and for a duty failure the department."""
        if not self.zh:
            return tag
        rule_id, _, dept_id = tag.partition(":")
        words = GROUNDS.get(rule_id, rule_id)
        dept = self.ref.department(dept_id) if dept_id else None
        return f"{words}（{dept.name if dept else dept_id}）" if dept_id else words

    def all_actions(self) -> dict[str, str]:
        """Every action's word, for the live list's script."""
        return dict(ACTIONS) if self.zh else {}
