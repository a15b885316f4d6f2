"""An output's reason in Chinese (`reason_zh`), for the people it goes to.

Escalations, notifications, referrals to discipline inspection (抄报移送纪委监委),
their withdrawals, a lifted supervision and a proposal for the credit list give
their grounds as an English sentence (`reason`) of a few fixed shapes, written
by the hazard core (engine/decide), the alert core (engine/alerts), a key
enterprise's file (engine/enterprise), a month's filing
(engine/decide/filing.py) and the annual plan (engine/plan). This module reads
those shapes back, as engine/zh/record.py reads a record's lines, and says them
in Chinese. A reason is read whole or not at all: with any part of no known
shape it gets no Chinese, never a half-English one, and the English stays the
record.

Unit tests (tests/unit/test_reason_zh.py) run every shipped rule test and fail
on a reason no shape here reads; the enterprise and filing tests hold theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from engine.kernel.outputs import EXERCISE
from engine.zh.record import Parts, Say, Shapes, compiled, read

# What a department failed to do in time (engine/decide/clocks.py `_verify`, `_review`, `_extension`).
_COUNTED = r"(?: of reaching the engine on (?P<t>\S+) \(its own time: (?P<u>\S+)\))?"
_SPAN_RE = r"(?P<s>\d+ (?:minutes|hours|days|working days))"
_FAILURES = compiled([
    (r"(?P<h>\S+) was not verified within " + _SPAN_RE + _COUNTED,
     "隐患 {h} 未在{t:arrived}{s:span}内核实{u:own}"),
    (r"the completion claim on (?P<h>\S+) was not reviewed within " + _SPAN_RE + _COUNTED,
     "隐患 {h} 的整改完成申报未在{t:arrived}{s:span}内复查验收{u:own}"),
    (r"the extension request on (?P<h>\S+) was not decided within " + _SPAN_RE + _COUNTED,
     "隐患 {h} 的延期申请未在{t:arrived}{s:span}内审批{u:own}"),
])

# A key enterprise's missed cycle (engine/enterprise/coverage.py `_what`).
_CYCLES = compiled([
    (r"key enterprise (?P<f>.+?) still not inspected (?P<k>\d+) days after its (?P<c>\d+)-day cycle "
     r"from (?P<t>\S+) ran out", "重点企业 {f} 自 {t} 起的 {c} 日检查周期届满后 {k} 日仍未检查"),
])

# What an approximate deadline adds (engine/kernel/time.py `unsure`), and what happens by its latest.
_DOUBTS = compiled([
    (r"; the deadline (?P<t>\S+) is approximate \(no holiday notice for its year\): it may truly be as "
     r"late as (?P<u>\S+), and (?P<w>.+)",
     "；期限 {t} 为估算（该年放假安排未公布），实际可能晚至 {u}，{w:then}"),
])
_DOUBT = r"(?P<q>; the deadline .+)?"  # a reason's `_DOUBTS`, when it has one
_THEN = {
    "a referral waits for that": "移送待该时间过后进行",
    "a plan filed by then takes this back": "在此之前提交整改方案的，撤回本督办",
    "a final report dated by then takes this back": "在此之前作出核报的，撤回本督办",
}

_REFERRALS = compiled([
    # a respondent the district's discipline commission is not the supervisory body of
    # (engine/kernel/referral.py `jurisdiction`)
    (r"(?P<d>\S+) is a branch of a city bureau, its officials managed by the city, not the district "
     r"\(管理权限\): (?P<a>\S+) is not their supervisory body and is asked to pass this on to the one "
     r"that is", "{d} 为市级部门派驻本区的分局，其干部由市管理（管理权限），{a} 不是其监察机关，"
                 "请按管理权限转送有管辖权的纪委监委"),
    (r"(?P<d>\S+) is managed vertically from above the district \(垂直管理\), its officials not the "
     r"district's \(管理权限\): (?P<a>\S+) is not their supervisory body and is asked to pass this on to "
     r"the one that is", "{d} 实行垂直管理，其干部不由本区管理（管理权限），{a} 不是其监察机关，"
                         "请按管理权限转送有管辖权的纪检监察机关"),
    # who a transfer to the public security bureau names (engine/decide/emit.py `_persons`)
    (r"No person is named: no rectification plan kept on record was made by (?P<f>\S+), when the "
     r"violation was found, so no record says who was responsible then",
     "未列人员：发现违反指令时（{f}）前未有整改方案记录，无记录表明当时的责任人"),
    (r"The person named is the responsible person \(整改责任人\) of the rectification plan of (?P<p>\S+), "
     r"the latest made by (?P<f>\S+), when the violation was found; no record names who worked on under "
     r"the order", "所列人员为 {p} 整改方案所列的整改责任人，该方案为发现违反指令时（{f}）前最近的整改方案；"
                   "无记录表明指令执行期间由何人组织生产作业"),
    # a hazard's referrals (engine/decide/clocks.py)
    (r"(?P<d>\w+) failed its duty on this hazard (?P<n>\d+) times \(不履行安全监管职责\), last: (?P<x>.+)",
     "{d:unit} 在本隐患上 {n} 次不履行安全监管职责，最近一次：{x:failure}"),
    (r"the listed-supervision deadline (?P<t>\S+) of notice (?P<n>\S+) was missed" + _DOUBT,
     "挂牌督办（{n}）期限 {t} 已过，隐患仍未整改完成{q:doubt}"),
    (r"the record (?P<e>\S+) shows the duty done in time; it reached the engine after the referral "
     r"was sent", "记录 {e} 表明已按期履职，该记录在移送后才送达引擎"),
    # a record that made the duty moot, or moved its deadline: not the duty done (`_answers`)
    (r"the record (?P<e>\S+) found the hazard (?P<v>unfounded|duplicate) on (?P<t>\S+), before the deadline, "
     r"so the duty never fell due; it reached the engine after the referral was sent",
     "记录 {e} 表明该隐患已于 {t} 核实认定{v:verdict}，早于期限，该项职责未到履行期限，"
     "该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) re-graded the hazard (?P<g>\w+) on (?P<t>\S+), which ended its listing before "
     r"the deadline, so no listing's deadline fell due; it reached the engine after the referral was sent",
     "记录 {e} 表明该隐患已于 {t} 改定为{g:grade}事故隐患，挂牌督办在期限前解除，不存在到期的督办期限，"
     "该记录在移送后才送达引擎"),
    # a record that closed the hazard or ended its listing before a failed review, sent first, judged
    # the claim pending at the listing's deadline (`clocks.unjudged`)
    (r"the record (?P<e>\S+) found the hazard (?P<v>unfounded|duplicate) on (?P<t>\S+), before a failed "
     r"review judged the completion claim pending at the deadline, so no listing's deadline was missed "
     r"while the hazard stood listed; it reached the engine after the referral was sent",
     "记录 {e} 表明该隐患已于 {t} 核实认定{v:verdict}，期限届满时整改完成申报尚待复查，"
     "其后方被复查认定不合格，其时隐患已不在挂牌督办之列，不存在督办期限逾期，该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) re-graded the hazard (?P<g>\w+) on (?P<t>\S+), before a failed review judged "
     r"the completion claim pending at the deadline, so no listing's deadline was missed while the hazard "
     r"stood listed; it reached the engine after the referral was sent",
     "记录 {e} 表明该隐患已于 {t} 改定为{g:grade}事故隐患，期限届满时整改完成申报尚待复查，"
     "其后方被复查认定不合格，其时隐患已不在挂牌督办之列，不存在督办期限逾期，该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) accepted the hazard as rectified on (?P<t>\S+), before a failed review judged "
     r"the completion claim pending at the deadline, so no listing's deadline was missed while the hazard "
     r"stood listed; it reached the engine after the referral was sent",
     "记录 {e} 表明该隐患已于 {t} 复查验收通过，期限届满时整改完成申报尚待复查，"
     "其后方被复查认定不合格，其时隐患已不在挂牌督办之列，不存在督办期限逾期，该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) accepted the hazard as rectified on (?P<t>\S+), so no extension decision fell "
     r"due; it reached the engine after the referral was sent",
     "记录 {e} 表明该隐患已于 {t} 复查验收通过，延期申请无需再审批，该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) approved on (?P<t>\S+) an extension to (?P<u>\S+), before the deadline passed, "
     r"so the deadline missed was no longer in force; it reached the engine after the referral was sent",
     "记录 {e} 表明已于 {t}（期限届满前）批准延期至 {u}，所称逾期的期限已不再适用，该记录在移送后才送达引擎"),
    (r"the supervising body approved on (?P<t>\S+) the extension (?P<e>\S+), on a request before it since "
     r"(?P<s>\S+), before the deadline (?P<d>\S+), and moved the deadline to (?P<u>\S+): nobody is held to "
     r"the deadline it moved",
     "督办单位于 {t} 批准延期 {e}（该申请自 {s} 起即待其审批，早于期限 {d}），期限改为 {u}："
     "不再以已变更的期限追究任何单位"),
    # a key enterprise's inspection cycle (engine/enterprise/coverage.py)
    (r"(?P<d>\w+) failed its duty \(不履行安全监管职责\) on key enterprise (?P<f>.+?) (?P<n>\d+) time\(s\): "
     r"(?P<x>key enterprise .+)", "{d:unit} 对重点企业 {f} 不履行安全监管职责（第 {n} 次）：{x:cycle}"),
    (r"inspection (?P<e>\S+) of (?P<t>\S+) shows the duty done in time; it reached the engine after "
     r"the referral was sent", "检查 {e}（{t}）表明已按期履职，该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) shows the enterprise (?P<c>no longer a key enterprise|closed) from (?P<u>\S+), "
     r"before the cycle was missed; it reached the engine after the referral was sent",
     "记录 {e} 表明该企业自 {u} 起{c:ceased}，早于检查周期届满，该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) shows the enterprise registered again from (?P<u>\S+); it reached the engine "
     r"after the referral was sent", "记录 {e} 表明该企业自 {u} 起重新登记，该记录在移送后才送达引擎"),
    (r"the record (?P<e>\S+) shows the enterprise re-classified (?P<r>\w+) \((?P<n>\d+)-day cycle\) from "
     r"(?P<u>\S+), before the cycle was missed; it reached the engine after the referral was sent",
     "记录 {e} 表明该企业自 {u} 起调整为{r:risk}（检查周期 {n} 日），早于检查周期届满，"
     "该记录在移送后才送达引擎"),
    (r"inspection (?P<i>\S+) of (?P<t>\S+), which started the missed cycle, was recorded again as refused "
     r"\((?P<e>\S+)\); it reached the engine after the referral was sent",
     "开始该检查周期的检查 {i}（{t}）已更正为拒绝、阻碍检查（{e}），该记录在移送后才送达引擎"),
    (r"inspection (?P<e>\S+) withdrew an earlier failure of (?P<d>\w+): this cycle's is its failure "
     r"(?P<n>\d+), under the threshold of (?P<k>\d+)",
     "检查 {e} 撤回了 {d:unit} 此前的一次失职认定：本周期的失职为第 {n} 次，未达移送所需的 {k} 次"),
    # a month's filing (engine/decide/filing.py)
    (r"Supervision results of (?P<d>.+?) for (?P<m>\d{4}-\d{2}) \(监督检查结果抄报备案\): (?P<a>\d+) hazards "
     r"found, (?P<b>\d+) closed, (?P<c>\d+) open at the month's end, (?P<o>\d+) of them past their "
     r"deadline, (?P<l>\d+) under listed supervision, (?P<p>\d+) enforcement proposals with no legal "
     r"review or decision by their due time",
     "{d:unit} {m} 监督检查结果抄报备案：发现隐患 {a} 项，销号 {b} 项，月末未销号 {c} 项，"
     "其中逾期 {o} 项、挂牌督办 {l} 项；执法建议逾期未审核或决定 {p} 项"),
    # its supplement, for hazards of the month whose records came after it (the same module)
    (r"Supplement to the supervision results of (?P<d>.+?) for (?P<m>\d{4}-\d{2}) \(监督检查结果补充备案\): "
     r"(?P<n>\d+) hazards found in the month whose records reached the engine after the month was filed, "
     r"(?P<c>\d+) of them open at the month's end, (?P<o>\d+) past their deadline",
     "{d:unit} {m} 监督检查结果补充备案：该月发现、但记录在该月备案后才送达引擎的隐患 {n} 项，"
     "其中月末未销号 {c} 项、逾期 {o} 项"),
])

_ESCALATIONS = compiled([
    # the overdue ladder (engine/decide/clocks.py `_ladder`)
    (r"Rectification of (?P<h>\S+) due (?P<t>\S+) is not claimed complete(?P<o>, due today|, \d+ [a-z ]+? "
     r"past the deadline)? \((?P<r>\w+)\)(?P<a> \(deadline approximate: no holiday notice for its year\))?",
     "隐患 {h} 整改期限 {t}，尚未申报整改完成{o:overdue}（{r:tier}）{a:approx}"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the completion claim (?P<e>\S+) of (?P<t>\S+), "
     r"made before the step \S+ of (?P<u>\S+), reached the engine after it",
     "撤回隐患 {h} 的{r:rule}：整改完成申报 {e}（{t}）早于该步骤（{u}），送达引擎晚于该步骤"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the verification (?P<e>\S+) of (?P<t>\S+), "
     r"which found it (?P<v>unfounded|duplicate) before the step \S+ of (?P<u>\S+), reached the engine "
     r"after it",
     "撤回隐患 {h} 的{r:rule}：核实记录 {e}（{t}）早于该步骤（{u}）认定{v:verdict}，送达引擎晚于该步骤"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the acceptance review (?P<e>\S+) of (?P<t>\S+), "
     r"which passed before the step \S+ of (?P<u>\S+), reached the engine after it",
     "撤回隐患 {h} 的{r:rule}：复查验收 {e}（{t}）早于该步骤（{u}）已通过，送达引擎晚于该步骤"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the order (?P<e>\S+) of (?P<t>\S+), which set "
     r"the deadline (?P<d>\S+) before the step \S+ of (?P<u>\S+), reached the engine after it",
     "撤回隐患 {h} 的{r:rule}：责令限期整改 {e}（{t}）早于该步骤（{u}）将整改期限定为 {d}，"
     "送达引擎晚于该步骤"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the extension (?P<e>\S+) approved on "
     r"(?P<t>\S+), before the step \S+ of (?P<u>\S+), reached the engine after it",
     "撤回隐患 {h} 的{r:rule}：延期已于 {t} 批准（{e}），早于该步骤（{u}），送达引擎晚于该步骤"),
    # an enforcement proposal's due time (engine/decide/proposals.py `overdue`, `answered_late`, `gone`)
    (r"Enforcement proposal (?P<p>\S+) \((?P<m>\w+)\) against (?P<e>\S+), made (?P<t>\S+),"
     r"(?P<a> approved by its legal review \(法制审核\) on \S+,)? has no "
     r"(?P<w>legal review \(法制审核\)|decision) on record by (?P<u>\S+)"
     r"(?P<g>; raised (?:again \(\d+\)|late): the verification \S+ of \S+, which found it \w+ before then, "
     r"reached the engine after it|; raised late: the legal review \S+ that approved it reached the engine "
     r"on \S+, after the decision was due)?",
     "{t} 对 {e} 提出的执法建议 {p}（{m:measure}）{a:approved}截至 {u} 未见{w:owed}记录{g:again}"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the (?P<k>legal review|penalty decision|order) "
     r"(?P<e>\S+) of (?P<t>\S+), by the due time (?P<u>\S+) of (?P<s>the decision on )?proposal (?P<p>\S+), "
     r"reached the engine after it",
     "撤回隐患 {h} 的{r:rule}：{k:answer} {e}（{t}）在执法建议 {p} 的{s:decision}期限 {u} 前作出，"
     "送达引擎晚于督办"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the verification (?P<e>\S+) of (?P<t>\S+), "
     r"which found it (?P<v>unfounded|duplicate) before the due time (?P<u>\S+) of (?P<s>the decision on )?"
     r"proposal (?P<p>\S+), reached the engine after it",
     "撤回隐患 {h} 的{r:rule}：核实记录 {e}（{t}）早于执法建议 {p} 的{s:decision}期限（{u}）认定{v:verdict}，"
     "送达引擎晚于督办"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: the acceptance review (?P<e>\S+) of (?P<t>\S+), "
     r"which passed before the due time (?P<u>\S+) of (?P<s>the decision on )?proposal (?P<p>\S+), reached "
     r"the engine after it",
     "撤回隐患 {h} 的{r:rule}：复查验收 {e}（{t}）早于执法建议 {p} 的{s:decision}期限（{u}）已通过，"
     "隐患已整改，该建议不再督办，送达引擎晚于督办"),
    (r"The escalation (?P<r>\S+) of (?P<h>\S+) is withdrawn: proposal (?P<p>\S+) was withdrawn",
     "撤回隐患 {h} 的{r:rule}：执法建议 {p} 已撤回"),
    # a department's duties (`_duty_failure`, `answer`)
    (r"(?P<x>.+?): the deadline (?P<t>\S+) passed \(不履行安全监管职责, failure (?P<n>\d+)\)" + _DOUBT,
     "{x:failure}：期限 {t} 已过（不履行安全监管职责，第 {n} 次）{q:doubt}"),
    (r"The duty failure of (?P<d>\w+) on (?P<h>\S+) at the deadline (?P<t>\S+) is withdrawn: the record "
     r"(?P<e>\S+) of (?P<u>\S+), in time, reached the engine after it",
     "撤回 {d:unit} 对隐患 {h} 的失职认定（期限 {t}）：记录 {e}（{u}）已按期形成，送达引擎晚于认定"),
    # referrals, as their recipients are told (`_refer`, `_withdraw`; coverage `_refer`, `_withdraw`)
    (r"Referred to discipline inspection \(抄报移送纪委监委\): (?P<x>.+)", "移送纪委监委：{x:referral}"),
    (r"Referral to discipline inspection withdrawn: (?P<x>.+)", "撤回移送纪委监委：{x:referral}"),
    # listed supervision (`_plan`, `planned`; engine/decide/lifecycle.py `_extension_refused`)
    (r"No rectification plan \(整改方案\) filed for listed hazard (?P<h>\S+) within " + _SPAN_RE
     + r" of notice (?P<n>\S+?)(?P<i>, issued on \S+ once its report and confirmation had reached the "
     r"engine)?" + _DOUBT, "挂牌督办隐患 {h} 未在通知 {n} 下达后{s:span}内提交整改方案{i:issued}{q:doubt}"),
    (r"The escalation (?P<r>\S+) of (?P<t>\S+) on (?P<h>\S+) is withdrawn: the rectification plan "
     r"(?P<e>\S+) of (?P<u>\S+), (?P<w>filed by then|filed by \S+, the latest that approximate due time "
     r"could truly fall), reached the engine after it",
     "撤回隐患 {h} 的{r:rule}（{t}）：整改方案 {e}（{u}）{w:filed}，送达引擎晚于督办"),
    (r"Extension request on (?P<h>\S+) came (?P<n>\d+) working days before the deadline (?P<t>\S+); the "
     r"rules ask for at least " + _SPAN_RE + r": no decision on it is due, and the deadline stands unless "
     r"the supervising body approves it",
     "隐患 {h} 的延期申请距期限 {t} 仅 {n} 个工作日，规则要求至少提前{s:span}提出：不计审批时限，"
     "督办单位未批准的，期限不变"),
    # as sent until 2026-12-07, when an approval of such a request was not applied
    (r"Extension request on (?P<h>\S+) refused: it came (?P<n>\d+) working days before the deadline "
     r"(?P<t>\S+); the rules need at least " + _SPAN_RE,
     "隐患 {h} 的延期申请不予受理：距期限 {t} 仅 {n} 个工作日，规则要求至少提前{s:span}提出"),
    # a key enterprise's inspection cycle (engine/enterprise/coverage.py `fire`, `answer`)
    (r"key enterprise (?P<f>.+?) \((?P<c>\w+)\) not inspected within (?P<d>\d+) days of (?P<t>\S+)",
     "重点企业 {f}（{c:risk}）自 {t} 起 {d} 日内未检查"),
    (r"(?P<x>key enterprise .+): a duty failure of the lead department \(不履行安全监管职责\)",
     "{x:cycle}：行业主管部门不履行安全监管职责"),
    (r"The duty failure of (?P<d>\w+) on key enterprise (?P<f>.+?) at (?P<t>\S+) is withdrawn: the "
     r"enterprise was (?P<c>no longer a key enterprise|closed) from (?P<u>\S+) \((?P<e>\S+)\), before it, "
     r"and the record reached the engine after it",
     "撤回 {d:unit} 对重点企业 {f} 的失职认定（{t}）：该企业自 {u} 起{c:ceased}（{e}），早于认定，"
     "记录送达引擎晚于认定"),
    (r"The duty failure of (?P<d>\w+) on key enterprise (?P<f>.+?) at (?P<t>\S+) is withdrawn: the "
     r"enterprise was re-classified (?P<r>\w+) \((?P<n>\d+)-day cycle\) from (?P<u>\S+) \((?P<e>\S+)\), "
     r"before it, and the record reached the engine after it",
     "撤回 {d:unit} 对重点企业 {f} 的失职认定（{t}）：该企业自 {u} 起调整为{r:risk}（检查周期 {n} 日）"
     "（{e}），早于认定，记录送达引擎晚于认定"),
    (r"The notice that key enterprise (?P<f>.+?) \((?P<c>\w+)\) was not inspected within (?P<d>\d+) days of "
     r"(?P<t>\S+) is withdrawn: inspection (?P<e>\S+) of (?P<u>\S+), in time, reached the engine after it",
     "撤回重点企业 {f}（{c:risk}）自 {t} 起 {d} 日内未检查的通知："
     "检查 {e}（{u}）已按期进行，送达引擎晚于通知"),
    (r"The notice that key enterprise (?P<f>.+?) \((?P<c>\w+)\) was not inspected within (?P<d>\d+) days of "
     r"(?P<t>\S+) is withdrawn: the enterprise was re-classified (?P<r>\w+) \((?P<n>\d+)-day cycle\) from "
     r"(?P<u>\S+) \((?P<e>\S+)\), before it, and the record reached the engine after it",
     "撤回重点企业 {f}（{c:risk}）自 {t} 起 {d} 日内未检查的通知："
     "该企业自 {u} 起调整为{r:risk}（检查周期 {n} 日）（{e}），早于通知，记录送达引擎晚于通知"),
    (r"The notice that key enterprise (?P<f>.+?) \((?P<c>\w+)\) was not inspected within (?P<d>\d+) days of "
     r"(?P<t>\S+) is withdrawn: the enterprise was (?P<x>no longer a key enterprise|closed) from (?P<u>\S+) "
     r"\((?P<e>\S+)\), before it, and the record reached the engine after it",
     "撤回重点企业 {f}（{c:risk}）自 {t} 起 {d} 日内未检查的通知："
     "该企业自 {u} 起{x:ceased}（{e}），早于通知，记录送达引擎晚于通知"),
    (r"The notice that key enterprise (?P<f>.+?) \((?P<c>\w+)\) was not inspected within (?P<d>\d+) days of "
     r"(?P<t>\S+) is withdrawn: the enterprise was registered again from (?P<u>\S+) \((?P<e>\S+)\), and the "
     r"record reached the engine after it",
     "撤回重点企业 {f}（{c:risk}）自 {t} 起 {d} 日内未检查的通知："
     "该企业自 {u} 起重新登记（{e}），记录送达引擎晚于通知"),
    (r"The duty failure of (?P<d>\w+) on key enterprise (?P<f>.+?) at (?P<t>\S+) is withdrawn: the "
     r"enterprise was registered again from (?P<u>\S+) \((?P<e>\S+)\), and the record reached the engine "
     r"after it",
     "撤回 {d:unit} 对重点企业 {f} 的失职认定（{t}）：该企业自 {u} 起重新登记（{e}），记录送达引擎晚于认定"),
    (r"The notice that key enterprise (?P<f>.+?) \((?P<c>\w+)\) was not inspected within (?P<d>\d+) days of "
     r"(?P<t>\S+) is withdrawn: inspection (?P<i>\S+) of (?P<u>\S+) was recorded again as refused "
     r"\((?P<e>\S+)\): it is not counted as done",
     "撤回重点企业 {f}（{c:risk}）自 {t} 起 {d} 日内未检查的通知："
     "检查 {i}（{u}）已更正为拒绝、阻碍检查（{e}），不计为已检查"),
    (r"The duty failure of (?P<d>\w+) on key enterprise (?P<f>.+?) at (?P<t>\S+) is withdrawn: inspection "
     r"(?P<i>\S+) of (?P<u>\S+) was recorded again as refused \((?P<e>\S+)\): it is not counted as done",
     "撤回 {d:unit} 对重点企业 {f} 的失职认定（{t}）：检查 {i}（{u}）已更正为拒绝、阻碍检查（{e}），"
     "不计为已检查"),
    (r"The duty failure of (?P<d>\w+) on key enterprise (?P<f>.+?) at (?P<t>\S+) is withdrawn: inspection "
     r"(?P<e>\S+) of (?P<u>\S+), in time, reached the engine after it",
     "撤回 {d:unit} 对重点企业 {f} 的失职认定（{t}）：检查 {e}（{u}）已按期进行，送达引擎晚于认定"),
    # an alert's handover, report clocks and routing (engine/alerts)
    (r"Alert (?P<a>\S+) was not acknowledged (?P<s>\d+ (?:hours \d+ )?minutes) after it was raised: "
     r"handed over to (?P<n>.+) \(应急值守\)",
     "警情 {a} 发出后 {s:since}无人签收，已逐级转交 {n:names}（应急值守）"),
    (r"The handover (?P<r>\S+) of (?P<a>\S+) at (?P<t>\S+) is withdrawn: (?P<u>\w+) acknowledged the alert "
     r"on (?P<d>\S+), before it; the record (?P<e>\S+) reached the engine after it",
     "撤回 {a} 的{r:rule}（{t}）：{u:unit} 已于 {d} 签收该警情，早于转交；记录 {e} 送达引擎晚于转交"),
    (r"The handover (?P<r>\S+) of (?P<a>\S+) at (?P<t>\S+) is withdrawn: the alert was closed on (?P<d>\S+), "
     r"before it; the record (?P<e>\S+) reached the engine after it",
     "撤回 {a} 的{r:rule}（{t}）：警情已于 {d} 结束，早于转交；记录 {e} 送达引擎晚于转交"),
    (r"Response level (?P<w>[IV]+) of (?P<a>\S+) is withdrawn: it was activated from figures dated after "
     r"the alert's close on (?P<d>\S+); the record (?P<e>\S+) of the close reached the engine after it\. "
     r"Response level (?P<l>[IV]+) stands",
     "撤回 {a} 的 {w} 级应急响应：该响应依据警情于 {d} 结束后的数据启动；结束记录 {e} 送达引擎晚于启动。"
     "维持 {l} 级应急响应"),
    # "arts. 9–10" as sent until 2026-12-07, when art. 11's 2 hours a level were miscited as art. 10's.
    (r"(?P<g>.+?) (?P<a>\S+): no report reached (?P<l>.+?) by (?P<t>\S+) \((?P<s>\d+ [a-z ]+?) allowed; "
     r"生产安全事故报告和调查处理条例 arts\. 9(?:–10|, 11)\)",
     "{g:accident} {a}：至 {t} 未向{l}报告"
     "（时限{s:span}；《生产安全事故报告和调查处理条例》第九条、第十一条）"),
    (r"The report_overdue of (?P<a>\S+) to (?P<l>.+?) at (?P<t>\S+) is withdrawn: the record (?P<e>\S+) of "
     r"the report on (?P<u>\S+), in time, reached the engine after it",
     "撤回 {a} 向{l}报告超时（{t}）：记录 {e} 表明已于 {u} 按时报告，送达引擎晚于督办"),
    (r"The report_overdue of (?P<a>\S+) to (?P<l>.+?) at (?P<t>\S+) is withdrawn: the alert was closed on "
     r"(?P<u>\S+), before it fell due; the record (?P<e>\S+) of the close reached the engine after it",
     "撤回 {a} 向{l}报告超时（{t}）：警情已于 {u} 结束，早于报告时限；结束记录 {e} 送达引擎晚于督办"),
    (r"The report_overdue of (?P<a>\S+) to (?P<l>.+?) at (?P<t>\S+) is withdrawn: the accident was graded "
     r"(?P<g>.+?) on (?P<u>\S+), before it fell due, which is not reported that far; the record (?P<e>\S+) "
     r"reached the engine after it",
     "撤回 {a} 向{l}报告超时（{t}）：该事故已于 {u} 改定为{g}，早于报告时限，无需报告至该层级；"
     "记录 {e} 送达引擎晚于督办"),
    (r"The report_overdue of (?P<a>\S+) \((?P<c>disaster_\w+)\) at (?P<t>\S+) is withdrawn: the alert "
     r"was closed on (?P<u>\S+), before it fell due; the record (?P<e>\S+) of the close reached the "
     r"engine after it",
     "撤回 {a} 的{c:clock}超时（{t}）：警情已于 {u} 结束，早于报告时限；结束记录 {e} 送达引擎晚于督办"),
    (r"The report_overdue of (?P<a>\S+) \((?P<c>disaster_\w+)\) at (?P<t>\S+) is withdrawn: the record "
     r"(?P<e>\S+) of the report on (?P<u>\S+), (?P<w>in time|by the latest its approximate due time could "
     r"truly fall), reached the engine after it",
     "撤回 {a} 的{c:clock}超时（{t}）：记录 {e} 表明已于 {u} {w:when}报告，送达引擎晚于督办"),
    (r"No initial disaster report \(初报\) on (?P<a>\S+) from (?P<w>post A|post A and every unit asked "
     r"since) by (?P<t>\S+): asked (?P<n>.+) to report \(灾害信息员 A、B 岗; 自然灾害情况统计调查制度\)",
     "灾情 {a} 至 {t} {w:silent}未报灾情初报："
     "已催 {n:names} 报告（灾害信息员 A、B 岗；自然灾害情况统计调查制度）"),
    (r"No daily disaster report \(续报, or 零报告 when nothing changed\) on (?P<a>\S+) by (?P<t>\S+): the "
     r"report is due every day until the final report \(24小时零报告\)",
     "灾情 {a} 至 {t} 未报当日续报（无变化时报零报告）：核报前每日须报（24小时零报告）"),
    (r"No daily disaster report \(续报, or 零报告 when nothing changed\) on (?P<a>\S+) for (?P<n>\d+) days, "
     r"from (?P<t>\S+) to (?P<u>\S+): the report is due every day until the final report \(24小时零报告\)",
     "灾情 {a} 自 {t} 至 {u} 共 {n} 日未报当日续报（无变化时报零报告）：核报前每日须报（24小时零报告）"),
    (r"No final disaster report \(核报\) on (?P<a>\S+) within (?P<s>\d+ [a-z ]+?) of its close \(灾情稳定\) "
     r"at (?P<t>\S+)" + _DOUBT, "灾情 {a} 于 {t} 稳定后{s:span}内未核报{q:doubt}"),
    (r"(?P<k>\S+) \([^)]+\) at (?P<p>.+?) is a non-production incident \(非生产类\): no 493号令 grade or "
     r"report clocks; it goes to (?P<n>.+) at response level (?P<l>[IV]+)",
     "{k}（{p}）为非生产类事件：不按493号令定级，不计事故报告时限；送 {n:names}，响应等级 {l} 级"),
    (r"(?P<g>.+?) (?P<a>\S+) at (?P<p>.+?) is a production-safety accident: when it is reported up the "
     r"levels, notify (?P<n>.+) at the same time \(within (?P<s>\d+ [a-z ]+?) of the accident\)",
     "{g:accident} {a}（{p}）为生产安全事故：逐级上报时，同时通知 {n:names}（事故发生后{s:span}内）"),
    (r"(?P<k>\S+) \([^)]+\) at (?P<p>.+?): (?P<x>.+)\. Response level (?P<l>[IV]+) (?P<c>activated|raised "
     r"from [IV]+|lowered from [IV]+): activate (?P<n>.+)",
     "{k}（{p}）：{x:pieces}。{c:change} {l} 级应急响应：{n:names}"),
    # listed supervision lifted, an enforcement proposal withdrawn (engine/decide/lifecycle.py, clocks.py)
    (r"the acceptance review \(复查验收\) passed", "复查验收通过"),
    (r"re-graded general by the verification of (?P<t>\S+): listed supervision is for major hazards only",
     "经 {t} 核查改定为一般事故隐患：挂牌督办仅适用于重大事故隐患"),
    (r"the verification of (?P<t>\S+) found it unfounded", "经 {t} 核查，该隐患不属实"),
    (r"the verification of (?P<t>\S+) found it a duplicate of (?P<d>\S+)", "经 {t} 核查，该隐患与 {d} 重复"),
    (r"Enforcement proposal withdrawn: the completion claim (?P<e>\S+) of (?P<t>\S+), made before the step "
     r"(?P<r>\S+) of (?P<u>\S+), reached the engine after it",
     "撤回执法建议：整改完成申报 {e}（{t}）早于{r:rule}步骤（{u}），送达引擎晚于该步骤"),
    (r"Enforcement proposal withdrawn: the verification (?P<e>\S+) of (?P<t>\S+), which found it "
     r"(?P<v>unfounded|duplicate) before the step (?P<r>\S+) of (?P<u>\S+), reached the engine after it",
     "撤回执法建议：核实记录 {e}（{t}）早于{r:rule}步骤（{u}）认定{v:verdict}，送达引擎晚于该步骤"),
    (r"Enforcement proposal withdrawn: the acceptance review (?P<e>\S+) of (?P<t>\S+), which passed before "
     r"the step (?P<r>\S+) of (?P<u>\S+), reached the engine after it",
     "撤回执法建议：复查验收 {e}（{t}）早于{r:rule}步骤（{u}）已通过，送达引擎晚于该步骤"),
    (r"Enforcement proposal withdrawn: the order (?P<e>\S+) of (?P<t>\S+), which set the deadline "
     r"(?P<d>\S+) before the step (?P<r>\S+) of (?P<u>\S+), reached the engine after it",
     "撤回执法建议：责令限期整改 {e}（{t}）早于{r:rule}步骤（{u}）将整改期限定为 {d}，送达引擎晚于该步骤"),
    (r"Enforcement proposal withdrawn: the extension (?P<e>\S+) approved on (?P<t>\S+), before the step "
     r"(?P<r>\S+) of (?P<u>\S+), reached the engine after it",
     "撤回执法建议：延期已于 {t} 批准（{e}），早于{r:rule}步骤（{u}），送达引擎晚于该步骤"),
    # an order lifted before violations found since, recorded after them (engine/decide/lifecycle.py)
    (r"(?P<w>Transfer|Enforcement proposal) withdrawn: the verification (?P<e>\S+) of (?P<t>\S+), which "
     r"found it (?P<v>unfounded|duplicate) before the violation of order (?P<o>\S+) found on (?P<f>\S+), "
     r"reached the engine after it",
     "撤回{w:withdrawn}：核实记录 {e}（{t}）早于 {f} 发现的执法决定 {o} 未执行行为认定{v:verdict}，"
     "送达引擎晚于{w:sent}"),
    # a verification that takes away the grade a violated order's transfer or power stop went on
    (r"(?P<w>Transfer|Enforcement proposal) withdrawn: the verification (?P<e>\S+) of (?P<t>\S+) re-graded "
     r"the hazard (?P<g>\w+), so order (?P<o>\S+), found violated on (?P<f>\S+), is not held to be on a "
     r"major hazard",
     "撤回{w:withdrawn}：核实记录 {e}（{t}）将该隐患改定为{g:grade}事故隐患，{f} 发现未执行的执法决定 {o} "
     "不再视为针对重大事故隐患"),
    (r"(?P<w>Transfer|Enforcement proposal) withdrawn: the verification (?P<e>\S+) of (?P<t>\S+) found it "
     r"(?P<v>unfounded|duplicate), so order (?P<o>\S+), found violated on (?P<f>\S+), is not held to be on a "
     r"major hazard",
     "撤回{w:withdrawn}：核实记录 {e}（{t}）认定{v:verdict}，{f} 发现未执行的执法决定 {o} "
     "不再视为针对重大事故隐患"),
    (r"Transfer withdrawn: order (?P<o>\S+) was lifted on (?P<l>\S+), before the violation found on "
     r"(?P<f>\S+); the record (?P<e>\S+) of the lifting reached the engine after it",
     "撤回移送公安机关：执法决定 {o} 已于 {l} 解除，早于 {f} 发现的未执行行为；"
     "解除记录 {e} 送达引擎晚于移送"),
    (r"Enforcement proposal withdrawn: order (?P<o>\S+) was lifted on (?P<l>\S+), before the violation found "
     r"on (?P<f>\S+); the record (?P<e>\S+) of the lifting reached the engine after it",
     "撤回执法建议：执法决定 {o} 已于 {l} 解除，早于 {f} 发现的未执行行为；"
     "解除记录 {e} 送达引擎晚于该建议"),
    (r"Credit proposal withdrawn: order (?P<o>\S+) was lifted on (?P<l>\S+), before the violation found on "
     r"(?P<f>\S+); the record (?P<e>\S+) of the lifting reached the engine after it",
     "撤回信用惩戒建议：执法决定 {o} 已于 {l} 解除，早于 {f} 发现的未执行行为；"
     "解除记录 {e} 送达引擎晚于该建议"),
    (r"Credit proposal withdrawn: the verification (?P<e>\S+) of (?P<t>\S+) found hazard (?P<h>\S+) "
     r"(?P<v>unfounded|duplicate) before the violation of order (?P<o>\S+) found on (?P<f>\S+), and reached "
     r"the engine after it",
     "撤回信用惩戒建议：核实记录 {e}（{t}）早于 {f} 发现的执法决定 {o} 未执行行为认定隐患 {h} {v:verdict}，"
     "送达引擎晚于该建议"),
    (r"Credit proposal withdrawn: the verification (?P<e>\S+) of (?P<t>\S+) found hazard (?P<h>\S+) "
     r"unfounded or a duplicate before the violation of order (?P<o>\S+) found on (?P<f>\S+), and reached "
     r"the engine after it",
     "撤回信用惩戒建议：核实记录 {e}（{t}）早于 {f} 发现的执法决定 {o} 未执行行为认定隐患 {h} "
     "不属实或重复上报，送达引擎晚于该建议"),
    # a proposal for the credit list (engine/enterprise/credit.py)
    (r"order (?P<o>\S+) \((?P<m>\w+)\) on hazard (?P<h>\S+) was found violated",
     "隐患 {h} 的执法决定 {o}（{m:measure}）被发现未执行"),
    (r"(?P<n>\d+) major hazard\(s\) \(重大事故隐患\) overdue within (?P<d>\d+) days: (?P<k>.+)",
     "{d} 日内 {n} 项重大事故隐患逾期未整改：{k}"),
    (r"Credit proposal withdrawn: the verification (?P<e>\S+) of (?P<t>\S+) found hazard (?P<h>\S+) "
     r"(?P<v>unfounded|duplicate) before its deadline of (?P<u>\S+), and reached the engine after the "
     r"proposal counted it overdue",
     "撤回信用惩戒建议：核实记录 {e}（{t}）在整改期限（{u}）前认定隐患 {h} {v:verdict}，"
     "送达引擎晚于该建议，该隐患不应计为逾期"),
    (r"Credit proposal withdrawn: the verification (?P<e>\S+) of (?P<t>\S+) found hazard (?P<h>\S+) "
     r"(?P<v>unfounded|duplicate), after its deadline of (?P<u>\S+): it is no ground for the proposal that "
     r"counted it overdue",
     "撤回信用惩戒建议：核实记录 {e}（{t}）在整改期限（{u}）后认定隐患 {h} {v:verdict}，"
     "该隐患不能作为该建议计为逾期的依据"),
    (r"Credit proposal withdrawn: the acceptance review (?P<e>\S+) on hazard (?P<h>\S+) of (?P<t>\S+), "
     r"passed by its deadline of (?P<u>\S+), reached the engine after the proposal counted it overdue",
     "撤回信用惩戒建议：隐患 {h} 的复查验收 {e}（{t}）在整改期限（{u}）前已通过，"
     "送达引擎晚于该建议，该隐患不应计为逾期"),
    (r"Credit proposal withdrawn: the verification (?P<e>\S+) of (?P<t>\S+) graded hazard (?P<h>\S+) below "
     r"major before its deadline of (?P<u>\S+), and reached the engine after the proposal counted it an "
     r"overdue major hazard",
     "撤回信用惩戒建议：核实记录 {e}（{t}）在整改期限（{u}）前将隐患 {h} 核定为非重大事故隐患，"
     "送达引擎晚于该建议，该隐患不应计为逾期的重大事故隐患"),
    (r"Credit proposal withdrawn: the extension (?P<e>\S+) on hazard (?P<h>\S+), approved on (?P<t>\S+) "
     r"before its deadline of (?P<u>\S+), reached the engine after the proposal counted it overdue",
     "撤回信用惩戒建议：隐患 {h} 的延期 {e} 已于 {t} 在整改期限（{u}）前获批，"
     "送达引擎晚于该建议，该隐患不应计为逾期"),
    (r"Credit proposal withdrawn: the completion claim (?P<e>\S+) on hazard (?P<h>\S+) of (?P<t>\S+), by its "
     r"deadline of (?P<u>\S+), reached the engine after the proposal counted it overdue",
     "撤回信用惩戒建议：隐患 {h} 的整改完成申报 {e}（{t}）未超过整改期限（{u}），"
     "送达引擎晚于该建议，该隐患不应计为逾期"),
    (r"Credit proposal withdrawn: inspection (?P<i>\S+) of (?P<t>\S+), recorded as refused, was recorded "
     r"again as completed \((?P<e>\S+)\): the refusal it counted is no longer on the record",
     "撤回信用惩戒建议：检查 {i}（{t}）原记录为拒绝、阻碍检查，已更正为完成检查（{e}），该拒绝不再作为依据"),
    (r"(?P<n>\d+) inspection\(s\) refused or obstructed \(拒绝、阻碍检查\) within (?P<d>\d+) days: (?P<k>.+)",
     "{d} 日内 {n} 次拒绝、阻碍检查：{k}"),
    # the annual plan's towns (engine/plan/annual.py)
    (r"(?P<w>.+?): (?P<d>\d+) of (?P<p>\d+) planned inspections done in (?P<m>\d{4}-\d{2}) \(年度执法计划\)",
     "{w}：{m} 年度执法检查计划完成 {d} 家次，计划 {p} 家次"),
    (r"The escalation annual.behind of (?P<s>\S+) is withdrawn: (?P<d>\d+) of (?P<p>\d+) planned inspections "
     r"were done in (?P<m>\d{4}-\d{2}), counting those recorded after the check \(年度执法计划\)",
     "撤回 {s} 的年度执法检查计划滞后通报：计入核查后录入的检查，{m} 完成 {d} 家次，计划 {p} 家次"),
])

# The parts of a response activation's why (engine/alerts/grade.py, core.py), each read alone.
_WHY = compiled([
    (r"below every higher threshold \((?P<f>.+)\)", "低于更高等级的各项标准（{f:figures}）"),
    (r"(?P<d>\d+) dead(?P<m> \(incl\. \d+ missing, 死亡含失踪\))? ≥ (?P<k>\d+)",
     "死亡 {d} 人{m:missing} ≥ {k} 人"),
    (r"(?P<n>\d+) seriously injured ≥ (?P<k>\d+)", "重伤 {n} 人 ≥ {k} 人"),
    (r"loss (?P<n>[\d,]+) CNY ≥ (?P<k>[\d,]+)", "直接经济损失 {n} 元 ≥ {k} 元"),
    (r"(?P<g>[a-z_]+) → level (?P<l>[IV]+)", "{g:grade}事故对应 {l} 级响应"),
    (r"crowded place \(人员密集场所\): \+(?P<n>\d+)", "人员密集场所：提高 {n} 级"),
    (r"(?P<e>\d+) to evacuate ≥ (?P<k>\d+): \+(?P<n>\d+)", "需疏散 {e} 人 ≥ {k} 人：提高 {n} 级"),
    (r"level (?P<l>[IV]+)", "定为 {l} 级响应"),
    (r"(?P<c>production-safety accident|non-production incident|natural disaster) \(\S+\): no 493号令 "
     r"grade", "{c:incident}：不按493号令定级"),
    (r"unclassified incident: no 493号令 grade", "未分类事件：不按493号令定级"),
    (r"no death, injury or direct loss \(493号令 art\. 2\): no 493号令 grade yet",
     "无人员伤亡或直接经济损失（493号令第二条）：暂不按493号令定级"),
    (r"response band of the figures \(district practice\): (?P<x>.+)",
     "按伤亡等情况确定响应等级（区内做法）：{x:why}"),
    (r"response band counting the missing with the dead \(国家安全生产事故灾难应急预案\): (?P<x>.+)",
     "响应等级按死亡（含失踪）人数确定（国家安全生产事故灾难应急预案）：{x:why}"),
    (r"(?P<g>\S+) \([a-z ]+\): (?P<x>.+)", "{g}：{x:why}"),
])
_FIGURES = [(re.compile(p), z) for p, z in (
    (r"(\d+) dead", r"死亡 \1 人"), (r" \(incl\. (\d+) missing, 死亡含失踪\)", r"（含失踪 \1 人）"),
    (r"(\d+) seriously injured", r"重伤 \1 人"), (r"loss ([\d,]+) CNY", r"直接经济损失 \1 元"), (", ", "，"))]
_INCIDENTS = {"production-safety accident": "生产安全事故", "non-production incident": "非生产类事件",
              "natural disaster": "自然灾害"}

_UNITS = {"minutes": "分钟", "hours": "小时", "days": "日", "working days": "个工作日",
          "minute": "分钟", "hour": "小时", "day": "日", "working day": "个工作日"}
_SPAN = re.compile(r"(?P<n>\d+) (?P<u>[a-z ]+)\Z")
_OVERDUE = re.compile(r", (?P<n>\d+) (?P<u>[a-z ]+?) past the deadline\Z")
_SINCE = re.compile(r"(?:(?P<h>\d+) hours )?(?P<m>\d+) minutes\Z")
class _Index:
    """The shapes a text may have, found cheaply: a reason is read on the hot path (each escalation
    a decision sends). A shape that begins with a word is tried only for a text that begins with
    it; one that begins with a value only for a text holding its longest run of plain words
    (a substring test, far cheaper than a regular expression that fails). Order is the table's."""

    def __init__(self, shapes: Shapes) -> None:
        keyed = [(shape, _WORD.match(shape[0].pattern), _literal(shape[0].pattern)) for shape in shapes]
        self.any = [(shape, marker) for shape, word, marker in keyed if word is None]
        self.by = {w[0]: [(shape, marker) for shape, word, marker in keyed if word is None or word[0] == w[0]]
                   for _, w, _ in keyed if w is not None}

    def __call__(self, text: str) -> Iterator[tuple[re.Pattern[str], Parts]]:
        return (shape for shape, marker in self.by.get(text.partition(" ")[0], self.any) if marker in text)


