"""Pure classification: casualties and loss to an accident grade, a grade to a response level.

国务院令第493号 art. 3 draws each line with "以上", which includes the number,
and "以下", which excludes it: 3 dead is 较大, 2 dead is 一般. So every
threshold in the rules is "at least", and an alert takes the highest grade
any one of whose thresholds it reaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.alerts.rules import LEVELS, AlertRules


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures grading looks at (casualties as the contract gives them, loss in CNY)."""

    dead: int = 0
    missing: int = 0
    seriously_injured: int = 0
    injured: int = 0
    trapped: int = 0
    loss_cny: float | None = None
    evacuate: int | None = None

    @classmethod
    def of(cls, casualties: dict[str, Any] | None, loss: float | None = None,
           evacuate: int | None = None) -> Figures:
        """Figures from a contract `casualties` object and the optional loss and evacuation."""
        c = casualties or {}
        return cls(c.get("dead", 0), c.get("missing", 0), c.get("seriously_injured", 0),
                   c.get("injured", 0), c.get("trapped", 0), loss, evacuate)

    def harm(self) -> bool:
        """Whether the figures show death, injury or direct loss: what makes a production-safety
        accident (493号令 art. 2). The missing count, as the report counts them (art. 12: 包括下落不明
        的人数); the trapped alone do not."""
        return bool(self.dead or self.missing or self.seriously_injured or self.injured or self.loss_cny)


def classify(fig: Figures, rules: AlertRules, response: bool = False) -> tuple[str, list[str]]:
    """The accident grade of `fig`, and why, in words that cite the rule.

    493号令 art. 3 counts the dead alone: that grade decides how far the accident is reported. With
    `response`, the band that picks the response level, the missing count with the dead when the
    rules say so (死亡（含失踪）, the national plan's criterion, not art. 3's).
    """
    missing = response and rules.missing_count_as_dead
    dead = fig.dead + (fig.missing if missing else 0)
    dead_words = f"{dead} dead" + (f" (incl. {fig.missing} missing, 死亡含失踪)"
                                   if missing and fig.missing else "")
    for grade in rules.grades[:-1]:
        reasons = []
        if grade.dead is not None and dead >= grade.dead:
            reasons.append(f"{dead_words} ≥ {grade.dead}")
        if grade.seriously_injured is not None and fig.seriously_injured >= grade.seriously_injured:
            reasons.append(f"{fig.seriously_injured} seriously injured ≥ {grade.seriously_injured}")
        if grade.loss_cny is not None and fig.loss_cny is not None and fig.loss_cny >= grade.loss_cny:
            reasons.append(f"loss {fig.loss_cny:,.0f} CNY ≥ {grade.loss_cny:,.0f}")
        if reasons:
            return grade.id, [f"{grade.name} ({grade.name_en}): {'; '.join(reasons)}"]
    low = rules.grades[-1]
    return low.id, [f"{low.name} ({low.name_en}): below every higher threshold ({dead_words}, "
                    f"{fig.seriously_injured} seriously injured"
                    + (f", loss {fig.loss_cny:,.0f} CNY" if fig.loss_cny is not None else "") + ")"]


def level_for(grade: str, crowded: bool, evacuate: int | None,
              rules: AlertRules) -> tuple[str, list[str]]:
    """The response level of a grade, raised for a crowded place or many to evacuate; and why."""
    base = rules.level_by_grade[grade]
    raises: list[tuple[int, str]] = []
    if crowded and rules.crowded_raise:
        raises.append((rules.crowded_raise, f"crowded place (人员密集场所): +{rules.crowded_raise}"))
    if evacuate is not None and rules.evacuate_at_least is not None \
            and evacuate >= rules.evacuate_at_least and rules.evacuate_raise:
        raises.append((rules.evacuate_raise, f"{evacuate} to evacuate ≥ {rules.evacuate_at_least}: "
                       f"+{rules.evacuate_raise}"))
    by = max((n for n, _ in raises), default=0)  # the larger raise applies; they are not added
    level = LEVELS[max(0, LEVELS.index(base) - by)]  # never above I
    reasons = [f"{grade} → level {base}"] + [why for _, why in raises]
    if level != base:
        reasons.append(f"level {level}")
    return level, reasons


def higher(a: str | None, b: str) -> bool:
    """Whether response level `b` is above level `a` (None is below every level)."""
    return a is None or LEVELS.index(b) < LEVELS.index(a)
