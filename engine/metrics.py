"""Prometheus metrics of the engine, registered on a registry the caller passes in.

Names follow Prometheus' guide: base units, `_total` on counters, and only
bounded labels (topic, reason, grade, town, sector, tier, department, action,
level, partition, risk_class); never a hazard or alert id, nor an enterprise's USCC.

Counters count what this process did, so a record processed again after a
crash is counted again; ids on the output topics are what de-duplicate.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import importlib.metadata
import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from engine import codec
from engine.contract.outputs import Measure
from engine.decide.state import Hazard
from engine.reference.compiled import Reference
from engine.ruleset.calendar import SHANGHAI

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5)
_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000)
# A minute, ten, an hour, six hours, a day (the rules' default late_arrival), three days, a week, 30 days.
_DELAY_BUCKETS = (60, 600, 3600, 21_600, 86_400, 259_200, 604_800, 2_592_000)


@dataclass(frozen=True, slots=True)
class GaugeView:
    """What the gauges need of one hazard, kept so a change can be undone from the tallies.

    It is stored beside the hazard's state (engine/store.py), so that after a
    recovery the gauges are rebuilt from these few bytes instead of decoding a
    million states. The lead department comes from the rules, so a stored view
    names the rules version it was made under; under other rules it is not
    used, and the state is decoded instead.
    """

    open_labels: tuple[str, str, str, str] | None  # grade, town, sector, tier
    overdue_labels: tuple[str, str, str] | None  # grade, town, lead department
    deadline: int | None
    listed: bool
    listed_deadline: int | None = None

    def encode(self, rules_version: str) -> bytes:
        """Compact JSON, one line, every place named, naming the rules version the view was made
        under; what is empty or false is left out."""
        doc: dict[str, Any] = {"rules": rules_version, "v": VIEW_VERSION}
        if self.open_labels:
            doc["open"] = dict(zip(OPEN_LABELS, self.open_labels, strict=True))
        if self.overdue_labels:
            doc["overdue"] = dict(zip(OVERDUE_LABELS, self.overdue_labels, strict=True))
        if self.deadline is not None:
            doc["deadline"] = self.deadline
        if self.listed:
            doc["listed"], doc["listed_deadline"] = True, self.listed_deadline
        return codec.dumps(doc)

    @classmethod
    def decode(cls, raw: bytes, rules_version: str) -> GaugeView | None:
        """The inverse of encode; None if the view was made under other rules, by another version of
        the gauges (`VIEW_VERSION`), or is not one: the state is decoded instead."""
        try:
            doc = codec.loads(raw)
        except codec.JSONDecodeError:
            return None
        if not isinstance(doc, dict) or doc.get("rules") != rules_version or doc.get("v") != VIEW_VERSION:
            return None
        try:
            open_ = doc.get("open")
            overdue = doc.get("overdue")
            return cls(_shared([open_[k] for k in OPEN_LABELS]) if open_ else None,
                       _shared([overdue[k] for k in OVERDUE_LABELS]) if overdue else None,
                       doc.get("deadline"), bool(doc.get("listed")), doc.get("listed_deadline"))
        except (KeyError, TypeError):
            return None


# What a stored view means. 2 (2026-12-07): a rectification due with no claim has its overdue labels
# whether or not its deadline has passed (the gauges count it from then); a view of before (a named
# view with no "v", or the six-element list of before that) had them only once an entry at or after
# the deadline was applied, so it is not read: the state is decoded instead, once, and stored again.
VIEW_VERSION = 2
OPEN_LABELS = ("grade", "town", "sector", "tier")  # the places of GaugeView.open_labels
OVERDUE_LABELS = ("grade", "town", "department")  # and of its overdue_labels


_CLOSED = GaugeView(None, None, None, False)
_LABELS: dict[tuple[str, ...], tuple[str, ...]] = {}  # label sets are few: one copy of each


def _shared(labels: Any) -> Any:
    if not labels:
        return None
    key = tuple(labels)
    return _LABELS.setdefault(key, key)


class HazardGauges(Collector):
    """Open, overdue and listed hazards, kept up to date as states change, read at scrape time."""

    def __init__(self, lead_of: Callable[[Hazard], str | None], now: Callable[[], float]) -> None:
        self._lead_of = lead_of
        self._now = now
        self._views: dict[str, GaugeView] = {}
        self._open: Tally[tuple[str, str, str, str]] = Tally()
        self._overdue: dict[tuple[str, str, str], dict[str, int]] = {}
        # Rectifications due but not yet past their deadline: their labels and deadline, and a heap of
        # (deadline, hazard) that `_promote` takes them from as the clock passes each.
        self._due: dict[str, tuple[tuple[str, str, str], int]] = {}
        self._coming: list[tuple[int, str]] = []
        self._listed = 0
        self._listed_deadlines: dict[str, dict[str, int]] = {}  # town -> hazard -> deadline

    def view(self, h: Hazard) -> GaugeView:
        """What the gauges count of this state."""
        if not h.is_open():
            return _CLOSED
        grade = h.grade or h.claimed or "unknown"
        labels = _shared((grade, h.town or "unknown", h.sector or "unknown", h.tier or "none"))
        # Under which labels it counts as overdue once its deadline has passed (`collect` asks the clock
        # then): not only once a later entry was applied, as a deadline at 08:15 has no entry of its own
        # until the ladder's end-of-day step, and the alert on overdue rectifications waited for it.
        overdue = None
        if h.deadline is not None and h.completed_at is None:
            overdue = _shared((grade, h.town or "unknown", self._lead_of(h) or "unknown"))
        listed = bool(h.listed and h.listed[3])
        return GaugeView(labels, overdue, h.deadline, listed, h.listed[2] if listed else None)

    def update(self, h: Hazard) -> None:
        """Replace what is counted for this hazard by what its new state says."""
        self.put(h.id, self.view(h))

    def put(self, hazard_id: str, new: GaugeView) -> None:
        """Replace what is counted for this hazard by `new`."""
        old = self._views.get(hazard_id)
        if old == new:
            return
        if old is not None:
            self._apply(hazard_id, old, -1)
        self._apply(hazard_id, new, +1)
        if new == _CLOSED:
            self._views.pop(hazard_id, None)  # a closed hazard counts nowhere; keep no view of it
        else:
            self._views[hazard_id] = new

    def fresh(self) -> HazardGauges:
        """Empty gauges that count as these do: to be reset elsewhere, then `take`n."""
        return HazardGauges(self._lead_of, self._now)

    def take(self, other: HazardGauges) -> None:
        """Count what `other` counts (reset off the event loop); `other` is spent."""
        self._views, self._open, self._overdue = other._views, other._open, other._overdue
        self._due, self._coming = other._due, other._coming
        self._listed, self._listed_deadlines = other._listed, other._listed_deadlines
        other._views, other._open, other._overdue, other._due, other._coming = {}, Tally(), {}, {}, []
        other._listed, other._listed_deadlines = 0, {}

    def reset(self, views: Iterable[tuple[str, GaugeView]]) -> None:
        """Count every hazard afresh from its view, e.g. after recovery."""
        self._views.clear()
        self._open.clear()
        self._overdue.clear()
        self._due.clear()
        self._coming.clear()
        self._listed = 0
        self._listed_deadlines.clear()
        for hazard_id, view in views:
            self.put(hazard_id, view)

    def _apply(self, hazard_id: str, view: GaugeView, sign: int) -> None:
        if view.open_labels is not None:
            self._open[view.open_labels] += sign
            if not self._open[view.open_labels]:
                del self._open[view.open_labels]
        if view.overdue_labels is not None:
            deadline = view.deadline or 0
            if sign > 0 and deadline > self._now():
                self._due[hazard_id] = (view.overdue_labels, deadline)  # overdue from then (`_promote`)
                heapq.heappush(self._coming, (deadline, hazard_id))
                if len(self._coming) > 2 * len(self._due) + 1_000:  # entries of views replaced since
                    self._coming = [(d, hid) for hid, (_, d) in self._due.items()]
                    heapq.heapify(self._coming)
            elif sign > 0:
                self._overdue.setdefault(view.overdue_labels, {})[hazard_id] = deadline
            elif self._due.get(hazard_id) == (view.overdue_labels, deadline):
                del self._due[hazard_id]
            else:
                group = self._overdue.get(view.overdue_labels, {})
                group.pop(hazard_id, None)
                if not group:
                    self._overdue.pop(view.overdue_labels, None)
        self._listed += sign * view.listed
        if view.listed and view.open_labels is not None:
            town = view.open_labels[1]
            deadlines = self._listed_deadlines.setdefault(town, {})
            if sign > 0:
                deadlines[hazard_id] = view.listed_deadline or 0
            else:
                deadlines.pop(hazard_id, None)
                if not deadlines:
                    del self._listed_deadlines[town]

    def _promote(self, now: float) -> None:
        """Count as overdue the rectifications whose deadline has passed by `now`."""
        while self._coming and self._coming[0][0] <= now:
            deadline, hazard_id = heapq.heappop(self._coming)
            due = self._due.get(hazard_id)
            if due is not None and due[1] == deadline:
                del self._due[hazard_id]
                self._overdue.setdefault(due[0], {})[hazard_id] = deadline

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the gauges; the age of the oldest overdue rectification is measured now."""
        open_ = GaugeMetricFamily("hazard_open", "Open hazards by grade, town, sector and tier.",
                                  labels=["grade", "town", "sector", "tier"])
        for labels, n in sorted(self._open.items()):
            open_.add_metric(list(labels), n)
        yield open_
        overdue = GaugeMetricFamily(
            "hazard_overdue_rectifications", "Rectifications past their deadline with no claim, "
            "by grade, town and lead department.", labels=["grade", "town", "department"])
        oldest: dict[tuple[str, str], int] = {}
        now = self._now()
        self._promote(now)
        for (grade, town, dept), members in sorted(self._overdue.items()):
            overdue.add_metric([grade, town, dept], len(members))
            first = min(members.values())
            oldest[(grade, town)] = min(first, oldest.get((grade, town), first))
        yield overdue
        age = GaugeMetricFamily(
            "hazard_oldest_overdue_age_seconds", "Seconds since the deadline of the oldest overdue "
            "rectification, by grade and town.", labels=["grade", "town"])
        for (grade, town), deadline in sorted(oldest.items()):
            age.add_metric([grade, town], max(0.0, now - deadline))
        yield age
        yield GaugeMetricFamily("hazard_listed_supervisions_active",
                                "Hazards under listed supervision (挂牌督办) now.", value=self._listed)
        # Apart, so that a deadline missed in a town does not hide one falling due there soon.
        nearest = GaugeMetricFamily(
            "hazard_listed_supervision_next_deadline_timestamp_seconds", "The nearest deadline "
            "still ahead of an active listed supervision, by town (Unix time).", labels=["town"])
        missed = GaugeMetricFamily(
            "hazard_listed_supervision_missed_deadline_timestamp_seconds", "The earliest deadline "
            "passed of a listed supervision still active, by town (Unix time).", labels=["town"])
        for town, deadlines in sorted(self._listed_deadlines.items()):
            ahead = [d for d in deadlines.values() if d > now]
            passed = [d for d in deadlines.values() if d <= now]
            if ahead:
                nearest.add_metric([town], min(ahead))
            if passed:
                missed.add_metric([town], min(passed))
        yield nearest
        yield missed