_WORD = re.compile(r"[A-Za-z_-]+(?= )")
_PLAIN = re.compile(r"(?:[A-Za-z0-9 ,;:'_→≥-]|\\[().+\[\]])+")


def _literal(pattern: str) -> str:
    """The longest run of `pattern` that every text it matches must hold, unescaped: plain
    characters outside any group (optional or alternative) and any character class."""
    kept, depth, i = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if depth == 0:
                kept.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":  # a class: skip to its end
            i = pattern.index("]", i + 1) + 1
            kept.append("\x00")
            continue
        depth += c == "("
        if depth == 0:
            kept.append(c)
        depth -= c == ")"
        if c == ")" and depth == 0:
            kept.append("\x00")
        i += 1
    runs = [run.replace("\\", "") for run in _PLAIN.findall("".join(kept))]
    return max(runs, key=len, default="")


_READ = _Index(_ESCALATIONS + _REFERRALS)
_NESTED = {"failure": _Index(_FAILURES), "cycle": _Index(_CYCLES), "referral": _Index(_REFERRALS),
           "doubt": _Index(_DOUBTS), "why": _Index(_WHY)}


class _Unread(Exception):
    """A part of a reason no shape reads: the whole reason gets no Chinese."""


# A nested part of a reason, read by its kind (a kind of `_NESTED`, or `pieces`): (kind, text) -> its
# Chinese, raising `_Unread` when no shape reads it (`part_in_chinese`, or a cache of it).
Part = Callable[[str, str], str]


