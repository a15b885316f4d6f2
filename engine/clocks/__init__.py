"""Clocks at run time: an injectable time source, and the index of due times the timer walks."""

from engine.clocks.index import DeadlineIndex
from engine.clocks.timesource import ScaledTime, SystemTime, TimeSource, from_settings, time_source

__all__ = ["DeadlineIndex", "ScaledTime", "SystemTime", "TimeSource", "from_settings", "time_source"]
