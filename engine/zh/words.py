"""Chinese words for the identifiers the engine's outputs and views carry.

Outputs name what happened with identifiers (`supervision_letter`,
`referral.duty_failures:fire_rescue`, `safety.supervision.listed`), which is
right for subscribers and wrong for a district supervisor reading the Chinese
board, or a discipline inspector reading a referral's timeline. This module
gives each one's name in Chinese; the English board shows the identifiers
themselves, which are English. Names of places, departments and sectors come
from the reference (rules/reference/), kinds of alert from the CAP mapping;
what is here is the vocabulary of the rules and the contract. An identifier
with no word here is shown as it is.
"""

from __future__ import annotations

import functools
from typing import Any

from engine.cap.mapping import EVENTS
from engine.kernel.time import iso
from engine.reference.compiled import Reference
from engine.zh.reason import part_in_chinese, raising, reason_in_chinese
from engine.zh.record import in_chinese

# `action` of safety.escalation.raised: the ladder's and the rules' actions, and the engine's own.
ACTIONS = {
    "remind": "提醒", "notify": "通报", "supervision_letter": "督办函", "summon": "约谈",
    "discipline_referral": "移送纪委监委", "referral_withdrawn": "撤回移送",
    "failure_withdrawn": "撤回失职认定", "response_activation": "启动应急响应",
    "handover": "逐级转交（应急值守）", "report_overdue": "事故报告超时",
    "coverage_missed": "重点企业检查逾期", "duty_failure": "不履行安全监管职责",
    "plan_behind": "检查计划滞后", "notice_withdrawn": "撤回逾期通报",
    "plan_behind_withdrawn": "撤回检查计划滞后通报", "proposal_overdue": "执法建议逾期未审核或决定",
    "decision_overdue": "法制审核通过后逾期未作执法决定",
}

# A hazard's grade (and the reporter's claim), and an accident's grade (493号令 art. 3).
GRADES = {
    "general": "一般", "major": "重大", "large": "较大", "especially_major": "特别重大", "unknown": "待核定",
}

# An escalation's tier (双重预防机制's four colours), and a key enterprise's risk class.
TIERS = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
RISKS = {"red": "红色（重大风险）", "orange": "橙色（较大风险）", "yellow": "黄色（一般风险）",
         "blue": "蓝色（低风险）"}

# The running clocks of a hazard or an alert (the views' `clocks`).
CLOCKS = {
    "verify": "核实期限", "ladder": "整改期限提醒", "review": "复查验收期限", "plan": "整改方案期限",
    "supervision": "挂牌督办期限", "extension": "延期审批期限", "refer": "移送（等待补录记录）",
    "handover": "逐级转交", "report_county": "向区（县级）报告", "report_city": "向市级报告",
    "report_province": "向省级报告", "report_state_council": "向国务院应急管理部门报告",
    "proposal": "执法建议审核（决定）期限",
    "disaster_initial": "灾情初报", "disaster_daily": "灾情续报（每日）", "disaster_final": "灾情核报",
}

# The levels an accident is reported through (rules/alerts.yaml `accident_report.levels`).
LEVELS = {"county": "区（县级）", "city": "市级", "province": "省级", "state_council": "国务院"}

# The grounds of a referral to discipline inspection (rules/hazards.yaml `referral`), by rule id.
GROUNDS = {
    "referral.duty_failures": "不履行安全监管职责", "referral.supervision_missed": "挂牌督办逾期未整改",
    "referral.periodic_filing": "监督检查结果定期抄报",
}

