"""First-responder alerts (突发事件): incident class, accident grade and response level, the duty
officers' handover (应急值守), the accident-report clocks of production accidents, the
disaster-report clocks of natural disasters (灾害信息员 A、B 岗 report them), and a CAP 1.2
document for each alert raised, updated or closed.

A pure core, as for hazards (engine/decide/):

    alert_rules = load_alert_rules(Path("rules"), rules.reference)
    state, outs = decide_alert(state, entry, alert_rules)   # timeline entries with subject_kind "alert"

State is stored as `Alert.encode()` (engine.store.pack works on it too) and read
back with `Alert.decode`; `state.next_due()` feeds the deadline index, and the
timer publishes `alert_clock_entry(alert_id, due)` when it comes. An output on
`alerts.cap` carries `{"id", "type": "cap", "time", "xml"}`: write
`event["xml"]` as UTF-8 bytes, keyed by the alert id; every other output is a
CloudEvent written as JSON, as for hazards.
"""

from engine.alerts.core import decide_alert
from engine.alerts.grade import Figures, classify, level_for
from engine.alerts.replay import AlertReplay, alert_clock_entry
from engine.alerts.rules import AlertRules, load_alert_rules
from engine.alerts.state import Alert

__all__ = ["Alert", "AlertReplay", "AlertRules", "Figures", "alert_clock_entry", "classify",
           "decide_alert", "level_for", "load_alert_rules"]
