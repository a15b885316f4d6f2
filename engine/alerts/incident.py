"""What an incident's class (incident_class) brings beyond its response level.

- A production-safety accident (生产安全事故, 493号令 art. 2) is graded and
  reported up the levels (core.py, clocks.py) once its figures show death,
  injury or direct loss; when it is, the public security
  organ, the human resources and social security department, the trade union
  and the procuratorate are notified at the same time (art. 10). That notice
  goes out once, on `notifications`; a drill (演练) sends none.
- A non-production incident (非生产类: carbon-monoxide poisoning at home,
  drowning, rural road accidents) gets no 493 grade and no report clocks; it
  goes once to the town and the sector's department (an escalation `notify`).
- A natural disaster gets the disaster-report clocks (disaster.py).
"""

from __future__ import annotations

from engine.alerts import emit
from engine.alerts.rules import AlertRules, words
from engine.alerts.state import Alert
from engine.contract.outputs import NOTIFICATIONS
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.time import after, iso
from engine.zh.words import Words

CLASS_NAMES = {"production_accident": "production-safety accident (生产安全事故)",
               "non_production": "non-production incident (非生产类)",
               "natural_disaster": "natural disaster (自然灾害)", "": "unclassified incident"}


def on_settle(a: Alert, rules: AlertRules, at: int, cause: str) -> list[Out]:
    """The once-only notices of the alert's class, sent when it is first settled.

    A drill (演练) sends no art. 10 notice: no accident happened, so the law asks nothing of the
    public security organ, the procuratorate and the others, and `notifications` carries only
    notices the law requires (contract section 4), with no field to mark one as an exercise.
    """
    if a.incident_class == "production_accident" and a.demanded and not a.notified and not a.exercise:
        a.notified = True
        return [_notification(a, rules, at, cause)]
    if a.incident_class == "non_production" and not a.routed:
        a.routed = True
        return [_route(a, rules, at, cause)]
    return []


def _notification(a: Alert, rules: AlertRules, at: int, cause: str) -> Out:
    n = rules.notify_accident
    nid = output_id("notification", a.id, n.rule_id)
    recipients = emit.resolve_all(n.recipients, a, rules)
    grade = rules.grade(a.grade).name if a.grade else "the accident"
    # From the accident: the moment its figures first showed harm (core.assess), most often the raising.
    due = after(n.within, min(a.demanded.values()), rules).at
    reason = (f"{grade} {a.id} at {emit.place(a, rules)} is a production-safety accident: when it is "
              f"reported up the levels, notify {', '.join(r['name'] or r['id'] for r in recipients)} "
              f"at the same time (within {words(n.within)} of the accident)")
    a.history.append([at, cause, "493 art. 10 notifications due"])
    data = {"notification_id": nid, "subject_kind": "alert", "subject_id": a.id,
            "recipients": recipients, "legal_basis": n.source,
            "reason": reason, "due_at": iso(due),
            "incident_class": a.incident_class, "grade": a.grade, "town": a.town(),
            "rule_id": n.rule_id, "rules_version": rules.version, "caused_by": [cause]}
    Words("zh", rules.reference).said(data)
    return Out(NOTIFICATIONS, a.id, envelope("safety.notification.due", nid, a.id, at, data))


def _route(a: Alert, rules: AlertRules, at: int, cause: str) -> Out:
    targets = emit.resolve_all(rules.route(a.kind or ""), a, rules)
    kind = rules.kinds[a.kind]
    reason = (f"{kind.name} ({kind.name_en}) at {emit.place(a, rules)} is a non-production incident "
              f"(非生产类): no 493号令 grade or report clocks; it goes to "
              f"{', '.join(t['name'] or t['id'] for t in targets)} at response level {a.level}")
    a.history.append([at, cause, "routed as non-production"])
    return emit.escalation(a, rules, rule_id=rules.non_production_rule, action="notify", at=at,
                           targets=targets, reason=reason, key=("route",), caused_by=[cause])