# The rules an output names (`rule_id`), as rules/hazards.yaml, alerts.yaml and plan.yaml and the
# cores ship them; a rule id of a family below that is not here is named by its family.
RULES = {
    "duty.verify": "隐患核实期限", "duty.review": "整改复查验收期限",
    "ladder.blue": "整改到期前提醒（蓝色）", "ladder.yellow": "整改到期（黄色）",
    "ladder.orange": "整改逾期督办（橙色）", "ladder.red": "整改逾期约谈（红色）",
    "ladder.overhaul": "拒不整改，建议停产停业整顿", "supervision.listed": "重大事故隐患挂牌督办",
    "supervision.listed.plan": "挂牌督办整改方案期限", "supervision.listed.extension": "挂牌督办延期审批",
    "judicial.134-1": "行刑衔接（刑法第一百三十四条之一）",
    "enforcement.utility_stop_notice": "停止供电措施建议（安全生产法第七十条）",
    "enforcement.proposal_due": "执法建议法制审核（决定）期限",
    "alert.response": "分级应急响应", "alert.non_production": "非生产安全事件通报",
    "alert.cap": "预警信息发布",
    "accident.notify": "事故法定通知（493号令第十条）",
    "handover.duty_officer": "逐级转交：值班员", "handover.grid_chief": "逐级转交：网格长",
    "handover.town": "逐级转交：镇（街道）", "handover.district": "逐级转交：区",
    "disaster.post_b": "灾情初报：B岗", "disaster.town": "灾情初报：镇（街道）",
    "disaster.duty_office": "灾情初报：区值班室", "disaster.daily": "灾情续报（每日）",
    "disaster.final": "灾情核报", "annual.behind": "年度执法检查计划进度",
    **GROUNDS,
    **{f"report.{level}": f"事故报告时限（{name}）" for level, name in LEVELS.items()},
}

# A rule id's family (its first part), for the rule ids a district adds to its own rules.
UTILITY_STOP = "utility_stop_notice"  # how a hazard keeps its art. 70 proposal (engine/decide/lifecycle.py)

FAMILIES = {
    "duty": "履职期限", "ladder": "整改逾期升级", "supervision": "挂牌督办", "judicial": "行刑衔接",
    "enforcement": "执法建议", "referral": "移送纪委监委", "alert": "应急响应", "accident": "事故法定通知",
    "handover": "逐级转交（应急值守）", "report": "事故报告时限", "disaster": "灾情报告",
    "coverage": "重点企业检查频次", "annual": "年度执法检查计划",
}

# The output event types a subject's detail page lists.
TYPES = {
    "safety.escalation.raised": "升级", "safety.supervision.listed": "挂牌督办",
    "safety.supervision.lifted": "解除挂牌督办", "safety.referral.discipline": "移送纪委监委",
    "safety.referral.withdrawn": "撤回移送", "safety.enforcement.proposed": "执法建议",
    "safety.enforcement.withdrawn": "撤回执法建议",
    "safety.referral.judicial": "移送公安机关（行刑衔接）",
    "safety.referral.judicial_withdrawn": "撤回移送公安机关", "safety.notification.due": "法定通知",
    "safety.intake.rejected": "拒收", "safety.credit.proposed": "信用惩戒建议",
    "safety.credit.withdrawn": "撤回信用惩戒建议",
    "safety.inspection.published": "检查结果公示",
}

# The values record lines carry that the outputs do not (engine/zh/record.py).
FOUND_VIA = {
    "enforcement": "执法检查", "expert_check": "专家检查", "unannounced": "暗查暗访",
    "random_check": "双随机抽查", "self_inspection": "企业自查", "grid_patrol": "网格巡查",
    "public_report": "群众举报", "sensor": "监测预警",
}
INSPECTIONS = {
    "routine": "日常检查", "random_check": "双随机抽查", "unannounced": "暗查暗访",
    "special_campaign": "专项检查", "expert_check": "专家检查", "follow_up": "复查",
}
VERDICTS = {"confirmed": "属实", "unfounded": "不属实", "duplicate": "重复上报"}
MEASURES = {
    "fine": "罚款", "suspend": "责令停产停业", "suspend_for_overhaul": "责令停产停业整顿",
    "utility_stop_notice": "通知停止供电", "rectify_within": "责令限期整改",
}
CLASSES = {
    "production_accident": "生产安全事故", "non_production": "非生产安全事件", "natural_disaster": "自然灾害",
}
REPORTS = {"initial": "初报", "update": "续报", "final": "核报", "zero": "零报告"}
OUTCOMES = {"approved": "通过", "returned": "退回"}
# A credit (失信) proposal's criterion (engine/enterprise/credit.py), and a person's decision on it.
CRITERIA = {"violated_suspension": "违反停产停业等决定",
            "repeated_overdue_major": "重大事故隐患多次逾期未整改",
            "refused_inspection": "多次拒绝、阻碍检查"}
