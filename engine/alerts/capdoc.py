"""The CAP 1.2 document of each alert raised, updated or closed, for topic `alerts.cap`.

The document itself is built by engine.cap; this module decides when one is
due and fills it in from the alert. The output is an `Out` whose event is
`{"id": <CAP identifier>, "type": "cap", "time": <sent>, "xml": <document>}`:
the worker writes the XML's bytes as the record value, keyed by the alert id.

Each message's identifier is the rules' issuer code, the Beijing time of the
event it reports, a sequence number per alert (1, 2, 3...) and the alert's own
part (engine/cap/ident.py), so two alerts' messages of one second differ.
Events about an alert that arrive before its raising wait for it; once a
Cancel has gone out, later events send no CAP.

An Update or a Cancel names in `references` the raising message (the Alert)
and the message sent just before it, not every earlier one: two references,
however long the alert runs. CAP 1.2 (OASIS Standard, 1 July 2010), section
3.2.1, defines `references` as the extended identifiers (sender,identifier,sent)
of the earlier message or messages this one refers to, separated by
whitespace; an Update "updates and supercedes" the messages it references and
a Cancel cancels them. It does not ask for every earlier message. Each message
supersedes the one before it, so the chain from any message to the latest is
unbroken, and a consumer that keeps the current message of an incident
replaces it at every step; the Alert is named every time, so a consumer that
files messages under the one that opened the incident, or that missed some
updates, still finds where each one belongs. Naming every earlier message made
the 5,000th update of a long incident carry 5,000 references (docs/alerts.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from engine.alerts import emit
from engine.alerts.grade import Figures
from engine.alerts.rules import AlertRules
from engine.alerts.state import Alert
from engine.cap import CapMessage, cap_fields, event_text, identifier, msg_type_for, render
from engine.contract.outputs import ALERTS_CAP
from engine.kernel.outputs import Out
from engine.kernel.time import iso

STATES = ("raised", "updated", "closed")  # the event types that send a CAP document


def on_event(a: Alert, state: str, at: int, event_id: str, rules: AlertRules) -> list[Out]:
    """The CAP documents an applied event sends now (several when a raising releases waiting ones)."""
    if state not in STATES:
        return []
    if a.opened is None:
        a.waiting.append([at, event_id, state])
        return []
    if state != "raised":
        return _send(a, state, at, rules)
    if a.opened != event_id or a.caps:
        return []  # a second raising of the same alert
    outs = _send(a, "raised", a.opened_at, rules)
    for w_at, _, w_state in sorted(a.waiting, key=lambda w: w[0]):
        outs += _send(a, w_state, w_at, rules)
    a.waiting = []
    return outs


# The state keeps the first message and the latest (bounds.py); every other one is an item of the
# alert's history: at the time it was sent, under its identifier, "CAP Update #3".
_SENT = re.compile(r"CAP (Alert|Update|Cancel) #(\d+)")


def history_item(cap: tuple[Any, ...]) -> list[Any]:
    """The history's item for a CAP message the state no longer keeps: (sequence, identifier,
    sent, type) -> [sent, identifier, what]."""
    sequence, ident, at, msg_type = cap
    return [at, ident, f"CAP {msg_type} #{sequence}"]


def sent(timeline: list[list[Any]], caps: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Every CAP message sent about an alert, by sequence: (sequence, identifier, sent, type):
    those its history records and the first and the latest, which its state keeps."""
    found = {c[0]: tuple(c) for c in caps}
    for at, ident, what in timeline:
        m = _SENT.fullmatch(what)
        if m:
            found[int(m[2])] = (int(m[2]), ident, at, m[1])
    return [found[seq] for seq in sorted(found)]


