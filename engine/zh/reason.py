"""A referral's reason in Chinese (`reason_zh`), for the discipline inspection staff it goes to.

A referral to discipline inspection (抄报移送纪委监委) and its withdrawal give
their grounds as an English sentence (`reason`) of a few fixed shapes, written
by the hazard core (engine/decide/clocks.py), a key enterprise's inspection
cycle (engine/enterprise/coverage.py) and a month's filing
(engine/decide/filing.py). This module reads those shapes back, as
engine/zh/record.py reads a record's lines, and says them in Chinese. A reason
of no known shape gets no Chinese: the English stays the record.

A unit test builds every referral and withdrawal the shipped rule tests and the
unit tests' scenarios send and fails on a reason no shape here reads.
"""

from __future__ import annotations

import re

from engine.zh.record import Say, compiled, read

# What a duty failure was: the last one a hazard's referral names (engine/decide/clocks.py).
_COUNTED = r"(?: of reaching the engine on (?P<t>\S+) \(its own time: (?P<u>\S+)\))?"
_FAILURES = compiled([
    (r"(?P<h>\S+) was not verified within (?P<s>\d+ [a-z ]+?)" + _COUNTED,
     "隐患 {h} 未在{t:arrived}{s:span}内核实{u:own}"),
    (r"the completion claim on (?P<h>\S+) was not reviewed within (?P<s>\d+ [a-z ]+?)" + _COUNTED,
     "隐患 {h} 的整改完成申报未在{t:arrived}{s:span}内复查验收{u:own}"),
    (r"the extension request on (?P<h>\S+) was not decided within (?P<s>\d+ [a-z ]+?)" + _COUNTED,
     "隐患 {h} 的延期申请未在{t:arrived}{s:span}内审批{u:own}"),
])

_REASONS = compiled([
    # a hazard's referrals (engine/decide/clocks.py)
    (r"(?P<d>\w+) failed its duty on this hazard (?P<n>\d+) times \(不履行安全监管职责\), last: (?P<x>.+)",
     "{d:unit} 在本隐患上 {n} 次不履行安全监管职责，最近一次：{x:failure}"),
    (r"the listed-supervision deadline (?P<t>\S+) of notice (?P<n>\S+) was missed",
     "挂牌督办（{n}）期限 {t} 已过，隐患仍未整改完成"),
    (r"the record (?P<e>\S+) shows the duty done in time; it reached the engine after the referral "
     r"was sent", "记录 {e} 表明已按期履职，该记录在移送后才送达引擎"),
    # a key enterprise's inspection cycle (engine/enterprise/coverage.py)
    (r"(?P<d>\w+) failed its duty \(不履行安全监管职责\) on key enterprise (?P<f>.+?) (?P<n>\d+) time\(s\): "
     r"key enterprise (?P<g>.+?) still not inspected (?P<k>\d+) days after its (?P<c>\d+)-day cycle "
     r"from (?P<t>\S+) ran out",
     "{d:unit} 对重点企业 {f} 不履行安全监管职责（第 {n} 次）："
     "自 {t} 起的 {c} 日检查周期届满后 {k} 日仍未检查"),
    (r"inspection (?P<e>\S+) of (?P<t>\S+) shows the duty done in time; it reached the engine after "
     r"the referral was sent", "检查 {e}（{t}）表明已按期履职，该记录在移送后才送达引擎"),
    (r"inspection (?P<e>\S+) withdrew an earlier failure of (?P<d>\w+): this cycle's is its failure "
     r"(?P<n>\d+), under the threshold of (?P<k>\d+)",
     "检查 {e} 撤回了 {d:unit} 此前的一次失职认定：本周期的失职为第 {n} 次，未达移送所需的 {k} 次"),
    # a month's filing (engine/decide/filing.py)
    (r"Supervision results of (?P<d>.+?) for (?P<m>\d{4}-\d{2}) \(监督检查结果抄报备案\): (?P<a>\d+) hazards "
     r"found, (?P<b>\d+) closed, (?P<c>\d+) open at the month's end, (?P<o>\d+) of them past their "
     r"deadline, (?P<l>\d+) under listed supervision",
     "{d:unit} {m} 监督检查结果抄报备案：发现隐患 {a} 项，销号 {b} 项，月末未销号 {c} 项，"
     "其中逾期 {o} 项、挂牌督办 {l} 项"),
])

_UNITS = {"minutes": "分钟", "hours": "小时", "days": "日", "working days": "个工作日"}
_SPAN = re.compile(r"(?P<n>\d+) (?P<u>[a-z ]+)\Z")


def reason_in_chinese(reason: str, say: Say) -> str | None:
    """A referral's or withdrawal's `reason` in Chinese, its values named by `say`; None when its
    shape is not known."""
    def named(kind: str, value: str) -> str:
        if kind == "failure":
            return read(_FAILURES, value, named) or value
        if kind == "span":
            span = _SPAN.match(value)
            unit = _UNITS.get(span["u"]) if span else None
            return f" {span['n']} {unit}" if span and unit else f" {value} "
        if kind == "arrived":  # a duty counted from the record's arrival, not its own time
            return f"自 {value} 送达引擎起" if value else ""
        if kind == "own":
            return f"（记录自身时间 {value}）" if value else ""
        return say(kind, value)

    return read(_REASONS, reason, named)