CREDIT_OUTCOMES = {"listed": "列入失信名单", "rejected": "不予列入",
                   "awaiting a person's decision": "待人工决定"}
# How a hazard left an enterprise's file (engine/enterprise/core.py `_hazard`).
LEFT = {"closed": "已销号", "unfounded": "核实不属实", "duplicate": "重复上报"}
# How a hazard was settled by its deadline, for a credit proposal it no longer counts toward.
SETTLED = {"claim": "申报整改完成", "passed": "复查验收通过", "immediate": "当场整改",
           "unfounded": "核实不属实", "duplicate": "重复上报"}

# The words of a record line's values by their kind (engine/zh/record.py), where a table names them.
# How an enterprise ceased to owe its inspection cycle (engine/enterprise/coverage.py `released_from`).
CEASED = {"no longer a key enterprise": "不再列为重点企业", "closed": "已关闭"}
# What an enforcement proposal awaits, and the record that answers it (engine/decide/proposals.py):
# each record's type as the reasons name it, and those names in Chinese.
OWED = {"legal review (法制审核)": "法制审核", "decision": "执法决定"}
ANSWER_RECORDS = {"legal_reviewed": "legal review", "penalized": "penalty decision", "ordered": "order"}
ANSWERS = {"legal review": "法制审核", "penalty decision": "行政处罚决定", "order": "责令决定"}
# What already stands for a measure the ladder therefore proposes no further (proposals.py `on_file`).
STANDING = {**ANSWERS, "proposal": "执法建议"}
# What a verdict or a lifting recorded late withdrew of a violated order's consequences
# (engine/decide/lifecycle.py `_taken_back`).
TAKEN = {"the transfer to the public security bureau": "移送公安机关",
         "the utility_stop_notice proposal": "停止供电建议",
         "the transfer to the public security bureau and the utility_stop_notice proposal":
         "移送公安机关及停止供电建议"}
# Which of a proposal's watches an escalation taken back was about: its review (or decision), or the
# decision due once its review approved it.
WATCHES = {"it": "逾期督办", "its decision": "执法决定逾期督办"}
ROLES = {"inspector": "执法人员", "expert": "专家", "enterprise": "企业", "grid_worker": "网格员",
         "info_officer": "灾害信息员", "public": "群众", "sensor": "监测设备", "supervisor": "监管人员"}
_BY_KIND = {"grade": GRADES, "via": FOUND_VIA, "inspection": INSPECTIONS, "verdict": VERDICTS,
            "measure": MEASURES, "outcome": OUTCOMES, "class": CLASSES, "level": LEVELS,
            "report": REPORTS, "clock": CLOCKS, "tier": TIERS, "risk": RISKS, "ceased": CEASED,
            "owed": OWED, "answer": ANSWERS, "standing": STANDING, "watch": WATCHES, "criterion": CRITERIA,
            "credit": CREDIT_OUTCOMES, "left": LEFT, "settled": SETTLED, "taken": TAKEN,
            "role": ROLES}