class AlertGauges(Collector):
    """Open alerts by response level, kept up to date as alert states change."""

    def __init__(self) -> None:
        self._levels: dict[str, str] = {}  # alert id -> level of an open alert

    def update(self, alert: Any) -> None:
        """Count the alert under its current level while it is open."""
        if alert.is_open():
            self._levels[alert.id] = alert.level or "unknown"
        else:
            self._levels.pop(alert.id, None)

    def reset(self, alerts: Iterator[Any]) -> None:
        """Count every alert afresh, e.g. after recovery."""
        self._levels.clear()
        for alert in alerts:
            self.update(alert)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield open alerts by response level."""
        gauge = GaugeMetricFamily("hazard_alerts_open", "Open first-responder alerts by "
                                  "response level (I highest).", labels=["level"])
        for level, n in sorted(Tally(self._levels.values()).items()):
            gauge.add_metric([level], n)
        yield gauge


UNCLASSIFIED = "unclassified"  # an enterprise not classified yet (no 红橙黄蓝 risk class)
OTHER = "other"  # a town or sector the reference does not name, or none known yet


@dataclass(frozen=True, slots=True)
class EnterpriseView:
    """What the enterprise gauges count of one file: its labels, open hazards and their deadlines."""

    labels: tuple[str, str, str]  # town, sector, risk class, each from a bounded set
    open: int
    deadlines: tuple[int, ...]  # of open hazards with no completion claim: overdue once past


class EnterpriseGauges(Collector):
    """Enterprises on file, their open and overdue hazards, by town, sector and risk class.

    Labels are bounded: a town or sector the reference does not know (or a
    file that does not know its own yet) counts under "other", a file with no
    risk class under "unclassified". Never a USCC. A closed enterprise counts
    nowhere. Overdue is measured at scrape time, as the file's page does.
    """

    def __init__(self, reference: Any, now: Callable[[], float]) -> None:
        self._towns = frozenset(reference.towns)
        self._sectors = frozenset(reference.sectors)
        self._now = now
        self._views: dict[str, EnterpriseView] = {}

    def view(self, f: Any) -> EnterpriseView | None:
        """What the gauges count of this file (an engine.enterprise.state.EnterpriseFile); None if closed."""
        if f.status() == "closed":
            return None
        labels = _shared((f.town if f.town in self._towns else OTHER,
                          f.sector if f.sector in self._sectors else OTHER,
                          f.risk_class or UNCLASSIFIED))
        deadlines = tuple(sorted(h[2] for h in f.hazards.values() if h[2] is not None and not h[3]))
        return EnterpriseView(labels, len(f.hazards) + f.open_beyond, deadlines)

    def update(self, f: Any) -> None:
        """Count the file as its new state says."""
        view = self.view(f)
        if view is None:
            self._views.pop(f.id, None)
        else:
            self._views[f.id] = view

    def reset(self, files: Iterable[Any]) -> None:
        """Count every file afresh, e.g. after recovery."""
        self._views.clear()
        for f in files:
            self.update(f)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield enterprises, their open hazards and their overdue hazards now, by label set."""
        now = self._now()
        count: Tally[tuple[str, ...]] = Tally()
        open_: Tally[tuple[str, ...]] = Tally()
        overdue: Tally[tuple[str, ...]] = Tally()
        for v in self._views.values():
            count[v.labels] += 1
            open_[v.labels] += v.open
            overdue[v.labels] += sum(1 for d in v.deadlines if now > d)
        names = ["town", "sector", "risk_class"]
        for name, doc, tally in (
                ("hazard_enterprises", "Enterprises on file and not closed, by town, sector and "
                 "risk class.", count),
                ("hazard_enterprise_hazards_open", "Open hazards of the enterprises on file, by the "
                 "enterprise's town, sector and risk class.", open_),
                ("hazard_enterprise_hazards_overdue", "Open hazards of the enterprises on file past "
                 "their deadline with no completion claim, by the enterprise's town, sector and risk "
                 "class.", overdue)):
            family = GaugeMetricFamily(name, doc, labels=names)
            for labels, n in sorted(tally.items()):
                family.add_metric(list(labels), n)
            yield family


