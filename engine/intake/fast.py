"""A fast accept path for the commonest valid intake events; pydantic stays the judge of the rest.

Validating with pydantic, dumping the model and walking the dump to normalise
it cost most of intake's time per event. For the event types that make up most
of the traffic (a hazard reported or verified, an inspection recorded, a
rectification planned, progressed, completed or reviewed, an alert raised,
updated, acknowledged or closed) `accept` checks the common valid shape by
hand and builds the normalised event (`timeline.Normalised`) directly from the
parsed JSON.

It can only say *accept*. Whatever it does not recognise, or finds wrong in
any way, it hands back as None and the record goes through pydantic, which
gives the precise errors of a rejection. So it is deliberately narrower than
the contract: a structured record without headers, an envelope without
extension attributes or datacontenttype, a time in the plain RFC 3339 form.
A differential test over the fault suite's fuzz generator checks that both
paths give every record the same outcome and the same bytes.

The rules checked here are those of `engine/contract/common.py` and
`engine/contract/intake.py` for these types; a change there needs a change
here, and the differential test fails until both agree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, get_args

from engine.contract.common import KnownIds, Role, Sector, _deadline, in_span
from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS
from engine.contract.intake import AlertKind, IncidentClass
from engine.contract.roles import ROLES
from engine.contract.uscc import uscc_problem
from engine.intake.timeline import SHANGHAI, Normalised

ID, NON_EMPTY, URI = 200, 4000, 2000  # the contract's bounds on Id, NonEmpty and Uri strings
_tuple = tuple.__new__  # a NamedTuple made without its Python-level constructor (engine/intake/process.py)
_ENVELOPE = frozenset({"specversion", "id", "source", "type", "time", "subject", "data"})
# RFC 3339 as pydantic and `datetime.fromisoformat` both read it the same way: ASCII digits,
# a 'T', at most microseconds, and an offset within a day.
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
                   r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")
_SECTORS = frozenset(s.value for s in Sector)
_ROLES = frozenset(r.value for r in Role)
_ACTOR = frozenset({"id", "role", "name", "anonymous"})
_LOCATION = frozenset({"town", "community", "grid", "address", "lat", "lon"})
_ENTERPRISE = frozenset({"uscc", "name"})


class _No(Exception):
    """Not the common valid shape: pydantic decides."""


def _obj(value: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if type(value) is not dict or not value.keys() <= allowed:
        raise _No
    return value


def _text(value: Any, most: int) -> str:
    if type(value) is not str or not 1 <= len(value) <= most:
        raise _No
    return value


def _maybe_text(value: Any, most: int) -> str | None:
    return None if value is None else _text(value, most)


def _one_of(value: Any, allowed: frozenset[str]) -> str:
    if type(value) is not str or value not in allowed:
        raise _No
    return value


def _number(value: Any, low: float | None = None, high: float | None = None) -> float | None:
    if value is None:
        return None
    if type(value) is not float and type(value) is not int:  # a bool is neither
        raise _No
    if (low is not None and value < low) or (high is not None and value > high):
        raise _No
    return float(value)


def _deadline_text(value: Any) -> str:
    if type(value) is not str:
        raise _No
    parsed = _deadline(value)  # the contract's own reading; it raises on what it refuses
    if isinstance(parsed, datetime):
        return parsed.astimezone(SHANGHAI).isoformat()
    return parsed.isoformat()


def _evidence(value: Any) -> list[str]:
    if type(value) is not list or len(value) > 100:
        raise _No
    return [_text(v, URI) for v in value]


def _actor(value: Any) -> dict[str, Any]:
    # `_obj`, `_maybe_text` and `_one_of` written out: one to fifty actors an event, and each of
    # those calls cost about as much as its check.
    if type(value) is not dict or not value.keys() <= _ACTOR:
        raise _No
    actor_id, name, role = value.get("id"), value.get("name"), value["role"]
    anonymous = value.get("anonymous", False)
    if type(role) is not str or role not in _ROLES or type(anonymous) is not bool:
        raise _No
    if actor_id is not None and (type(actor_id) is not str or not 1 <= len(actor_id) <= ID):
        raise _No
    if name is not None and (type(name) is not str or not 1 <= len(name) <= NON_EMPTY):
        raise _No
    if (anonymous and (role != "public" or actor_id is not None or name is not None)) or (
            not anonymous and actor_id is None):
        raise _No
    return {"id": actor_id, "role": role, "name": name, "anonymous": anonymous}


def _actor_of(act: str, value: Any) -> dict[str, Any]:
    """An actor whose role may state `act` (engine/contract/roles.py); any other is pydantic's to refuse."""
    actor = _actor(value)
    if actor["role"] not in ROLES[act]:
        raise _No
    return actor