def references(caps: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The messages a new Update or Cancel names: the raising message and the latest (see above)."""
    return caps[:1] + caps[-1:] if len(caps) > 1 else caps[:1]


def _send(a: Alert, state: str, at: int, rules: AlertRules) -> list[Out]:
    if a.caps and a.caps[-1][3] == "Cancel":  # nothing goes out after a Cancel, so it is the latest
        return []
    cap = rules.cap
    # CAP 1.2 3.2.1: `sent` is when the message originated, and each one supersedes those before it:
    # a message never claims to precede the one it references, even for an event dated earlier
    # whose record came later (a close recorded late is sent with the latest Update's time at least).
    at = max(at, a.caps[-1][2]) if a.caps else at
    sent = datetime.fromtimestamp(at, UTC)
    sequence = a.caps[-1][0] + 1 if a.caps else 1  # the state keeps the first and the latest
    ident = identifier(cap.issuer_code, sent, sequence, a.id)
    category, urgency, severity, certainty = cap_fields(a.level, state, a.kind)
    place, figures = emit.place(a, rules), a.figures()
    headline, description = _words(a, state, rules, place, figures)
    kind = rules.kinds[a.kind]
    loc = a.location or {}
    circle = (loc["lat"], loc["lon"], cap.circle_radius_km) if loc.get("lat") is not None else None
    msg = CapMessage(
        identifier=ident, sender=cap.sender, sent=sent,
        status="Exercise" if a.exercise else "Actual", msg_type=msg_type_for(state),
        references=tuple((cap.sender, c[1], datetime.fromtimestamp(c[2], UTC)) for c in references(a.caps)),
        event=event_text(a.kind), category=category, urgency=urgency, severity=severity,
        certainty=certainty, headline=headline, description=description,
        instruction=kind.instruction if state != "closed" else None,
        area_desc=place, circle=circle, parameters=_parameters(a, rules, figures),
        sender_name=cap.sender_name, note="演练 Exercise" if a.exercise else None)
    row = (sequence, ident, at, msg.msg_type)
    if len(a.caps) > 1:  # the latest makes way for this one: the history records it
        a.history.append(history_item(a.caps[-1]))
    a.caps = [a.caps[0], row] if a.caps else [row]  # the first and the latest (bounds.py)
    event: dict[str, Any] = {"id": ident, "type": "cap", "time": iso(at),
                             "xml": render(msg).decode("utf-8")}
    return [Out(ALERTS_CAP, a.id, event)]


def _words(a: Alert, state: str, rules: AlertRules, place: str, f: Figures) -> tuple[str, str]:
    kind = rules.kinds[a.kind]
    town = rules.reference.towns.get(a.town() or "")
    where = town.name if town else a.town()
    grade = rules.grade(a.grade) if a.grade else None
    tag = {"raised": "", "updated": "（更新 update）", "closed": "（结束 closed）"}[state]
    headline = (f"{where}{kind.name}{tag}：{a.level}级响应 / {kind.name_en.capitalize()} in {where}, "
                f"response level {a.level}" + (" (closed)" if state == "closed" else ""))
    people = (f"死亡{f.dead}人、失踪{f.missing}人、重伤{f.seriously_injured}人、轻伤{f.injured}人、"
              f"被困{f.trapped}人")
    english = (f"{f.dead} dead, {f.missing} missing, {f.seriously_injured} seriously injured, "
               f"{f.injured} injured, {f.trapped} trapped")
    if f.loss_cny is not None:
        people += f"，直接经济损失约{f.loss_cny:,.0f}元"
        english += f", direct loss about {f.loss_cny:,.0f} CNY"
    if f.evacuate is not None:
        people += f"，需疏散{f.evacuate}人"
        english += f", {f.evacuate} to evacuate"
    graded = f"{grade.name}，" if grade else ""
    description = (f"{place}发生{kind.name}。{people}。{graded}启动{a.level}级应急响应。"
                   f"{a.description}\n{kind.name_en.capitalize()}: {english}. "
                   f"{grade.name_en.capitalize() + ', ' if grade else ''}response level {a.level}.")
    return headline, description


def _parameters(a: Alert, rules: AlertRules, f: Figures) -> tuple[tuple[str, str], ...]:
    params = [("alertId", a.id), ("kind", a.kind or ""), ("grade", a.grade or ""),
              ("responseLevel", a.level or ""), ("dead", str(f.dead)), ("missing", str(f.missing)),
              ("seriouslyInjured", str(f.seriously_injured)), ("injured", str(f.injured)),
              ("trapped", str(f.trapped))]
    if f.loss_cny is not None:
        params.append(("estimatedLossCny", f"{f.loss_cny:.2f}"))
    if f.evacuate is not None:
        params.append(("peopleToEvacuate", str(f.evacuate)))
    return (*params, ("ruleId", rules.cap.rule_id), ("rulesVersion", rules.version))