class HttpIntakeMetrics:
    """What `POST /events` answered: on a worker's registry, or a gateway's own."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.answers = Counter(
            "hazard_http_intake_answers_total", "Answers of POST /events, by HTTP status (202 "
            "accepted; 400, 401, 403, 413, 415, 429: refused, and why is in the body; 503: the "
            "broker did not acknowledge).", ["status"], registry=registry)
        self.events = Counter(
            "hazard_http_intake_events_total", "Events of POST /events requests that were checked, "
            "by outcome (accepted: sent to the intake topics and acknowledged; rejected: refused "
            "with the intake's errors; unsent: acceptable, but the request was refused as a whole "
            "or the broker did not acknowledge it).", ["outcome"], registry=registry)


class FilingMetrics:
    """What `hazard-engine filing --schedule` did and what it leaves to a person: on its own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.unfiled = Gauge(
            "hazard_filing_due_unfiled", "1 from the moment a month falls due until every "
            "department's filing of it is on referrals.discipline (a failed filing is tried again "
            "every 5 minutes), else 0.", registry=registry)
        self.failures = Counter(
            "hazard_filing_failures_total", "Attempts to file the months due that failed (broker "
            "away, topic missing, changelog unreadable); each is tried again.", registry=registry)
        self.sent = Counter(
            "hazard_filing_filings_sent_total", "Filings sent to referrals.discipline, by whether "
            "their month was caught up after a stop of the scheduler (caught_up=true) or was the "
            "month due.", ["caught_up"], registry=registry)
        self.supplements = Counter(
            "hazard_filing_supplements_sent_total", "Supplements sent to a month already filed, for "
            "hazards found in it whose records reached the engine after it was filed.", registry=registry)
        self.copies = Counter(
            "hazard_filing_copies_sent_total", "Filings and supplements copied to filings.organisation "
            "for the organisation department (组织部门备案).", registry=registry)
        self.follow_up_failing = Gauge(
            "hazard_filing_follow_up_failing", "1 while the last attempt at a step that follows a "
            "filing failed, else 0, by step: supplement (the supplements of the months before) or copy "
            "(the copies for the organisation department, filings.organisation); tried again every 10 "
            "minutes.", ["step"], registry=registry)
        self.missed = Gauge(
            "hazard_filing_months_missed", "Months the scheduler will not file itself and that some "
            "department still has no filing of (filing.missed: before the engine's first hazard, or "
            "after a stop of more than 12 months), from `first` to `last`, for a person to file by hand "
            "or to confirm the engine was not in use then; looked at again every 10 minutes, kept from "
            "one filing day to the next, not across a restart.", ["first", "last"], registry=registry)
        self.ahead = Gauge(
            "hazard_filing_months_clock_ahead", "Months due by the engine's clock that are not due "
            "by the real one, and so not filed (filing.clock_ahead): the engine's clock is set ahead.",
            registry=registry)
        self.filed_at = Gauge(
            "hazard_filing_last_filed_timestamp_seconds", "When the scheduler last found every month "
            "it files on the topic (0 before its first success).", registry=registry)


