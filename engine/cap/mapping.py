"""How an alert's response level, lifecycle state and kind become CAP 1.2 values.

Severity follows the response level (响应级别) the rules assign, because the
level is already the district's judgement of how grave the incident is:

    I   -> Extreme    (特别重大: extraordinary threat to life or property)
    II  -> Severe     (重大: significant threat)
    III -> Moderate   (较大: possible threat)
    IV  -> Minor      (一般: minimal to no known threat)
    None (no level yet) -> Unknown

Urgency is Immediate while the alert is open ("raised", "updated"): a first
responder is reporting something happening now and responders should act now.
It is Past once the alert is "closed", since CAP's Past means responsive action
is no longer required.

Certainty is Observed in every state: the source is a first responder on the
scene (网格员, 灾害信息员) reporting an incident that has happened, which is
CAP's "determined to have occurred or to be ongoing", not a forecast.

msgType is Alert when raised, Update when updated and Cancel when closed, as
the engine's contract asks; the Cancel keeps urgency Past so a recipient that
shows it still reads as "over", not as "retracted in error".

Category comes from the kind (CAP 1.2 section 3.2.2 defines the values):

    fire, explosion                  -> Fire       fire suppression and rescue lead; an
                                                   industrial explosion is fought as a fire,
                                                   CBRNE is for explosive threats and attacks
    hazardous_chemical_leak,
    gas_leak, co_poisoning           -> CBRNE      chemical release or exposure: responders
                                                   need protective equipment and detection
    drowning                         -> Rescue     rescue and recovery of people
    flood                            -> Met        CAP's own definition: "Met - Meteorological
                                                   (inc. flood)"; Geo is geophysical (inc. landslide)
    structural_collapse              -> Infra      non-transport infrastructure
    traffic                          -> Transport  public and private transportation
    crowd_crush, special_equipment   -> Safety     general emergency and public safety
    other                            -> Other
"""

from __future__ import annotations

# Chinese first (the district's language), English after, so one string serves both.
EVENTS: dict[str, str] = {
    "fire": "火灾 Fire",
    "explosion": "爆炸 Explosion",
    "hazardous_chemical_leak": "危险化学品泄漏 Hazardous chemical leak",
    "gas_leak": "燃气泄漏 Gas leak",
    "co_poisoning": "一氧化碳中毒 CO poisoning",
    "drowning": "溺水 Drowning",
    "flood": "洪涝 Flood",
    "structural_collapse": "建筑坍塌 Structural collapse",
    "traffic": "交通事故 Traffic accident",
    "crowd_crush": "拥挤踩踏 Crowd crush",
    "special_equipment": "特种设备事故 Special equipment accident",
    "other": "其他 Other",
}

CATEGORY: dict[str, str] = {
    "fire": "Fire",
    "explosion": "Fire",
    "hazardous_chemical_leak": "CBRNE",
    "gas_leak": "CBRNE",
    "co_poisoning": "CBRNE",
    "drowning": "Rescue",
    "flood": "Met",
    "structural_collapse": "Infra",
    "traffic": "Transport",
    "crowd_crush": "Safety",
    "special_equipment": "Safety",
    "other": "Other",
}

SEVERITY: dict[str, str] = {"I": "Extreme", "II": "Severe", "III": "Moderate", "IV": "Minor"}

URGENCY: dict[str, str] = {"raised": "Immediate", "updated": "Immediate", "closed": "Past"}

MSG_TYPE: dict[str, str] = {"raised": "Alert", "updated": "Update", "closed": "Cancel"}


def cap_fields(level: str | None, state: str, kind: str) -> tuple[str, str, str, str]:
    """Return (category, urgency, severity, certainty) for an alert's level, state and kind."""
    if kind not in CATEGORY:
        raise ValueError(f"unknown alert kind {kind!r}")
    if state not in URGENCY:
        raise ValueError(f"unknown alert state {state!r}; expected one of {sorted(URGENCY)}")
    if level is None:
        severity = "Unknown"
    elif level in SEVERITY:
        severity = SEVERITY[level]
    else:
        # A level that is neither absent nor I..IV is a bug upstream; saying "Unknown"
        # would hide it from the responders who read the severity.
        raise ValueError(f"unknown response level {level!r}; expected None or one of I, II, III, IV")
    return CATEGORY[kind], URGENCY[state], severity, "Observed"


def event_text(kind: str) -> str:
    """Return the bilingual CAP <event> text for an alert kind."""
    try:
        return EVENTS[kind]
    except KeyError:
        raise ValueError(f"unknown alert kind {kind!r}") from None


def msg_type_for(state: str) -> str:
    """Return the CAP msgType for an alert's state: Alert, Update or Cancel."""
    try:
        return MSG_TYPE[state]
    except KeyError:
        raise ValueError(f"unknown alert state {state!r}; expected one of {sorted(MSG_TYPE)}") from None