def reason_in_chinese(reason: str, say: Say, part: Part | None = None) -> str | None:
    """An escalation's, a notification's, a referral's or a withdrawal's `reason` in Chinese, its
    values named by `say`; None unless every part of it is of a known shape. `part`, when given,
    reads its nested parts as `part_in_chinese` with the same `say` would (engine/zh/words.py gives
    a cache of it: the same parts come back in reason after reason)."""
    drill = reason.startswith(EXERCISE)
    text = reason.removeprefix(EXERCISE)
    try:
        said = read(_READ(text), text, _naming(say, part))
    except _Unread:
        return None
    except Exception:  # noqa: BLE001 - the Chinese is a courtesy: no decision may fail for it
        return None  # (unit tests read every shape the rule tests send, so a fault here shows there)
    return None if said is None else ("【演练】" if drill else "") + said


def part_in_chinese(kind: str, text: str, say: Say, part: Part | None = None) -> str:
    """A nested part of a reason in Chinese: `text` read by the shapes of its kind (a response
    activation's `pieces`: its parts joined by "; ", each read alone as a `why`), its values named
    by `say` and its own nested parts by `part` (when given); raises `_Unread` when a shape lacks."""
    return _nested(kind, text, _naming(say, part))


def _naming(say: Say, part: Part | None) -> Say:
    """What names each `{name:kind}` of a shape's Chinese: a nested part, a piece, or a value."""
    def named(kind: str, value: str | None) -> str:
        if value is None:  # an optional part the reason did not have
            return ""
        if kind in _NESTED or kind == "pieces":
            return _nested(kind, value, named) if part is None else part(kind, value)
        words = _PIECES.get(kind)
        if words is not None:
            return words(value)
        return say(kind, value)
    return named