BATCH_PHASES = ("fetch", "intake", "decide", "send", "store", "commit")


class StageTimes(Collector):
    """`hazard_processing_seconds`: the time to handle one record, by stage, as a histogram.

    prometheus_client's Histogram takes a lock for its sum and another for the
    bucket it counts, and finds the bucket in a Python loop: 1.4 µs an
    observation, made three or four times an event. The worker observes from
    its event loop only and serves /metrics from the same loop
    (engine/http/server.py), so plain counts need no lock: a bisect into the
    bounds and two additions, 0.25 µs. The exposition is the same histogram
    (`_bucket` with `le`, `_sum`, `_count`), without the `_created` sample.
    """

    def __init__(self, registry: CollectorRegistry, buckets: tuple[float, ...] = _LATENCY_BUCKETS) -> None:
        self._bounds = tuple(sorted(buckets))
        self._les = [*(floatToGoString(b) for b in self._bounds), "+Inf"]
        self._counts: dict[str, list[int]] = {}  # stage -> observations per bucket, +Inf last
        self._sums: dict[str, float] = {}
        registry.register(self)

    def observe(self, stage: str, seconds: float) -> None:
        """One record handled in `stage` took `seconds`."""
        counts = self._counts.get(stage)
        if counts is None:
            counts = self._counts[stage] = [0] * len(self._les)
            self._sums[stage] = 0.0
        counts[bisect.bisect_left(self._bounds, seconds)] += 1  # the first bound >= seconds: `le`
        self._sums[stage] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        """The histogram of every stage observed so far, its buckets cumulative."""
        family = HistogramMetricFamily("hazard_processing_seconds", "Time to handle one record, by stage "
                                       "(intake, decide).", labels=["stage"])
        for stage, counts in self._counts.items():
            total, buckets = 0, []
            for le, n in zip(self._les, counts, strict=True):
                total += n
                buckets.append((le, total))
            family.add_metric([stage], buckets, self._sums[stage])
        yield family


