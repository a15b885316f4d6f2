"""The board's words for what it lists: the overdue ladder's step apart from a hazard's grade,
each referral as what it is, a listed deadline's time left, and an alert nobody took on."""

from __future__ import annotations

from typing import Any

from decide_fixtures import RULES

from engine.board import picture
from engine.board.html import Page
from engine.kernel.time import iso

NOW = 1_800_000_000.0
DAY, HOUR = 86400, 3600


def page(lang: str = "zh") -> Page:
    return Page(lang, RULES.reference, "c", "o")


def listed(id_: str, seconds_left: float) -> dict[str, Any]:
    due = iso(int(NOW + seconds_left))
    return {"kind": "hazard", "id": id_, "town": "huxi", "departments": [], "tier": None,
            "status": "in_progress", "grade": "major", "sector": "fire_safety", "overdue": False,
            "listed": {"notice_no": f"N-{id_}", "deadline": due, "active": True}, "referrals": [],
            "title": "t", "deadline": due}


def listed_cells(html: str) -> dict[str, str]:
    """Each listed row's id and the HTML of its last cell (the time left)."""
    table = html.split('<table id="listed">', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[2:]
    return {row.split('">', 2)[1].split("<", 1)[0]: row.rsplit("<td", 1)[1] for row in rows}


def test_a_listed_deadline_shows_hours_on_its_last_day_and_overdue_once_passed() -> None:
    """Seven minutes before the deadline is not "1 day left", a day after it is not "0": the last
    day reads in hours, a passed deadline reads overdue and is marked late, in both languages."""
    hazards = [listed("HZ-SOON", 7 * 60), listed("HZ-PAST", -(DAY + 60)), listed("HZ-JUST", -60),
               listed("HZ-FAR", 3 * DAY + 5 * HOUR)]
    s = picture.summary(hazards, [], NOW)
    assert [x["id"] for x in s["listed"]] == ["HZ-PAST", "HZ-JUST", "HZ-SOON", "HZ-FAR"]
    zh, en = listed_cells(page("zh").summary(s)), listed_cells(page("en").summary(s))
    assert "不足一天（0 小时）" in zh["HZ-SOON"] and "late" not in zh["HZ-SOON"]
    assert "已逾期 1 天" in zh["HZ-PAST"] and 'class="late"' in zh["HZ-PAST"]
    assert "已逾期 1 小时" in zh["HZ-JUST"] and 'class="late"' in zh["HZ-JUST"]
    assert "3 天" in zh["HZ-FAR"] and "late" not in zh["HZ-FAR"]
    assert "last day (0 h)" in en["HZ-SOON"] and "overdue by 1 d" in en["HZ-PAST"]
    assert "overdue by 1 h" in en["HZ-JUST"] and "3 d" in en["HZ-FAR"]