class Words:
    """Names for one language: the Chinese words (the board, a referral's `what_zh`), or the
    identifiers as they are (the English board)."""

    def __init__(self, lang: str, reference: Reference) -> None:
        self.zh, self.ref = lang == "zh", reference

    def _say(self, table: dict[str, str], value: str | None) -> str | None:
        return table.get(value, value) if self.zh and value else value

    def action(self, value: str | None) -> str | None:
        return self._say(ACTIONS, value)

    def grade(self, value: str | None) -> str | None:
        return self._say(GRADES, value)

    def measure(self, value: str | None) -> str | None:
        return self._say(MEASURES, value)

    def answer(self, record_type: str) -> str:
        """The record that answered an enforcement proposal (`legal_reviewed`, `penalized`, `ordered`)."""
        said = ANSWER_RECORDS.get(record_type, record_type)
        return self._say(ANSWERS, said) or said

    def outcome(self, value: str | None) -> str | None:
        """A legal review's outcome (`approved`, `returned`)."""
        return self._say(OUTCOMES, value)

    def clock(self, value: str | None) -> str | None:
        return self._say(CLOCKS, value)

    def named(self, kind: str, value: str | None) -> str | None:
        """A value named by its kind, as a record line's are (`_value`: `risk`, `inspection`,
        `criterion`, `credit`...): in Chinese on the Chinese board, as it is on the English one."""
        return self._value(kind, value) if self.zh and value else value

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
        """A referral's ground as hazards keep it: a rule id, and for a duty failure the department;
        for a transfer to the public security bureau (`judicial.…`) or a proposal to stop the power
        supply (`utility_stop_notice`), the rule and the order violated."""
        if not self.zh:
            return tag
        rule_id, _, rest = tag.partition(":")
        if rule_id == UTILITY_STOP:  # kept under the measure's name, sent under its rule's
            rule_id = f"enforcement.{UTILITY_STOP}"
        if rule_id.startswith(("judicial.", "enforcement.")):
            words = self.rule(rule_id) or rule_id
            return f"{words}（违反决定 {rest}）" if rest else words
        words = GROUNDS.get(rule_id, rule_id)
        dept = self.ref.department(rest) if rest else None
        return f"{words}（{dept.name if dept else rest}）" if rest else words

    def rule(self, rule_id: str | None) -> str | None:
        """A rule's name; a rule the district added, by its family and the rest of its id."""
        if not self.zh or not rule_id or rule_id in RULES:
            return self._say(RULES, rule_id)
        family, _, rest = rule_id.partition(".")
        return f"{FAMILIES[family]}（{rest}）" if family in FAMILIES and rest else rule_id

    def summary(self, rule_id: str | None, due_at: str | None, targets: list[str],
                latest: str | None = None) -> str | None:
        """What an output is about in the board's words: its rule, the time it names (and the latest
        it may truly be, when it is approximate), to whom. In English only the time (None when the
        output names none): the rule has a column of its own, and the recipients' names are Chinese."""
        if not self.zh:
            return (f"Due about {due_at}, possibly as late as {latest}" if due_at and latest
                    else f"Due {due_at}" if due_at else None)
        due = (f"期限 约 {due_at}，最迟可能为 {latest}" if due_at and latest
               else f"期限 {due_at}" if due_at else "")
        parts = [self.rule(rule_id) or "", due,
                 f"送 {'、'.join(targets)}" if targets else ""]
        return "；".join(p for p in parts if p) or None

    def all_rules(self) -> dict[str, dict[str, str]]:
        """Every rule's and family's name, for the live list's script."""
        if not self.zh:
            return {"rules": {}, "families": {}}
        return {"rules": dict(RULES), "families": dict(FAMILIES)}

    def record(self, line: str) -> str:
        """A line of a subject's record: in Chinese on the Chinese board where its shape is known."""
        return (self._line(line) or line) if self.zh else line

    def _line(self, line: str) -> str | None:
        """A record line in Chinese: by its shape (engine/zh/record.py), or, for a line that is an
        output's reason (an enterprise's file notes a withdrawal by its reason), as the reason."""
        return _record_line(self.ref, self.zh, line)

    def reason(self, text: str) -> str | None:
        """An output's reason in Chinese (`reason_zh`, engine/zh/reason.py); None in English, or
        where any part of its shape is not known."""
        return _reason(self.ref, text) if self.zh else None

    def _part(self, kind: str, text: str) -> str:
        """A nested part of a reason in these words (engine/zh/reason.py `part_in_chinese`), read once
        per reference, language and text (`_reason_part`)."""
        return _reason_part(self.ref, self.zh, kind, text)

    def said(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data`, an output's data with a `reason`, given that reason in Chinese (`reason_zh`) in
        place of any it had; none where the reason's shape is not known. Returns `data`."""
        data.pop("reason_zh", None)
        said = self.reason(data["reason"])
        if said is not None:
            data["reason_zh"] = said
        return data

    def timeline_item(self, at: int, event_id: str, what: str) -> dict[str, Any]:
        """One step of a record as a referral carries it: the engine's sentence, and where its
        shape is known, the same in Chinese (`what_zh`), for the people a referral goes to."""
        item = {"time": iso(at), "event_id": event_id, "what": what}
        said = self._line(what)
        if said is not None:
            item["what_zh"] = said
        return item

    def _value(self, kind: str, value: str) -> str:
        """A value of a record line, named by its kind (engine/zh/record.py)."""
        table = _BY_KIND.get(kind)  # the commonest (a ladder's tier), and none of the kinds below
        if table is not None:
            return table.get(value, value)
        if kind == "rule":
            return self.rule(value) or value
        if kind == "rules":
            return "、".join(self.rule(r) or r for r in value.split(", "))
        if kind == "actions":
            return "、".join(self._action(a) for a in value.split(", "))
        if kind == "unit":
            dept = self.ref.department(value)
            return dept.name if dept is not None else value
        if kind == "town":
            town = self.ref.towns.get(value)
            return town.name if town is not None else value
        if kind == "kind":
            return self.alert_kind(value) or value
        if kind == "sector":
            return self.sector(value) or value
        if kind == "raising":
            return raising(value)
        return value

    def _action(self, action: str) -> str:
        measure = action.removeprefix("propose:")
        return f"建议{MEASURES.get(measure, measure)}" if measure != action else ACTIONS.get(action, action)

    def all_actions(self) -> dict[str, str]:
        """Every action's word, for the live list's script."""
        return dict(ACTIONS) if self.zh else {}


@functools.lru_cache(maxsize=256)
def _reason(reference: Reference, text: str) -> str | None:
    """`Words.reason` in Chinese, once per reference and text: a ladder step of several actions sends
    one escalation for each, all with the same reason (365 of the 2,664 reasons of 10,000 workload
    events came again so). A reason names its subject, so it comes again soon or never: a few
    hundred kept are plenty."""
    words = Words("zh", reference)
    return reason_in_chinese(text, words._value, words._part)


@functools.lru_cache(maxsize=4096)
def _reason_part(reference: Reference, zh: bool, kind: str, text: str) -> str:
    """A nested part of a reason in Chinese, once per reference, language and text: the same parts
    come back in reason after reason (an alert's response band and its figures, a duty failure
    inside its referral and the referral's escalation), and reading one is most of a reason's cost.
    What a part says depends on those alone (`Words._value`); a reference is compared by identity."""
    words = Words("zh" if zh else "en", reference)
    return part_in_chinese(kind, text, words._value, words._part)


@functools.lru_cache(maxsize=4096)
def _record_line(reference: Reference, zh: bool, line: str) -> str | None:
    """`Words._line`, once per reference, language and line: a referral carries its hazard's whole
    record, whose lines are of a few texts (722 lines of 29 over 10,000 workload events), each
    tried against the record's shapes one by one."""
    words = Words("zh" if zh else "en", reference)
    return in_chinese(line, words._value) or reason_in_chinese(line, words._value, words._part)