class _Children:
    """A labelled metric's children by their label values, each looked up in prometheus_client once.

    `labels()` checks and converts its values and takes a lock on every call: a few
    µs that the worker paid several times per record. The label sets are bounded
    (see the module's docstring), so keeping every child costs little.
    """

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA = re.compile(r";.*\bextra\s*==")  # a requirement of one of the extras (test, bench)


@functools.cache  # once a process: reading the installed metadata takes about 13 ms
def dependency_versions(package: str = "hazard-engine") -> tuple[tuple[str, str], ...]:
    """(distribution, installed version) of each requirement of `package` outside its extras, as
    its installed metadata lists them; "missing" for one not installed, none when `package` is not."""
    try:
        requires = importlib.metadata.requires(package) or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    out = []
    for line in requires:
        name = _NAME.match(line)
        if name is None or _EXTRA.search(line):
            continue
        try:
            out.append((name[0], importlib.metadata.version(name[0])))
        except importlib.metadata.PackageNotFoundError:
            out.append((name[0], "missing"))
    return tuple(out)


class EngineMetrics:
    """Every metric the engine exports, on one registry."""

    def __init__(self, registry: CollectorRegistry, version: str = "", rules_version: str = "",
                 calendar_known_through: int | None = None, reference: Reference | None = None) -> None:
        self.registry = registry
        # The process's memory, CPU and open files, the interpreter and its garbage collector:
        # the default collectors describe this process, so they go on the engine's registry too.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
        self.build_info = Gauge("hazard_build_info", "Always 1; the engine's package version and "
                                "the version of the rules it runs.", ["version", "rules_version"],
                                registry=registry)
        self.build_info.labels(version, rules_version).set(1)
        # Which releases this process runs: a release can change what the engine accepts, and
        # workers installed without constraints.txt may differ from each other and from CI.
        self.dependency_info = Gauge("hazard_dependency_info", "Always 1; each distribution the "
                                     "engine's package requires, at the version this process "
                                     "has installed (constraints.txt pins the tested ones).",
                                     ["distribution", "version"], registry=registry)
        for name, installed in dependency_versions():
            self.dependency_info.labels(name, installed).set(1)
        # Past this year deadlines are approximate; HolidayCalendarEnding warns two months ahead.
        self.calendar_year = Gauge("hazard_calendar_known_through_year", "The last year whose public "
                                   "holidays and make-up working days the rules know exactly "
                                   "(rules/reference/calendar.yaml or chinese-calendar).",
                                   registry=registry)
        self.calendar_until = Gauge("hazard_calendar_known_until_timestamp_seconds", "When the last "
                                    "exactly known year ends (its 31 December, 24:00 Asia/Shanghai).",
                                    registry=registry)
        if calendar_known_through is not None:
            self.calendar_year.set(calendar_known_through)
            year_end = datetime(calendar_known_through + 1, 1, 1, tzinfo=SHANGHAI)
            self.calendar_until.set(year_end.timestamp())
        # Metrics label places by id; the alerts a town's office or a lead department reads name them in
        # Chinese by looking this up (docker/prometheus/alerts.yml, `query`), and fall back to the id
        # without it: no alert's firing depends on it. The names are those of the board (engine/zh).
        self.reference_names = Gauge("hazard_reference_name_info", "Always 1; the Chinese name of each "
                                     "town (镇街) and department of the rules' reference data "
                                     "(rules/reference/), by kind (town, department) and id.",
                                     ["kind", "id", "name"], registry=registry)
        if reference is not None:
            for kind, entries in (("town", reference.towns), ("department", reference.departments)):
                for id_, entry in entries.items():
                    self.reference_names.labels(kind, id_, entry.name).set(1)
        self.intake_records = Counter(
            "hazard_intake_records_total",
            "Intake records by topic and outcome (accepted, redelivered, rejected, duplicate); a "
            "forwarded record counts once, as its copy.",
            ["topic", "outcome"], registry=registry)
        self.intake_forwarded = Counter(
            "hazard_intake_forwarded_total", "Intake records with a null key sent again to their "
            "subject's partition, keyed by subject, to be judged there, by topic.", ["topic"],
            registry=registry)
        self.marks_forgotten = Counter(
            "hazard_intake_marks_forgotten_total", "De-duplication marks forgotten: their events "
            "happened more than HAZARD_DEDUP_DAYS (and a day) ago, and intake rejects anything "
            "that old as stale.", registry=registry)
        self.arrival_delay = Histogram(
            "hazard_intake_arrival_delay_seconds", "How long after its own time each accepted event "
            "reached the broker (its record's timestamp, where the engine's clock vouches for it), "
            "by topic: field apps that work offline show here. Past the rules' "
            "duties.late_arrival.after, a department's clock counts from the arrival.", ["topic"],
            registry=registry, buckets=_DELAY_BUCKETS)
        self.intake_rejections = Counter(
            "hazard_intake_rejections_total", "Reasons for rejected intake records, by topic "
            "and error type.", ["topic", "reason"], registry=registry)
        self.processing = StageTimes(registry)
        self.clock_behind = Gauge(
            "hazard_host_clock_behind_seconds", "How far this worker's clock was behind the "
            "broker's in its latest batch of intake records: the newest record's timestamp (set by "
            "the broker as it appended it, LogAppendTime) less this host's clock, 0 when it is not "
            "ahead. Deadlines, the dating of late arrivals and the board's reading of outputs all "
            "take both clocks to be right (NTP).", registry=registry)
        # A batch's records, fetched together and committed together: a worker fed at a pace takes
        # small batches, whose per-batch work costs each event more (docs/benchmarks.md).
        self.batch_records = Histogram(
            "hazard_batch_records", "Records in each batch the worker handled (intake and timeline "
            "together), and the records of those batches.", registry=registry, buckets=_BATCH_BUCKETS)
        # Where a batch's wall time goes, phase by phase, so that a rising latency can be put down to
        # the broker (send, store, commit), the rules (decide) or an idle feed (fetch).
        batch_seconds = Counter(
            "hazard_batch_seconds_total", "Wall seconds the worker's batches spent in each phase: "
            "fetch (waiting for records included), intake, decide, send (outputs, acknowledged), "
            "store (state changelogs acknowledged, local store), commit; a paced worker's store and "
            "commit overlap its next batches.", ["phase"], registry=registry)
        self.batch_seconds = {phase: batch_seconds.labels(phase) for phase in BATCH_PHASES}
        # Timeline entries decided as the worker sent them, or fetched: a share fetched that grows
        # means entries wait a batch longer (clock entries between batches, another worker's records).
        timeline_entries = Counter(
            "hazard_timeline_entries_total", "Timeline records decided, by path: taken (sent by this "
            "worker and decided in the same batch) or fetched.", ["path"], registry=registry)
        self.timeline_entries = {path: timeline_entries.labels(path) for path in ("taken", "fetched")}
        # Small batches share one write of their states and one commit (HAZARD_STORE_EVERY_MS): how
        # many commits, and how many state writes they took, against hazard_batch_records' count.
        self.commits = Counter("hazard_commits_total", "Commits of the worker's positions, each after "
                               "the state writes of the batches it covers.", registry=registry)
        self.state_writes = Counter("hazard_state_writes_total", "States and intake marks written to "
                                    "the changelogs, each key once per commit.", registry=registry)
        self.escalations = Counter(
            "hazard_escalations_total", "Escalations sent, by action and subject kind.",
            ["action", "subject_kind"], registry=registry)
        self.referrals = Counter("hazard_referrals_total",
                                 "Referrals to discipline inspection (抄报移送纪委监委) sent.",
                                 registry=registry)
        self.referrals_withdrawn = Counter(
            "hazard_referrals_withdrawn_total", "Referrals to discipline inspection withdrawn after they "
            "were sent: a record of the duty done in time reached the engine late.", registry=registry)
        self.dead_letters = Counter(
            "hazard_dead_letters_total", "Records whose processing raised, set aside so their "
            "partition moves on (intake: intake.rejected with processing_error; decide: "
            "engine.deadletter), by agent.", ["agent"],
            registry=registry)
        self.notices = Counter("hazard_supervision_notices_total",
                               "Listed-supervision notices sent, by type (listed, lifted).",
                               ["type"], registry=registry)
        self.transfers = Counter("hazard_judicial_referrals_total",
                                 "Transfers to the public security bureau (行刑衔接) sent.",
                                 registry=registry)
        self.transfers_withdrawn = Counter(
            "hazard_judicial_referrals_withdrawn_total", "Transfers to the public security bureau withdrawn "
            "after they were sent: the order was lifted before the violation, its record late.",
            registry=registry)
        self.proposals = Counter("hazard_enforcement_proposals_total",
                                 "Enforcement measures proposed against enterprises, by measure.",
                                 ["measure"], registry=registry)
        self.proposals_withdrawn = Counter(
            "hazard_enforcement_proposals_withdrawn_total", "Enforcement proposals withdrawn after they "
            "were sent, by measure: a completion claimed before the step that proposed it reached the "
            "engine late.", ["measure"], registry=registry)
        self.credit_proposals = Counter(
            "hazard_credit_proposals_total", "Proposals to list an enterprise as dishonest (失信) sent "
            "for a person's decision, by criterion.", ["criterion"], registry=registry)
        self.credit_withdrawn = Counter(
            "hazard_credit_proposals_withdrawn_total", "Credit proposals withdrawn after they were sent, "
            "by criterion and the decision already on file (none, listed, rejected): a major hazard "
            "they counted overdue was claimed complete by its deadline, recorded late.",
            ["criterion", "decided"], registry=registry)
        self.http_intake = HttpIntakeMetrics(registry)
        # The children the worker touches per record, looked up once (_Children).
        self._intake = _Children(self.intake_records)
        self._rejections = _Children(self.intake_rejections)
        self._escalations = _Children(self.escalations)
        self._notices = _Children(self.notices)
        self._proposals = _Children(self.proposals)
        self._proposals_withdrawn = _Children(self.proposals_withdrawn)
        for measure in get_args(Measure):  # exported at 0 from the start: a withdrawal is rare
            self._proposals_withdrawn(measure)
        for decided in ("none", "listed", "rejected"):
            self.credit_withdrawn.labels("repeated_overdue_major", decided)

    def observe(self, stage: str, seconds: float) -> None:
        """Time taken to handle one record in `stage` (intake, decide)."""
        self.processing.observe(stage, seconds)

    def count_intake(self, topic: str, outcome: str, reasons: Iterable[str] = ()) -> None:
        """Count one intake record by topic and outcome, and each reason it was rejected for."""
        self._intake(topic, outcome).inc()
        for reason in reasons:
            self._rejections(topic, reason).inc()

    def count_output(self, event: dict) -> None:
        """Count one output event by its type."""
        kind = event.get("type", "")
        if kind == "safety.escalation.raised":
            data = event["data"]
            self._escalations(data["action"], data["subject_kind"]).inc()
        elif kind == "safety.referral.discipline":
            self.referrals.inc()
        elif kind == "safety.referral.withdrawn":
            self.referrals_withdrawn.inc()
        elif kind.startswith("safety.supervision."):
            self._notices(kind.rsplit(".", 1)[-1]).inc()
        elif kind == "safety.referral.judicial":
            self.transfers.inc()
        elif kind == "safety.referral.judicial_withdrawn":
            self.transfers_withdrawn.inc()
        elif kind == "safety.enforcement.proposed":
            self._proposals(event["data"]["measure"]).inc()
        elif kind == "safety.enforcement.withdrawn":
            self._proposals_withdrawn(event["data"]["measure"]).inc()
        elif kind == "safety.credit.proposed":
            self.credit_proposals.labels(event["data"]["criterion"]).inc()
        elif kind == "safety.credit.withdrawn":
            data = event["data"]
            self.credit_withdrawn.labels(data["criterion"], data.get("decided") or "none").inc()


