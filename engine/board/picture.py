"""What the board shows, computed from the feeds' state views within one scope.

Pure: views in (as `engine.feeds.views` makes them), plain data out. Every
function takes the already scope-filtered views from `visible`, so a count, a
heat-table cell or a map point can only be made of what the scope allows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.contract.outputs import TIERS

CLOSED_HAZARD = frozenset({"closed", "unfounded", "duplicate", "orphan"})
OPEN_ALERT = frozenset({"open", "acknowledged"})
NO_TIER = "none"  # a hazard no rule has escalated yet
NO_SECTOR = "-"
DAY = 86400
HOUR = 3600


def is_open(view: Mapping[str, Any]) -> bool:
    """Whether a hazard or alert view is still open."""
    if view.get("kind") == "alert":
        return view.get("status") in OPEN_ALERT
    return view.get("status") not in CLOSED_HAZARD


def reporting(view: Mapping[str, Any]) -> bool:
    """Whether an alert is closed while its statutory reports are not done with: a report clock of
    it still runs, or a report it missed is still not made (`reports_owed`). The duty to report an
    accident up the chain (493号令) or a disaster's final figures outlives the response, so the board
    keeps it until the clocks stop and every missed report is made late (补报, 核报)."""
    return view.get("kind") == "alert" and view.get("status") == "closed" \
        and bool(view.get("clocks") or view.get("reports_owed"))


def epoch(text: str | None) -> float | None:
    """An ISO-8601 time of a view as epoch seconds (None stays None)."""
    return datetime.fromisoformat(text).timestamp() if text else None


def seconds_left(deadline: str | None, now: float) -> float | None:
    """Seconds from `now` to a deadline; zero or less once it has passed (None: no deadline)."""
    due = epoch(deadline)
    return None if due is None else due - now


def time_left(seconds: float | None) -> tuple[str, int] | None:
    """A deadline's distance in the unit a reader needs: ("days", n) while a whole day or more is
    left (rounded down: one day and 23 hours is 1), ("hours", n) on its last day (less than an hour
    is 0), and ("overdue_days", n) or ("overdue_hours", n) once it has passed (n at least 1: a
    deadline passed a minute ago is an hour overdue, never "0 days left")."""
    if seconds is None:
        return None
    if seconds > 0:
        return ("days", int(seconds // DAY)) if seconds >= DAY else ("hours", int(seconds // HOUR))
    late = -seconds
    return ("overdue_days", int(late // DAY)) if late >= DAY else ("overdue_hours", int(late // HOUR) + 1)


def has_missed_cycles(view: Mapping[str, Any]) -> bool:
    """Whether an enterprise's file names a key-enterprise cycle that ran out uninspected."""
    return bool(view.get("missed_cycles"))


# Where what a hazard keeps among its referrals goes: to discipline inspection (纪委监委, a
# department's duty failure or a missed listed deadline), to the district's commission to pass on
# to the one with jurisdiction (a branch of a city bureau's or a vertically managed body's officials,
# 管理权限), to the public security bureau (行刑衔接, the enterprise) or, as a proposal, to the
# department that may order the power supply stopped.
REFERRED_TO = ("discipline", "discipline_forwarded", "judicial", "enforcement")


def referred_to(tag: str, view: Mapping[str, Any]) -> str:
    """Which of REFERRED_TO a referral tag of hazard `view` goes to: as the view says (by the rules
    in force, `referral_destination`), else, for a view of before it said, by the shipped rule ids."""
    said = (view.get("referrals_to") or {}).get(tag)
    if said in REFERRED_TO:
        return str(said)
    rule_id = tag.partition(":")[0]
    if rule_id.startswith("judicial."):
        return "judicial"
    if rule_id == "utility_stop_notice" or rule_id.startswith("enforcement."):
        return "enforcement"
    return "discipline"


def referrals(hazards: Iterable[Mapping[str, Any]], enterprises: Iterable[Mapping[str, Any]]
              ) -> list[dict[str, Any]]:
    """The referrals that stand, sent or held, each with its subject and where it went (`to`, one of
    REFERRED_TO; a hazard's to several places gives a row for each): a hazard's (its grounds), and
    an enterprise's missed key-enterprise cycles (the department that failed its duty, to discipline
    inspection). Withdrawn ones are not among them; a held one says when its hold ends."""
    rows = []
    for h in hazards:
        held = [dict(x) for x in h.get("referrals_held") or ()]
        grounds = list(h.get("referrals") or ())
        for to in REFERRED_TO:
            mine = [g for g in grounds if referred_to(g, h) == to]
            kept = [x for x in held if referred_to(x["ground"], h) == to]
            if mine or kept:
                rows.append({"kind": "hazard", "id": h["id"], "town": h.get("town"), "to": to,
                             "grounds": mine, "held": kept})
    for e in enterprises:
        cycles = [m for m in e.get("missed_cycles") or () if m.get("referral") in ("sent", "held")]
        if cycles:
            sent = dict.fromkeys(m["ground"] for m in cycles if m["referral"] == "sent")  # once a department
            rows.append({"kind": "enterprise", "id": e["id"], "name": e.get("name"), "town": e.get("town"),
                         "to": "discipline", "grounds": list(sent),
                         "held": [{"ground": m["ground"], "until": m.get("held_until")}
                                  for m in cycles if m["referral"] == "held"]})
    return sorted(rows, key=lambda r: (r["kind"] != "hazard", r["id"], REFERRED_TO.index(r["to"])))