def _location(value: Any, known: KnownIds) -> dict[str, Any]:
    loc = _obj(value, _LOCATION)
    town = _text(loc["town"], ID)
    if known is not None and not known.has_town(town):
        raise _No
    lat, lon = loc.get("lat"), loc.get("lon")
    if lat is not None or lon is not None:  # most places give no coordinates
        lat, lon = _number(lat, -90, 90), _number(lon, -180, 180)
        if lat is None or lon is None:
            raise _No
    return {"town": town, "community": _maybe_text(loc.get("community"), ID),
            "grid": _maybe_text(loc.get("grid"), ID), "address": _maybe_text(loc.get("address"), NON_EMPTY),
            "lat": lat, "lon": lon}


@functools.lru_cache(maxsize=4096)
def _valid_uscc(code: str) -> bool:
    # The same few thousand enterprises report over and over: their checksums are worked out once.
    return uscc_problem(code) is None


def _enterprise(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    e = _obj(value, _ENTERPRISE)
    uscc = _text(e["uscc"], 18)
    if not _valid_uscc(uscc):
        raise _No
    return {"uscc": uscc, "name": _text(e["name"], NON_EMPTY)}


_REPORTED = frozenset({"hazard_id", "title", "description", "sector", "grade_claimed", "found_via",
                       "location", "enterprise", "reporter", "evidence", "rectify_by"})
_GRADES_CLAIMED = frozenset({"general", "major", "unknown"})
_FOUND_VIA = frozenset({"enforcement", "expert_check", "unannounced", "random_check",
                        "self_inspection", "grid_patrol", "public_report", "sensor"})


def _hazard_reported(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _REPORTED)
    return {"hazard_id": _text(d["hazard_id"], ID), "title": _text(d["title"], NON_EMPTY),
            "description": _text(d["description"], NON_EMPTY), "sector": _one_of(d["sector"], _SECTORS),
            "grade_claimed": _one_of(d["grade_claimed"], _GRADES_CLAIMED),
            "found_via": _one_of(d["found_via"], _FOUND_VIA), "location": _location(d["location"], known),
            "enterprise": _enterprise(d.get("enterprise")), "reporter": _actor(d["reporter"]),
            "evidence": _evidence(d.get("evidence", [])),
            "rectify_by": None if d.get("rectify_by") is None else _deadline_text(d["rectify_by"])}


_VERIFIED = frozenset({"hazard_id", "verdict", "grade", "duplicate_of", "lead_department", "by"})
_VERDICTS = frozenset({"confirmed", "unfounded", "duplicate"})
_GRADES = frozenset({"general", "major"})


def _hazard_verified(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _VERIFIED)
    hazard_id, verdict = _text(d["hazard_id"], ID), _one_of(d["verdict"], _VERDICTS)
    grade = None if d.get("grade") is None else _one_of(d["grade"], _GRADES)
    duplicate_of = _maybe_text(d.get("duplicate_of"), ID)
    department = _maybe_text(d.get("lead_department"), ID)
    by = _actor(d["by"])
    if by["role"] not in ROLES["verify"]:
        raise _No
    if department is not None and known is not None and not known.has_department(department):
        raise _No
    if ((verdict == "confirmed") != (grade is not None) or duplicate_of == hazard_id
            or (verdict == "duplicate") != (duplicate_of is not None)):
        raise _No
    return {"hazard_id": hazard_id, "verdict": verdict, "grade": grade, "duplicate_of": duplicate_of,
            "lead_department": department, "by": by}


_PLANNED = frozenset({"hazard_id", "plan_summary", "responsible_person", "funds_cny", "target_date", "by"})


def _planned(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _PLANNED)
    return {"hazard_id": _text(d["hazard_id"], ID), "plan_summary": _text(d["plan_summary"], NON_EMPTY),
            "responsible_person": _text(d["responsible_person"], NON_EMPTY),
            "funds_cny": _number(d.get("funds_cny"), 0), "target_date": _deadline_text(d["target_date"]),
            "by": _actor_of("rectify", d["by"])}


_PROGRESSED = frozenset({"hazard_id", "percent", "note", "by"})


def _progressed(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _PROGRESSED)
    percent = d["percent"]
    if type(percent) is not int or not 0 <= percent <= 100:
        raise _No
    return {"hazard_id": _text(d["hazard_id"], ID), "percent": percent, "note": _text(d["note"], NON_EMPTY),
            "by": _actor_of("rectify", d["by"])}


_COMPLETED = frozenset({"hazard_id", "note", "evidence", "by"})


def _completed(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _COMPLETED)
    return {"hazard_id": _text(d["hazard_id"], ID), "note": _text(d["note"], NON_EMPTY),
            "evidence": _evidence(d["evidence"]), "by": _actor_of("rectify", d["by"])}


_REVIEWED = frozenset({"hazard_id", "outcome", "note", "by"})
_OUTCOMES = frozenset({"passed", "failed"})
_OUTCOMES_SEEN = frozenset({"completed", "refused"})  # of an inspection


def _reviewed(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _REVIEWED)
    out = {"hazard_id": _text(d["hazard_id"], ID), "outcome": _one_of(d["outcome"], _OUTCOMES),
           "note": _text(d["note"], NON_EMPTY), "by": _actor(d["by"])}
    if out["by"]["role"] not in ROLES["review"]:
        raise _No
    return out


_FINDING = frozenset({"hazard_id", "sector", "grade", "clause", "description", "rectify_by", "immediate"})
_INSPECTION = frozenset({"inspection_id", "kind", "inspectors", "enterprise", "location", "findings",
                         "outcome"})
_KINDS = frozenset({"routine", "random_check", "unannounced", "special_campaign", "expert_check",
                    "follow_up"})


def _finding(value: Any) -> dict[str, Any]:
    f = _obj(value, _FINDING)
    immediate = f.get("immediate", False)
    if type(immediate) is not bool:
        raise _No
    return {"hazard_id": _text(f["hazard_id"], ID), "sector": _one_of(f["sector"], _SECTORS),
            "grade": _one_of(f["grade"], _GRADES), "clause": _text(f["clause"], NON_EMPTY),
            "description": _text(f["description"], NON_EMPTY),
            "rectify_by": None if f.get("rectify_by") is None else _deadline_text(f["rectify_by"]),
            "immediate": immediate}


def _inspection(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _INSPECTION)
    inspectors, findings = d["inspectors"], d["findings"]
    if type(inspectors) is not list or not 1 <= len(inspectors) <= 50:
        raise _No
    if type(findings) is not list or len(findings) > 500:
        raise _No
    kind, outcome = _one_of(d["kind"], _KINDS), _one_of(d.get("outcome", "completed"), _OUTCOMES_SEEN)
    enterprise = _enterprise(d["enterprise"])
    if enterprise is None:
        raise _No
    out = {"inspection_id": _text(d["inspection_id"], ID), "kind": kind,
           "inspectors": [_actor(a) for a in inspectors], "enterprise": enterprise,
           "location": _location(d["location"], known), "findings": [_finding(f) for f in findings],
           "outcome": outcome}
    # The model's own rules: two officers for law enforcement, who may be refused; one hazard a finding.
    officers = sum(1 for a in out["inspectors"] if a["role"] in ROLES["law_enforcement"])
    if (kind != "expert_check" and officers < 2) or (outcome == "refused" and (
            kind == "expert_check" or findings)):
        raise _No
    if len({f["hazard_id"] for f in out["findings"]}) != len(findings):
        raise _No
    return out


_COUNTS = ("dead", "missing", "seriously_injured", "injured", "trapped")  # Casualties, in its order
_CASUALTIES = frozenset(_COUNTS)
_ALERT_KINDS = frozenset(get_args(AlertKind))
_INCIDENT_CLASSES = frozenset(get_args(IncidentClass))
_POSTS = frozenset({"A", "B"})
_RAISED = frozenset({"alert_id", "kind", "location", "casualties", "estimated_loss_cny", "people_to_evacuate",
                     "crowded_place", "description", "reporter", "post", "exercise", "enterprise",
                     "incident_class"})
_UPDATED = frozenset({"alert_id", "casualties", "estimated_loss_cny", "people_to_evacuate", "note"})
_ACKNOWLEDGED = frozenset({"alert_id", "unit", "by"})
_CLOSED = frozenset({"alert_id", "note", "by"})


def _count(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= 1_000_000:  # the contract's Count
        raise _No
    return value


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise _No
    return value


def _casualties(value: Any) -> dict[str, int]:
    c = _obj(value, _CASUALTIES)
    return {name: _count(c.get(name, 0)) for name in _COUNTS}


def _maybe(check: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else check(value)


def _alert_raised(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _RAISED)
    return {"alert_id": _text(d["alert_id"], ID), "kind": _one_of(d["kind"], _ALERT_KINDS),
            "location": _location(d["location"], known), "casualties": _casualties(d.get("casualties", {})),
            "estimated_loss_cny": _number(d.get("estimated_loss_cny"), 0),
            "people_to_evacuate": _maybe(_count, d.get("people_to_evacuate")),
            "crowded_place": _flag(d.get("crowded_place", False)),
            "description": _text(d["description"], NON_EMPTY), "reporter": _actor(d["reporter"]),
            "post": _maybe(lambda p: _one_of(p, _POSTS), d.get("post")),
            "exercise": _flag(d.get("exercise", False)), "enterprise": _enterprise(d.get("enterprise")),
            "incident_class": _maybe(lambda c: _one_of(c, _INCIDENT_CLASSES), d.get("incident_class"))}


def _alert_updated(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _UPDATED)
    out = {"alert_id": _text(d["alert_id"], ID), "casualties": _maybe(_casualties, d.get("casualties")),
           "estimated_loss_cny": _number(d.get("estimated_loss_cny"), 0),
           "people_to_evacuate": _maybe(_count, d.get("people_to_evacuate")),
           "note": _maybe_text(d.get("note"), NON_EMPTY)}
    if all(out[k] is None for k in ("casualties", "estimated_loss_cny", "people_to_evacuate", "note")):
        raise _No  # the contract's empty_update
    return out


def _alert_acknowledged(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _ACKNOWLEDGED)
    return {"alert_id": _text(d["alert_id"], ID), "unit": _text(d["unit"], ID),
            "by": _actor_of("respond", d["by"])}


def _alert_closed(d: dict[str, Any], known: KnownIds) -> dict[str, Any]:
    _obj(d, _CLOSED)
    return {"alert_id": _text(d["alert_id"], ID), "note": _text(d["note"], NON_EMPTY),
            "by": _actor_of("respond", d["by"])}


_DATA: dict[str, Callable[[dict[str, Any], KnownIds], dict[str, Any]]] = {
    "safety.hazard.reported": _hazard_reported,
    "safety.hazard.verified": _hazard_verified,
    "safety.rectification.planned": _planned,
    "safety.rectification.progressed": _progressed,
    "safety.rectification.completed": _completed,
    "safety.rectification.reviewed": _reviewed,
    "safety.inspection.recorded": _inspection,
    "safety.alert.raised": _alert_raised,
    "safety.alert.updated": _alert_updated,
    "safety.alert.acknowledged": _alert_acknowledged,
    "safety.alert.closed": _alert_closed,
}


def accept(raw: dict[str, Any], topic: str, known: KnownIds, key: bytes | None) -> Normalised | None:
    """The normalised event if `raw` is one of the common valid shapes, else None (ask pydantic)."""
    try:
        type_name = raw.get("type")
        check = _DATA.get(type_name) if type(type_name) is str else None
        if check is None or not raw.keys() <= _ENVELOPE or raw.get("specversion") != "1.0":
            return None
        event_type = EVENT_TYPES[type_name]
        if topic in INTAKE_TOPICS and event_type.topic != topic:
            return None
        # `_text` of each, written out: these are read for every event.
        event_id, source, subject, time = raw["id"], raw["source"], raw["subject"], raw["time"]
        if (type(event_id) is not str or not 1 <= len(event_id) <= ID or type(source) is not str
                or not 1 <= len(source) <= 500 or type(subject) is not str or not 1 <= len(subject) <= ID):
            return None
        if key is not None and key != subject.encode("utf-8"):
            return None
        if type(time) is not str or not _TIME.fullmatch(time):
            return None
        data = check(raw["data"], known)
        if data[event_type.subject_field] != subject:
            return None
        # `tuple.__new__`, not Normalised's own constructor (a Python function): the same tuple, for less.
        return _tuple(Normalised, (event_type, source, event_id, subject, _shanghai_time(time), data))
    except Exception:  # noqa: BLE001 - anything unexpected is pydantic's to judge, never an accept
        return None


def _shanghai_time(time: str) -> str:
    """A time `_TIME` matched, in Asia/Shanghai as the timeline writes it (pydantic's reading)."""
    at = datetime.fromisoformat(time)  # also refuses what is no date, such as month 13
    in_span(at, "time")  # the contract's span of dates; it raises on a time outside it
    if time.endswith("+08:00") and len(time) == 25 and "1992" <= time < "2100":
        # Already Shanghai's own form: +08:00 has been its only offset since 1992 (engine/kernel/time.py).
        return time
    return at.astimezone(SHANGHAI).isoformat()