class RuntimeGauges(Collector):
    """Gauges read from the running worker at scrape time: lag, clock index, timer lag, held intake."""

    def __init__(self, lag: Callable[[], dict[tuple[str, int], int]], index_size: Callable[[], int],
                 timer_lag: Callable[[], float], held: Callable[[], int],
                 marks: Callable[[], int] = lambda: 0) -> None:
        self._lag, self._index_size, self._timer_lag, self._held = lag, index_size, timer_lag, held
        self._marks = marks

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield consumer lag per partition, the clock index size, the timer's lag and the intake held."""
        lag = GaugeMetricFamily("hazard_consumer_lag_records", "Records not yet processed, by "
                                "topic and partition.", labels=["topic", "partition"])
        for (topic, partition), n in sorted(self._lag().items()):
            lag.add_metric([topic, str(partition)], n)
        yield lag
        yield GaugeMetricFamily("hazard_clock_index_subjects",
                                "Subjects with a running clock in this worker's deadline index.",
                                value=self._index_size())
        yield GaugeMetricFamily("hazard_clock_timer_lag_seconds", "How far the earliest unfired "
                                "deadline lies behind the clock (0 when none is due).",
                                value=self._timer_lag())
        yield GaugeMetricFamily("hazard_intake_held_records", "Intake records fetched and held back "
                                "until the other intake partitions are read up to their time.",
                                value=self._held())
        yield GaugeMetricFamily("hazard_intake_marks", "De-duplication marks this worker holds for "
                                "its intake partitions (one per event taken, forgotten after "
                                "HAZARD_DEDUP_DAYS).", value=self._marks())


class ReplicaGauges(Collector):
    """How far behind this worker's replica of the other partitions is (engine/stream/replica.py)."""

    def __init__(self, lags: Callable[[], dict[str, int]]) -> None:
        self._lags = lags

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the replica's lag per kind of subject."""
        lag = GaugeMetricFamily("hazard_replica_lag_records", "Changelog records of the partitions "
                                "this worker does not own that its replica has not applied yet, "
                                "by kind of subject (HAZARD_REPLICAS).", labels=["kind"])
        for kind, n in sorted(self._lags().items()):
            lag.add_metric([kind], n)
        yield lag