def summary(hazards: list[dict[str, Any]], alerts: list[dict[str, Any]], now: float,
            enterprises: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The board's numbers and lists, from views already filtered by `visible`."""
    open_h = [h for h in hazards if is_open(h)]
    tiers = Counter(h.get("tier") or NO_TIER for h in open_h)
    overdue = Counter((h.get("town") or "", h.get("sector") or NO_SECTOR)
                      for h in open_h if h.get("overdue"))
    listed = sorted(
        ({"id": h["id"], "town": h.get("town"), "notice_no": h["listed"]["notice_no"],
          "deadline": h["listed"]["deadline"], "seconds_left": seconds_left(h["listed"]["deadline"], now)}
         for h in open_h if h.get("listed") and h["listed"].get("active")),
        key=lambda x: (x["seconds_left"] is None, x["seconds_left"] or 0, x["id"]))
    open_a = sorted((a for a in alerts if is_open(a) or reporting(a)), key=lambda a: a["id"])
    return {
        "open_hazards": len(open_h),
        "by_tier": {t: tiers.get(t, 0) for t in (*reversed(TIERS), NO_TIER)},
        "by_state": dict(sorted(Counter(h.get("status") for h in hazards).items())),
        "overdue": [{"town": t, "sector": s, "count": n} for (t, s), n in sorted(overdue.items())],
        "listed": listed,
        "referrals": referrals(hazards, enterprises),
        "alerts": open_a,
        "hazards": sorted(open_h, key=list_order),
    }


# The groups of the board's hazard list, in the order a supervisor must see them: listed for
# supervision (挂牌督办), then major (重大事故隐患, or claimed so before verification), then overdue,
# then the rest. A hazard goes in the first group it belongs to.
PRIORITY = ("listed", "major", "overdue", "rest")


def priority(h: Mapping[str, Any]) -> str:
    """Which of PRIORITY an open hazard's view belongs to."""
    if (h.get("listed") or {}).get("active"):
        return "listed"
    if h.get("grade") == "major":
        return "major"
    return "overdue" if h.get("overdue") else "rest"


def list_order(h: Mapping[str, Any]) -> tuple[int, float, str]:
    """The sort key of the board's hazard list: its PRIORITY group, then newest reported first
    (one with no report time last in its group), then by id."""
    reported = epoch(h.get("reported_at"))
    return PRIORITY.index(priority(h)), -reported if reported is not None else math.inf, h["id"]


def heat(hazards: list[dict[str, Any]], alerts: list[dict[str, Any]]
         ) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, int]]]:
    """Open hazards by town × sector × tier, and open alerts by town as the column `alerts`.

    Returns the towns (rows), the columns (sectors, then `alerts`) and the cells,
    each a count per tier (NO_TIER for hazards no rule has escalated; `alerts` for alerts).
    """
    cells: dict[tuple[str, str], Counter[str]] = {}
    for h in hazards:
        if is_open(h):
            key = (h.get("town") or "", h.get("sector") or NO_SECTOR)
            cells.setdefault(key, Counter())[h.get("tier") or NO_TIER] += 1
    for a in alerts:
        if is_open(a):
            cells.setdefault((a.get("town") or "", "alerts"), Counter())["alerts"] += 1
    towns = sorted({t for t, _ in cells})
    sectors = sorted({s for _, s in cells if s != "alerts"})
    columns = [*sectors, *(["alerts"] if any(s == "alerts" for _, s in cells) else [])]
    return towns, columns, {k: dict(v) for k, v in cells.items()}


def point(view: Mapping[str, Any]) -> tuple[float, float] | None:
    """(lon, lat) of a view that carries a usable location, else None."""
    loc = view.get("location")
    if not isinstance(loc, Mapping):
        return None
    lat, lon = loc.get("lat"), loc.get("lon")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool) \
            and -90 <= lat <= 90 and -180 <= lon <= 180:
        return float(lon), float(lat)
    return None


def geojson(views: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946: lon, lat in WGS 84) of open views that have a point."""
    features = []
    for v in views:
        p = point(v)
        if p is None or not is_open(v):
            continue
        features.append({"type": "Feature", "id": v["id"],
                         "geometry": {"type": "Point", "coordinates": list(p)},
                         "properties": {"kind": v.get("kind"), "status": v.get("status"),
                                        "town": v.get("town"), "sector": v.get("sector"),
                                        "tier": v.get("tier"), "response_level": v.get("response_level"),
                                        "overdue": bool(v.get("overdue"))}})
    return {"type": "FeatureCollection", "features": sorted(features, key=lambda f: f["id"])}


def project(features: list[dict[str, Any]], width: int, height: int, pad: int = 20
            ) -> list[tuple[float, float, dict[str, Any]]]:
    """SVG x, y of each feature: an equirectangular projection fitted to the points' extent."""
    if not features:
        return []
    lons = [f["geometry"]["coordinates"][0] for f in features]
    lats = [f["geometry"]["coordinates"][1] for f in features]
    mid = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * mid, 1e-4)  # one point, or all in one place: centred
    span_y = max(max(lats) - min(lats), 1e-4)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    cx, cy = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    return [(width / 2 + (lon - cx) * mid * scale, height / 2 - (lat - cy) * scale, f)
            for f, lon, lat in zip(features, lons, lats, strict=True)]
