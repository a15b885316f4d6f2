"""A subject's record lines in Chinese, for the Chinese board and a referral's timeline.

The hazard and alert cores write each step of a subject's record (三项制度: a
full record of every step) as an English sentence of a few fixed shapes, with
identifiers and times in it. This module reads those shapes back and says them
in Chinese, naming each identifier with the words of engine/zh/words.py.
A line of no known shape is shown as the engine wrote it. Free text a person
entered (an update's note, a violation's description) stays as it was entered.

A unit test runs every shipped rule test and fails on a record line no shape
here reads, so a sentence added to a core without its Chinese shows up there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

LATE = re.compile(r" \(reached the engine late, on (?P<t>[^)]+)\)\Z")

Say = Callable[[str, str], str]  # (kind of value, value) -> its words
# A Chinese sentence as parts: text as it stands (kind None), or a value's name and kind to say it by.
Parts = tuple[tuple[str, str | None], ...]
Shapes = list[tuple[re.Pattern[str], Parts]]  # each shape of text, and its Chinese


def _shapes() -> Shapes:
    """Each shape of line the cores write, and its Chinese; `{name:kind}` names a value by kind."""
    table = [
        # hazards (engine/decide)
        (r"reported \((?P<g>\w+)\) via (?P<v>\w+)", "上报（{g:grade}），来源：{v:via}"),
        (r"reported \((?P<g>\w+)\) via (?P<v>\w+); its rectify_by (?P<t>\S+) not applied: a deadline is an "
         r"inspector's to set, and the reporter is (?P<r>\w+)",
         "上报（{g:grade}），来源：{v:via}；所填整改期限 {t} 未采用：整改期限由执法人员确定"
         "（上报人：{r:role}）"),
        (r"found by (?P<k>\w+) inspection (?P<i>\S+) \((?P<g>\w+)\)", "{k:inspection} {i} 发现（{g:grade}）"),
        (r"found by (?P<k>\w+) inspection (?P<i>\S+) \((?P<g>\w+)\), fixed on the spot",
         "{k:inspection} {i} 发现（{g:grade}），当场整改"),
        (r"verified: confirmed \((?P<g>\w+)\)", "核实：属实（{g:grade}）"),
        (r"verified: confirmed \((?P<g>\w+)\); reopened: the verification of (?P<t>\S+) had found it "
         r"(?P<v>unfounded|duplicate)", "核实：属实（{g:grade}）；重新立案：{t} 的核实曾认定{v:verdict}"),
        (r"verified: confirmed \((?P<g>\w+)\); notice (?P<n>\S+) issued again to the new lead department "
         r"(?P<d>\w+)", "核实：属实（{g:grade}）；挂牌督办通知书 {n} 重新下发给新的牵头部门 {d:unit}"),
        (r"verified: (?P<v>\w+)", "核实：{v:verdict}"),
        (r"re-graded major: the deadline (?P<t>\S+) of the lower grade becomes (?P<u>\S+)",
         "改定为重大事故隐患：原期限 {t} 改为 {u}"),
        (r"re-graded major: the deadline (?P<t>\S+) set for the lower grade runs out before the "
         r"listing's plan is due; it becomes (?P<u>\S+)",
         "改定为重大事故隐患：按一般隐患设定的期限 {t} 早于挂牌督办要求的整改方案报送期限，改为 {u}"),
        (r"rectification planned, target (?P<t>\S+)", "制定整改方案，目标完成 {t}"),
        (r"rectification (?P<p>\d+)% done", "整改完成 {p}%"),
        (r"rectification claimed complete", "申报整改完成"),
        (r"rectification plan overdue", "整改方案逾期未报"),
        (r"review passed: closed", "复查验收通过，销号"),
        (r"review failed: new deadline (?P<t>\S+)", "复查验收未通过，新期限 {t}"),
        (r"review failed: recorded again, counted once", "复查验收未通过（再次报送，只计一次）"),
        (r"recorded again under a fresh event id: the same record as one on file, applied once",
         "再次报送（与已记录的一条相同，只处理一次）"),
        (r"extension requested until (?P<u>\S+): answered by the decision of (?P<t>\S+)",
         "申请延期至 {u}：已由 {t} 的决定答复"),
        (r"ladder (?P<r>\S+): (?P<a>.+)", "{r:rule}：{a:actions}"),
        (r"ladder steps (?P<r>.+) withdrawn: claimed complete on (?P<t>\S+)",
         "撤回 {r:rules}：已于 {t} 申报整改完成"),
        (r"ladder steps (?P<r>.+) withdrawn: extension approved on (?P<t>\S+)",
         "撤回 {r:rules}：延期已于 {t} 批准"),
        (r"ladder steps (?P<r>.+) withdrawn: review passed on (?P<t>\S+)",
         "撤回 {r:rules}：已于 {t} 复查验收通过"),
        (r"ladder steps (?P<r>.+) withdrawn: found (?P<v>unfounded|duplicate) on (?P<t>\S+)",
         "撤回 {r:rules}：已于 {t} 核实认定{v:verdict}"),
        (r"listed supervision (?P<n>\S+), deadline (?P<t>\S+)", "挂牌督办 {n}，期限 {t}"),
        (r"listed supervision (?P<n>\S+), deadline (?P<t>\S+) \(the deadline (?P<u>\S+) had passed before "
         r"the notice\)", "挂牌督办 {n}，期限 {t}（原期限 {u} 已于督办前届满）"),
        (r"listed supervision (?P<n>\S+) lifted: re-graded general by the verification of (?P<t>\S+): listed "
         r"supervision is for major hazards only", "解除挂牌督办 {n}：经 {t} 核查改定为一般事故隐患"),
        (r"listed supervision (?P<n>\S+) lifted: the verification of (?P<t>\S+) found it unfounded",
         "解除挂牌督办 {n}：经 {t} 核查，该隐患不属实"),
        (r"listed supervision (?P<n>\S+) lifted: the verification of (?P<t>\S+) found it a duplicate of "
         r"(?P<d>\S+)", "解除挂牌督办 {n}：经 {t} 核查，与 {d} 重复"),
        (r"duty failure (?P<r>\S+) by (?P<d>\w+) \((?P<n>\d+)\)",
         "{d:unit} 不履行安全监管职责（{r:rule}，第 {n} 次）"),
        (r"(?P<r>\S+) failure of (?P<t>\S+) withdrawn: done on (?P<u>\S+)",
         "撤回失职认定 {r:rule}（期限 {t}）：已于 {u} 履职"),
        (r"(?P<r>\S+) failure of (?P<t>\S+) withdrawn: found (?P<v>unfounded|duplicate) on (?P<u>\S+)",
         "撤回失职认定 {r:rule}（期限 {t}）：已于 {u} 核实认定{v:verdict}，该项职责未到履行期限"),
        (r"(?P<r>\S+) failure of (?P<t>\S+) withdrawn: re-graded (?P<g>\w+) on (?P<u>\S+)",
         "撤回失职认定 {r:rule}（期限 {t}）：已于 {u} 改定为{g:grade}事故隐患，挂牌督办已解除"),
        (r"(?P<r>\S+) failure of (?P<t>\S+) withdrawn: review passed on (?P<u>\S+)",
         "撤回失职认定 {r:rule}（期限 {t}）：已于 {u} 复查验收通过，该项职责未到履行期限"),
        (r"(?P<r>\S+) failure of (?P<t>\S+) withdrawn: deadline extended on (?P<u>\S+)",
         "撤回失职认定 {r:rule}（期限 {t}）：已于 {u}（期限届满前）批准延期"),
        (r"(?P<r>\S+) failure of (?P<t>\S+) withdrawn: deadline moved to (?P<n>\S+) on (?P<u>\S+)",
         "撤回失职认定 {r:rule}（期限 {t}）：督办单位已于 {u} 将期限改为 {n}"),
        (r"extension decided by a (?P<o>\w+), who decides none: not applied",
         "延期审批记录由{o:role}作出，其无权审批延期：不予采用"),
        (r"extension decided: answered already by the decision of (?P<t>\S+)",
         "延期审批：已由 {t} 的审批决定处理"),
        (r"extension approved: the deadline is (?P<t>\S+) already", "延期批准：期限已为 {t}"),
        (r"(?P<r>\S+) of (?P<t>\S+) withdrawn: plan filed on (?P<u>\S+)",
         "撤回 {r:rule}（{t}）：整改方案已于 {u} 提交"),
        (r"(?P<r>\S+) of (?P<t>\S+) withdrawn: review passed on (?P<u>\S+)",
         "撤回 {r:rule}（{t}）：已于 {u} 复查验收通过"),
        (r"(?P<r>\S+) of (?P<t>\S+) withdrawn: found (?P<v>unfounded|duplicate) on (?P<u>\S+)",
         "撤回 {r:rule}（{t}）：已于 {u} 核实认定{v:verdict}"),
        (r"referral (?P<r>\S+) held until (?P<t>\S+) for records dated before the deadline",
         "移送（{r:rule}）暂缓至 {t}，等待期限前形成的记录"),
        (r"referred to discipline inspection: (?P<r>\S+)", "移送纪委监委：{r:rule}"),
        (r"referral to discipline inspection withdrawn: (?P<r>\S+)", "撤回移送纪委监委：{r:rule}"),
        (r"held referral (?P<r>\S+) dropped: its failure was withdrawn",
         "暂缓的移送（{r:rule}）取消：失职认定已撤回"),
        (r"proposed (?P<m>\w+) against (?P<e>\S+), no legal review first",
         "建议对 {e} {m:measure}（无需法制审核）"),
        (r"proposed (?P<m>\w+) against (?P<e>\S+), after legal review \(法制审核\)",
         "建议对 {e} {m:measure}（经法制审核后）"),
        (r"(?P<m>\w+) not proposed again: the (?P<k>penalty decision|order|proposal) (?P<r>\S+) of "
         r"(?P<t>\S+) stands on this hazard \(一事不再罚, 行政处罚法 art\. 29\)",
         "不再建议{m:measure}：本隐患已有{k:standing} {r}（{t}）（一事不再罚，行政处罚法第二十九条）"),
        (r"(?P<m>\w+) not proposed again: the (?P<k>penalty decision|order|proposal) (?P<r>\S+) of "
         r"(?P<t>\S+) stands on this hazard", "不再建议{m:measure}：本隐患已有{k:standing} {r}（{t}）"),
        (r"proposed utility_stop_notice \(安全生产法 art\. 70\) on order (?P<o>\S+)",
         "建议通知停止供电（安全生产法第七十条），责令 {o} 未执行"),
        (r"order (?P<o>\S+): (?P<m>\w+) until (?P<u>\S+) \((?P<b>(?:[^()]|\([^()]*\))+)\)",
         "{o}：{m:measure}，至 {u}（{b}）"),
        (r"order (?P<o>\S+): (?P<m>\w+) until (?P<u>\S+) \((?P<b>(?:[^()]|\([^()]*\))+)\); the rectification "
         r"deadline becomes (?P<t>\S+)", "{o}：{m:measure}，至 {u}（{b}）；整改期限改为 {t}"),
        (r"order (?P<o>\S+): (?P<m>\w+) until (?P<u>\S+) \((?P<b>(?:[^()]|\([^()]*\))+)\); its until had "
         r"passed when it was made: no deadline from it",
         "{o}：{m:measure}，至 {u}（{b}）；作出时所限期限已过，不据以确定整改期限"),
        (r"order (?P<o>\S+): (?P<m>\w+) until (?P<u>\S+) \((?P<b>(?:[^()]|\([^()]*\))+)\); corrected by its "
         r"record of (?P<t>\S+)", "{o}：{m:measure}，至 {u}（{b}）；已由其 {t} 的记录更正"),
        (r"order (?P<o>\S+): (?P<m>\w+) \((?P<b>(?:[^()]|\([^()]*\))+)\); corrected by its record of "
         r"(?P<t>\S+)", "{o}：{m:measure}（{b}）；已由其 {t} 的记录更正"),
        (r"order (?P<o>\S+): (?P<m>\w+) \((?P<b>(?:[^()]|\([^()]*\))+)\); the rectification deadline becomes "
         r"(?P<t>\S+)", "{o}：{m:measure}（{b}）；整改期限改为 {t}"),
        (r"ladder steps (?P<r>.+) withdrawn: ordered on (?P<t>\S+) to rectify by (?P<u>\S+)",
         "撤回 {r:rules}：已于 {t} 责令限期整改，期限至 {u}"),
        (r"ladder steps (?P<r>.+) withdrawn: the order corrected on (?P<t>\S+) left the deadline (?P<u>\S+)",
         "撤回 {r:rules}：责令已于 {t} 更正，整改期限为 {u}"),
        (r"order (?P<o>\S+): (?P<m>\w+) \((?P<b>(?:[^()]|\([^()]*\))+)\)", "{o}：{m:measure}（{b}）"),
        (r"order (?P<o>\S+) found violated: (?P<x>.*)", "{o} 未执行：{x}"),
        (r"order (?P<o>\S+) found violated after its lifting on (?P<t>\S+), so no order in force was: "
         r"(?P<x>.*)", "{o} 已于 {t} 解除，此后发现的未执行不构成违反在效决定：{x}"),
        (r"order (?P<o>\S+) lifted", "{o} 解除"),
        (r"order (?P<o>\S+): the transfer to the public security bureau withdrawn, as the violations found "
         r"since its lifting violated no order in force",
         "{o}：解除后发现的未执行不构成违反在效决定，撤回移送公安机关"),
        (r"order (?P<o>\S+): (?P<w>the transfer to the public security bureau"
         r"|the utility_stop_notice proposal"
         r"|the transfer to the public security bureau and the utility_stop_notice proposal) withdrawn, as "
         r"the violations found since it was found (?P<v>unfounded|duplicate) were on no hazard to rectify",
         "{o}：核实{v:verdict}后发现的未执行行为不针对须整改的隐患，撤回{w:taken}"),
        (r"order (?P<o>\S+): (?P<w>the transfer to the public security bureau"
         r"|the utility_stop_notice proposal"
         r"|the transfer to the public security bureau and the utility_stop_notice proposal) withdrawn, as "
         r"the verification of (?P<t>\S+) re-graded the hazard (?P<g>\w+), it is not held to be on a major "
         r"hazard",
         "{o}：经 {t} 核查改定为{g:grade}事故隐患，不再视为针对重大事故隐患，撤回{w:taken}"),
        (r"order (?P<o>\S+): (?P<w>the transfer to the public security bureau"
         r"|the utility_stop_notice proposal"
         r"|the transfer to the public security bureau and the utility_stop_notice proposal) withdrawn, as "
         r"the verification of (?P<t>\S+) found it (?P<v>unfounded|duplicate), it is not held to be on a "
         r"major hazard",
         "{o}：经 {t} 核查认定{v:verdict}，不再视为针对重大事故隐患，撤回{w:taken}"),
        (r"order (?P<o>\S+): the utility_stop_notice proposal withdrawn, as the violations found since its "
         r"lifting violated no order in force",
         "{o}：解除后发现的未执行不构成违反在效决定，撤回停止供电建议"),
        (r"order (?P<o>\S+): the transfer to the public security bureau and the utility_stop_notice proposal "
         r"withdrawn, as the violations found since its lifting violated no order in force",
         "{o}：解除后发现的未执行不构成违反在效决定，撤回移送公安机关及停止供电建议"),
        (r"proposal (?P<p>\S+) \((?P<m>\w+)\): no (?P<w>legal review \(法制审核\)|decision) on record by "
         r"(?P<t>\S+)", "执法建议 {p}（{m:measure}）截至 {t} 未见{w:owed}记录，已督办"),
        (r"proposal (?P<p>\S+) \((?P<m>\w+)\): no decision on record by (?P<t>\S+), its legal review "
         r"approved it on (?P<a>\S+)",
         "执法建议 {p}（{m:measure}）经法制审核于 {a} 通过，截至 {t} 未见执法决定记录，已督办"),
        (r"proposal (?P<p>\S+) \((?P<m>\w+)\): no (?P<w>legal review \(法制审核\)|decision) on record by "
         r"(?P<t>\S+), raised (?P<r>again \(\d+\)|late): the verification (?P<e>\S+) of (?P<u>\S+) found it "
         r"(?P<v>\w+) before then",
         "执法建议 {p}（{m:measure}）截至 {t} 未见{w:owed}记录，{r:raising}："
         "核实记录 {e}（{u}）在期限前认定{v:verdict}"),
        (r"proposal (?P<p>\S+) \((?P<m>\w+)\): no decision on record by (?P<t>\S+), its legal review "
         r"approved it on (?P<a>\S+), raised (?P<r>again \(\d+\)|late): the verification (?P<e>\S+) of "
         r"(?P<u>\S+) found it (?P<v>\w+) before then",
         "执法建议 {p}（{m:measure}）经法制审核于 {a} 通过，截至 {t} 未见执法决定记录，{r:raising}："
         "核实记录 {e}（{u}）在期限前认定{v:verdict}"),
        (r"proposal (?P<p>\S+) \((?P<m>\w+)\): no decision on record by (?P<t>\S+), its legal review "
         r"approved it on (?P<a>\S+), raised (?P<r>late): the review reached the engine on (?P<u>\S+)",
         "执法建议 {p}（{m:measure}）经法制审核于 {a} 通过，截至 {t} 未见执法决定记录，{r:raising}："
         "该审核记录于 {u} 送达引擎，晚于执法决定期限"),
        (r"proposal (?P<p>\S+): the escalation that (?P<w>it|its decision) was overdue withdrawn: found "
         r"(?P<v>unfounded|duplicate) on (?P<t>\S+)",
         "执法建议 {p}：已于 {t} 核实认定{v:verdict}，撤回{w:watch}"),
        (r"proposal (?P<p>\S+): the escalation that (?P<w>it|its decision) was overdue withdrawn: "
         r"(?P<k>legal review|penalty decision|order) made on (?P<t>\S+)",
         "执法建议 {p}：{k:answer}已于 {t} 作出，撤回{w:watch}"),
        (r"proposal (?P<p>\S+): the escalation that (?P<w>it|its decision) was overdue withdrawn: review "
         r"passed on (?P<t>\S+)",
         "执法建议 {p}：隐患已于 {t} 复查验收通过，撤回{w:watch}"),
        (r"proposal (?P<p>\S+) \((?P<m>\w+)\): no longer pressed, the hazard rectified and accepted on "
         r"(?P<t>\S+)",
         "执法建议 {p}（{m:measure}）不再督办：隐患已于 {t} 整改并复查验收通过"),
        (r"proposal (?P<p>\S+) \((?P<m>\w+)\): its decision no longer pressed, the hazard rectified and "
         r"accepted on (?P<t>\S+)",
         "执法建议 {p}（{m:measure}）的执法决定不再督办：隐患已于 {t} 整改并复查验收通过"),
        (r"penalty decision (?P<n>\S+): fine (?P<c>\d+) CNY \((?P<b>(?:[^()]|\([^()]*\))+)\)",
         "行政处罚决定 {n}：罚款 {c} 元（{b}）"),
        (r"legal review \(法制审核\) of proposal (?P<p>\S+): (?P<o>\w+)",
         "执法建议 {p} 法制审核：{o:outcome}"),
        (r"transferred to the public security bureau: (?P<x>.+)", "移送公安机关：{x}"),
        (r"extension requested until (?P<u>\S+) \((?P<n>\d+) working days left\)",
         "申请延期至 {u}（距期限 {n} 个工作日）"),
        (r"extension requested, but no deadline runs", "申请延期，但无进行中的期限"),
        (r"extension requested too late: deadline unchanged", "延期申请过晚，期限不变"),
        (r"extension decided before any valid request arrived: kept for its request",
         "延期决定先于有效申请到达，待申请到达后生效"),
        (r"extension rejected: deadline unchanged", "延期不予批准，期限不变"),
        (r"extension approved: new deadline (?P<t>\S+)", "延期批准，新期限 {t}"),
        # alerts (engine/alerts)
        (r"raised: (?P<k>\w+) in (?P<w>\w+), (?P<c>\w+)", "接报：{w:town}{k:kind}（{c:class}）"),
        (r"raised: (?P<k>\w+) in (?P<w>\w+), (?P<c>\w+) \(exercise\)",
         "接报：{w:town}{k:kind}（{c:class}，演练）"),
        (r"raised again: ignored \(the first raising stands\)", "重复接报，不予处理（以首次接报为准）"),
        (r"raised again: the enterprise (?P<n>.+) named, now (?P<c>\w+)",
         "重复接报：报明发生单位 {n}，现为{c:class}"),
        (r"raised again, dated earlier: the accident's time is now (?P<t>\S+)",
         "重复接报，时间更早：事发时间改为 {t}，各时限自此起算"),
        (r"raised again, dated earlier: the accident's time is now (?P<t>\S+); (?P<k>\w+) in (?P<w>\w+), "
         r"(?P<c>\w+)",
         "重复接报，时间更早：事发时间改为 {t}，各时限自此起算；"
         "以此次接报为准：{w:town}{k:kind}（{c:class}）"),
        (r"updated", "更新"),
        (r"updated: (?P<x>.*)", "更新：{x}"),
        (r"closed", "结案"),
        (r"acknowledged by (?P<u>\w+)", "{u:unit} 确认接警"),
        (r"reported to (?P<l>\w+) \((?P<u>\w+)\)", "已向{l:level}报告（{u:unit}）"),
        (r"response level (?P<l>[IV]+) \(activated\)", "启动 {l} 级响应"),
        (r"response level (?P<l>[IV]+) \(raised from (?P<f>[IV]+)\)", "响应级别由 {f} 级提升至 {l} 级"),
        (r"response level (?P<l>[IV]+) \(lowered from (?P<f>[IV]+)\)", "响应级别由 {f} 级降至 {l} 级"),
        (r"response level (?P<l>[IV]+) withdrawn: closed on (?P<t>\S+)",
         "撤回 {l} 级响应：警情已于 {t} 结束"),
        (r"handover steps (?P<r>.+) withdrawn: acknowledged by (?P<u>\w+) on (?P<t>\S+)",
         "撤回{r:rules}：{u:unit} 已于 {t} 签收"),
        (r"handover steps (?P<r>.+) withdrawn: closed on (?P<t>\S+)", "撤回{r:rules}：警情已于 {t} 结束"),
        (r"handover (?P<r>\S+) to (?P<x>.+)", "{r:rule}（{x}）"),
        (r"report to (?P<l>\w+) overdue", "向{l:level}报告超时"),
        (r"report to (?P<l>\w+) overdue: withdrawn, reported on (?P<t>\S+)",
         "撤回向{l:level}报告超时：已于 {t} 报告"),
        (r"report to (?P<l>\w+) overdue: withdrawn, closed on (?P<t>\S+)",
         "撤回向{l:level}报告超时：警情已于 {t} 结束"),
        (r"report to (?P<l>\w+) overdue: withdrawn, graded (?P<g>\w+) on (?P<t>\S+)",
         "撤回向{l:level}报告超时：已于 {t} 改定为{g:grade}事故"),
        (r"report to (?P<l>\w+) no longer demanded: graded (?P<g>\w+)",
         "不再需向{l:level}报告：改定为{g:grade}事故"),
        (r"493 art\. 10 notifications due", "应依 493 号令第十条通知有关部门"),
        (r"routed as non-production", "按非生产安全事件分送"),
        (r"disaster report (?P<k>\w+) from post (?P<p>[AB])", "灾情{k:report}（{p} 岗）"),
        (r"initial report asked of (?P<x>.+)", "催报灾情初报：{x}"),
        (r"daily report overdue", "灾情续报超时"),
        (r"daily reports overdue: (?P<n>\d+), from (?P<t>\S+) to (?P<u>\S+)",
         "灾情续报超时：自 {t} 至 {u} 共 {n} 日"),
        (r"final report overdue", "灾情核报超时"),
        (r"(?P<c>disaster_\w+) overdue of (?P<t>\S+): withdrawn, reported on (?P<u>\S+)",
         "撤回{c:clock}超时（{t}）：已于 {u} 报告"),
        (r"(?P<c>disaster_\w+) overdue of (?P<t>\S+): withdrawn, closed on (?P<u>\S+)",
         "撤回{c:clock}超时（{t}）：警情已于 {u} 结束"),
        (r"CAP Update #(?P<n>\d+)", "CAP 更新 #{n}"),
        # a key enterprise's inspection cycle, as its referral tells it (engine/enterprise/coverage.py)
        (r"coverage cycle started \(last inspection, or classification as a key enterprise\)",
         "检查周期开始（上次检查，或列为重点企业）"),
        (r"cycle ran out: the town safety office was told", "检查周期届满，已告知镇（街道）安监站"),
        (r"still not inspected: duty failure of (?P<d>\w+)", "仍未检查：{d:unit} 不履行安全监管职责"),
        # an enterprise's file (engine/enterprise/core.py, credit.py); a name as typed stays as typed
        (r"registered: (?P<n>.+) \((?P<s>\w+), (?P<t>\w+)\)", "登记：{n}（{s:sector}，{t:town}）"),
        (r"classified (?P<c>\w+), key enterprise \(重点企业\) by (?P<b>.+)",
         "风险等级评定为{c:risk}，列为重点企业（{b}）"),
        (r"classified (?P<c>\w+) by (?P<b>.+)", "风险等级评定为{c:risk}（{b}）"),
        (r"classification (?P<c>\w+) of (?P<t>\S+) recorded again: one decision",
         "{t} 的风险等级评定（{c:risk}）再次报送，只算一次"),
        (r"closed: (?P<r>.+)", "关闭：{r}"),
        (r"inspection (?P<i>\S+) \((?P<k>\w+)\): (?P<n>\d+) finding\(s\)",
         "{k:inspection} {i}：发现隐患 {n} 项"),
        (r"inspection (?P<i>\S+) \((?P<k>\w+), not law enforcement\): (?P<n>\d+) finding\(s\)",
         "{k:inspection} {i}（非执法检查）：发现隐患 {n} 项"),
        (r"inspection (?P<i>\S+) \((?P<k>\w+)\) REFUSED or obstructed \(拒绝、阻碍检查\), recorded again "
         r"so: the inspection of (?P<t>\S+) is no longer counted as done",
         "{k:inspection} {i}：拒绝、阻碍检查（已更正，{t} 的检查不再计为已检查）"),
        (r"inspection (?P<i>\S+) \((?P<k>\w+)\) REFUSED or obstructed \(拒绝、阻碍检查\)",
         "{k:inspection} {i}：拒绝、阻碍检查"),
        (r"inspection (?P<i>\S+) \((?P<k>\w+)\) recorded again: counted once",
         "{k:inspection} {i} 再次报送，只计一次"),
        (r"hazard (?P<h>\S+) opened \((?P<g>\w+)\)", "隐患 {h} 立案（{g:grade}）"),
        (r"hazard (?P<h>\S+) opened \(grade unknown\)", "隐患 {h} 立案（等级待核定）"),
        (r"hazard (?P<h>\S+) (?P<s>closed|unfounded|duplicate)", "隐患 {h}：{s:left}"),
        (r"alert (?P<a>\S+) raised \((?P<k>\w+)\)", "警情 {a}（{k:kind}）"),
        (r"enforcement proposal (?P<p>\S+): (?P<m>\w+) \(hazard (?P<h>\S+)\)",
         "执法建议 {p}：{m:measure}（隐患 {h}）"),
        (r"enforcement proposal (?P<p>\S+) withdrawn \(hazard (?P<h>\S+)\)", "撤回执法建议 {p}（隐患 {h}）"),
        (r"credit proposal (?P<p>\S+) \((?P<c>\w+)\): awaits a person's decision",
         "信用惩戒建议 {p}（{c:criterion}）：待人工决定"),
        (r"credit proposal (?P<p>\S+): (?P<o>\w+) by (?P<b>\S+) \((?P<n>.+)\), a proposal this file has not "
         r"made: unmatched, no list entry",
         "信用惩戒建议 {p}：{o:credit}（{b}，{n}），本档案未提出该建议：未匹配，不列入名单"),
        (r"credit proposal (?P<p>\S+): (?P<o>\w+) by (?P<b>\S+) \((?P<n>.+)\)",
         "信用惩戒建议 {p}：{o:credit}（{b}，{n}）"),
        (r"credit proposal (?P<p>\S+) withdrawn: inspection (?P<i>\S+) was recorded again as completed",
         "撤回信用惩戒建议 {p}：检查 {i} 已更正为完成检查"),
        (r"credit proposal (?P<p>\S+) withdrawn: its order was lifted before the violation",
         "撤回信用惩戒建议 {p}：违反的决定此前已解除"),
        (r"credit proposal (?P<p>\S+) withdrawn: hazard (?P<h>\S+) stood found unfounded or a duplicate when "
         r"the violation was found",
         "撤回信用惩戒建议 {p}：发现未执行行为时隐患 {h} 已核实为不属实或重复上报"),
        (r"credit proposal (?P<p>\S+) withdrawn: the deadline of hazard (?P<h>\S+) was extended before it",
         "撤回信用惩戒建议 {p}：隐患 {h} 的整改期限届满前已获批延期"),
        (r"credit proposal (?P<p>\S+) withdrawn: hazard (?P<h>\S+) was graded below major before its "
         r"deadline", "撤回信用惩戒建议 {p}：隐患 {h} 在整改期限届满前已核定为非重大事故隐患"),
        (r"credit proposal (?P<p>\S+) withdrawn: hazard (?P<h>\S+) was settled by its deadline "
         r"\((?P<w>[^)]+)\)",
         "撤回信用惩戒建议 {p}：隐患 {h} 已在期限内了结（{w:settled}）"),
        (r"referral (?P<r>\S+) withdrawn", "撤回移送 {r}"),
    ]
    return compiled(table)


_FIELD = re.compile(r"\{(?P<name>\w+)(?::(?P<kind>\w+))?\}")


def compiled(table: list[tuple[str, str]]) -> Shapes:
    """A table of (pattern, Chinese) as `read` uses it: each pattern matches a whole text, and each
    `{name:kind}` of its Chinese is split out once here, not at every reading."""
    return [(re.compile(pattern + r"\Z", re.DOTALL), _parts(chinese)) for pattern, chinese in table]


def _parts(chinese: str) -> Parts:
    parts: list[tuple[str, str | None]] = []
    at = 0
    for field in _FIELD.finditer(chinese):
        if field.start() > at:
            parts.append((chinese[at:field.start()], None))
        parts.append((field["name"], field["kind"] or ""))
        at = field.end()
    if at < len(chinese):
        parts.append((chinese[at:], None))
    return tuple(parts)


SHAPES = _shapes()
_SUBJECT = re.compile(r"(?P<id>[^\s:]+): (?P<rest>.+)\Z", re.DOTALL)


def in_chinese(line: str, say: Say) -> str | None:
    """`line` in Chinese, its values named by `say`; None when it has no known shape."""
    try:
        said = _sentence(line, say)
        subject = _SUBJECT.match(line) if said is None else None
        if subject is not None:  # a month's filing names each line's hazard first (one level only)
            rest = _sentence(subject["rest"], say)
            said = None if rest is None else f"{subject['id']}：{rest}"
    except Exception:  # noqa: BLE001 - the Chinese is a courtesy: no referral or page may fail for it
        return None
    return said


def _sentence(line: str, say: Say) -> str | None:
    """A line of the cores, with the note of a late arrival they may add at its end."""
    late = LATE.search(line)
    body = line[:late.start()] if late else line
    said = _one(body, say)
    if said is None and "; " in body:  # an extension request decided as it came
        parts = [_one(part, say) for part in body.split("; ")]
        said = None if None in parts else "；".join(p for p in parts if p is not None)
    if said is None:
        return None
    return said + (f"（{late['t']} 才送达引擎）" if late else "")


def _one(text: str, say: Say) -> str | None:
    return read(SHAPES, text, say)


def read(shapes: Iterable[tuple[re.Pattern[str], Parts]], text: str, say: Say) -> str | None:
    """`text` in Chinese by the first of `shapes` that matches it whole, each `{name:kind}` of its
    Chinese named by `say`; None when none does."""
    for pattern, parts in shapes:
        found = pattern.match(text)
        if found is not None:
            values = found.groupdict()
            return "".join([part if kind is None else say(kind, values[part]) if kind else values[part]
                            for part, kind in parts])  # a list: join makes one of a generator anyway
    return None