def _nested(kind: str, text: str, named: Say) -> str:
    if kind == "pieces":  # a response activation's why: parts joined by "; ", each read alone
        return "；".join([_whole(_NESTED["why"], piece, named) for piece in text.split("; ")])
    return _whole(_NESTED[kind], text, named)


def _whole(index: _Index, text: str, named: Say) -> str:
    said = read(index(text), text, named)
    if said is None:
        raise _Unread(text)
    return said


def _amount(pattern: re.Pattern[str], value: str) -> str:
    """A number and its unit (`n`, `u` of `pattern`) in Chinese: 3 个工作日, 24 小时."""
    found = pattern.match(value)
    unit = _UNITS.get(found["u"]) if found else None
    if found is None or unit is None:
        raise _Unread(value)
    return f"{found['n']} {unit}"


def _span(value: str) -> str:
    return f" {_amount(_SPAN, value)}"


def _since(value: str) -> str:
    since = _SINCE.match(value)
    if since is None:
        raise _Unread(value)
    return (f"{since['h']} 小时 " if since["h"] else "") + f"{since['m']} 分钟"


def _overdue(value: str) -> str:
    if value == ", due today":
        return "，今日到期"
    return f"，已逾期 {_amount(_OVERDUE, value)}"


def _figures(value: str) -> str:
    for pattern, chinese in _FIGURES:
        value = pattern.sub(chinese, value)
    if re.search("[A-Za-z]", value):
        raise _Unread(value)
    return value


