"""A referral's reason in Chinese (`reason_zh`), read back from the engine's English sentence.

Discipline inspection staff read Chinese: each referral and each withdrawal of
one carries its reason in Chinese beside the English, wherever the reason's
shape is known (engine/zh/reason.py). A reason of a shape nobody taught it gets
no `reason_zh`, never a wrong one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.alerts import load_alert_rules
from engine.contract.outputs import OUTPUT_TYPES
from engine.kernel.outputs import Out, envelope
from engine.kernel.referral import withdrawal
from engine.ruleset import load_rules
from engine.ruletest.run import run_file
from engine.settings import REPO_ROOT
from engine.zh.words import Words

RULES = load_rules(REPO_ROOT / "rules")
ALERT_RULES = load_alert_rules(REPO_ROOT / "rules", RULES.reference)
ZH = Words("zh", RULES.reference)
ENGLISH = re.compile(r"\b(failed|within|was|the|of|on|deadline|record|after|times?)\b")


def _referrals() -> list[dict]:
    tests = sorted((REPO_ROOT / "rules" / "tests").glob("*.yaml"))
    tests += sorted((REPO_ROOT / "rules" / "tests" / "alerts").glob("*.yaml"))
    sent = []
    for path in tests:
        result = run_file(Path(path), RULES, ALERT_RULES)
        sent += [g.out.event for g in result.got if g.out.event["type"] in
                 ("safety.referral.discipline", "safety.referral.withdrawn")]
    return sent


def test_every_referral_and_withdrawal_the_shipped_rule_tests_send_gives_its_reason_in_chinese() -> None:
    sent = _referrals()
    assert len(sent) >= 18 and any(e["type"] == "safety.referral.withdrawn" for e in sent)
    unread = sorted({e["data"]["reason"] for e in sent if "reason_zh" not in e["data"]})
    assert unread == [], "reasons no shape of engine/zh/reason.py reads"
    for event in sent:
        OUTPUT_TYPES[event["type"]][1].model_validate(event["data"])
        said = event["data"]["reason_zh"]
        assert not ENGLISH.search(said), said  # read whole, no English part left over


@pytest.mark.parametrize(("reason", "said"), [
    ("fire_rescue failed its duty on this hazard 2 times (不履行安全监管职责), last: the extension request "
     "on HZ-1 was not decided within 24 hours",
     "区消防救援大队 在本隐患上 2 次不履行安全监管职责，最近一次：隐患 HZ-1 的延期申请未在 24 小时内审批"),
    ("fire_rescue failed its duty on this hazard 1 times (不履行安全监管职责), last: the completion claim on "
     "HZ-2 was not reviewed within 5 working days of reaching the engine on 2026-11-09T09:00:00+08:00 "
     "(its own time: 2026-11-02T09:00:00+08:00)",
     "区消防救援大队 在本隐患上 1 次不履行安全监管职责，最近一次：隐患 HZ-2 的整改完成申报未在自 "
     "2026-11-09T09:00:00+08:00 送达引擎起 5 个工作日内复查验收（记录自身时间 2026-11-02T09:00:00+08:00）"),
    ("unknown_dept failed its duty on this hazard 1 times (不履行安全监管职责), last: HZ-3 was not verified "
     "within 3 working days",  # a department the reference does not name keeps its id
     "unknown_dept 在本隐患上 1 次不履行安全监管职责，最近一次：隐患 HZ-3 未在 3 个工作日内核实"),
])
def test_each_shape_of_a_hazards_referral_reads(reason: str, said: str) -> None:
    assert ZH.reason(reason) == said


def test_a_reason_of_no_known_shape_gets_no_chinese_and_the_english_board_none() -> None:
    assert ZH.reason("a district's own sentence about a referral") is None
    # a known opening with an unknown last failure keeps that part as written, never a guess
    said = ZH.reason("fire_rescue failed its duty on this hazard 1 times (不履行安全监管职责), "
                     "last: something new")
    assert said == "区消防救援大队 在本隐患上 1 次不履行安全监管职责，最近一次：something new"
    assert Words("en", RULES.reference).reason("the record E-1 shows the duty done in time; it reached "
                                               "the engine after the referral was sent") is None


def test_a_withdrawal_carries_its_own_reason_in_chinese_never_the_referrals() -> None:
    data = {"referral_id": "r-1", "subject_kind": "hazard", "subject_id": "HZ-1",
            "respondents": [{"kind": "department", "id": "fire_rescue", "name": "区消防救援大队"}],
            "grounds": "duty_failure", "reason": "old", "reason_zh": "旧的理由", "timeline": [],
            "rules_version": "v"}
    sent = Out("referrals.discipline", "HZ-1", envelope("safety.referral.discipline", "r-1", "HZ-1", 0, data))
    assert "reason_zh" not in withdrawal(sent, "a reason of no known shape", 10).event["data"]
    assert withdrawal(sent, "why", 10, "为何").event["data"]["reason_zh"] == "为何"
