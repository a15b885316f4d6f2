"""The declarative rules in rules/*.yaml: strict file models, a working-day calendar, compiled rules."""

from engine.ruleset.calendar import WorkCalendar
from engine.ruleset.compiled import LadderStep, Rules, Span
from engine.ruleset.load import RulesLoadError, load_rules

__all__ = ["LadderStep", "Rules", "RulesLoadError", "Span", "WorkCalendar", "load_rules"]