def _table(table: dict[str, str]) -> Callable[[str], str]:
    def word(value: str) -> str:
        if value not in table:
            raise _Unread(value)
        return table[value]
    return word


_AGAIN = re.compile(r"; raised (?P<how>again \(\d+\)|late): the verification (?P<e>\S+) of (?P<t>\S+), "
                    r"which found it (?P<v>\w+) before then")


def raising(how: str) -> str:
    """How an overdue escalation came after its due time (engine/decide/proposals.py `confirmed`):
    `again (n)`, the n-th time after a take-back; `late`, held back by a dismissal on file then."""
    return "迟报督办" if how == "late" else f"第 {how.removeprefix('again (').removesuffix(')')} 次重新督办"


_APPROVED_LATE = re.compile(r"; raised late: the legal review (?P<e>\S+) that approved it reached the "
                            r"engine on (?P<t>\S+), after the decision was due")


def _again(text: str) -> str:
    """An overdue escalation raised again, a dismissal taken back by a later-recorded verification;
    or raised late, a dismissal on file before its due time shown not to be the last word by then,
    or the approving review that gave the decision its time reaching the engine after it."""
    review = _APPROVED_LATE.match(text)
    if review is not None:
        return (f"；{raising('late')}：批准该建议的法制审核 {review['e']} 于 {review['t']} 送达引擎，"
                "晚于执法决定期限")
    found = _AGAIN.match(text)
    assert found is not None  # the shape's own group
    from engine.zh.words import VERDICTS  # words reads reasons with this module
    verdict = VERDICTS.get(found["v"], found["v"])
    return (f"；{raising(found['how'])}：核实记录 {found['e']}（{found['t']}）在期限前认定{verdict}，"
            "送达引擎晚于期限")


_PIECES: dict[str, Callable[[str], str]] = {
    "span": _span,
    "since": _since,
    "overdue": _overdue,
    "figures": _figures,
    "then": _table(_THEN),
    "incident": _table(_INCIDENTS),
    "filed": lambda text: "已按期提交" if text == "filed by then" else
    f"在该估算期限实际可能的最晚时间 {text.split()[2].rstrip(',')} 之前提交",
    "when": lambda text: "按时" if text == "in time" else "在估算期限实际可能的最晚时间之前",
    "silent": lambda text: "A 岗" if text == "post A" else "A 岗及此后催报的各单位均",
    "change": lambda text: "启动" if text == "activated" else
    f"由 {text.split()[-1]} 级{'提升至' if text.startswith('raised') else '调整为'}",
    "accident": lambda text: "该事故" if text == "the accident" else text,
    "names": lambda text: text.replace(", ", "、"),
    "missing": lambda text: f"（含失踪 {text.split()[1]} 人）",
    "arrived": lambda at: f"自 {at} 送达引擎起",  # a duty counted from the record's arrival
    "own": lambda at: f"（记录自身时间 {at}）",
    "approx": lambda _: "（期限为估算：该年放假安排未公布）",
    "approved": lambda text: f"经法制审核于 {text.split()[-1].rstrip(',')} 通过，",
    "decision": lambda _: "执法决定",
    "withdrawn": lambda text: "移送公安机关" if text == "Transfer" else "执法建议",
    "sent": lambda text: "移送" if text == "Transfer" else "建议",
    "again": _again,
    "issued": lambda text: f"（通知视为 {text.split()[3]} 下达：报告与核实均已送达引擎）",
}
