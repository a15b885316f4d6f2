"""The file of one enterprise (一企一档): who it is, its risk class, and a bounded summary of its record.

The file is kept on the enterprise's own partition, keyed by its unified social
credit code. It holds counts and the open items in full, but only the latest
`RECENT` lines of its record: the full record of each hazard stays with the
hazard, one `GET /hazards/{id}` away, so a file stays a few kilobytes however
long the enterprise has been supervised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine import codec
from engine.kernel.state import from_doc, state_doc

RECENT = 50  # record lines kept in a file
MAX_OPEN = 500  # open hazards kept in detail; beyond, the oldest are only counted
MONTHS = 24  # months of inspection counts kept, for the annual plan's progress
CLASSES = 25  # classification decisions kept, for the coverage cycles a late record re-opens
SPELLS = 25  # closures and registrations kept, each, for the closed spells no coverage cycle counts
# Ids kept of inspections made in a second another kept inspection has (an app that records the day
# alone), so that a copy of one sent again is known (engine/enterprise/core.py `_counted`).
SAME_SECOND = 25
# Decisions kept that name a credit proposal the file has not made (decided before it, or a number
# typed wrong), so that an app sending such decisions cannot grow the file without bound.
UNMADE = 25


@dataclass(slots=True)
class EnterpriseFile:
    """Everything the engine knows of one enterprise, bounded in size."""

    id: str  # the USCC
    name: str | None = None
    registered: str | None = None  # event id of the registration; None: not registered (yet)
    registered_at: int | None = None
    # When it was first registered, the earliest registration of a file the engine saw registered
    # first (None for one registered before 2026-12-05: not known). No coverage cycle counts the
    # time before (coverage.walk).
    first_registered: int | None = None
    town: str | None = None
    address: str | None = None
    sector: str | None = None
    legal_representative: str | None = None
    risk_class: str | None = None  # red, orange, yellow or blue
    key: bool = False  # a key enterprise (重点企业), inspected on a fixed cycle
    classified: list[Any] | None = None  # [decided_at, decided_by id, decision_no, event id]
    # Every classification decision on file, the latest CLASSES of them by when each was decided,
    # oldest first: [decided_at, risk class, key enterprise, event id]. A coverage cycle runs under
    # the classes in force while it runs, not the one on file now (coverage.walk). A file stored
    # before 2026-12-05 starts with none: its classification on file stands for them.
    classes: list[list[Any]] = field(default_factory=list)
    closed_at: int | None = None
    closed_reason: str | None = None
    # The times of the enterprise's closures and of its registrations (an update of its details is
    # one too), the latest SPELLS of each, oldest first: they give the spells it was closed, which
    # no coverage cycle counts (coverage.spells). A file stored before 2026-12-05 starts with none:
    # its latest closure and registration stand for them.
    closures: list[int] = field(default_factory=list)
    registrations: list[int] = field(default_factory=list)
    # Open hazards: id -> [status, grade, deadline, completed, tier, department, sector, listed, town].
    # `town` is where the hazard lies (its report's location), which may be another town than the
    # enterprise's: a town's supervisor sees the hazards of its towns alone (view.py `limited`). A row
    # stored before format 14 has None there, a town not known, shown to district-wide viewers only
    # until the hazard's next link names it.
    hazards: dict[str, list[Any]] = field(default_factory=dict)
    open_beyond: int = 0  # open hazards past MAX_OPEN, counted only
    closed: int = 0  # hazards closed (passed, immediate, unfounded or duplicate)
    # Of `closed`, how many lay in each town (since format 14; those closed before are in no town's).
    closed_in: dict[str, int] = field(default_factory=dict)
    orders: dict[str, list[Any]] = field(default_factory=dict)  # order no -> [order, hazard id, at]
    violations: int = 0  # orders found violated (安全生产法 art. 65 orders not carried out)
    inspections: int = 0
    months: dict[str, int] = field(default_factory=dict)  # YYYY-MM -> inspections, the latest MONTHS
    last_inspection: list[Any] | None = None  # [time, inspection id, kind, findings]
    # The times of the latest inspections, oldest first (coverage.MISSED + 1 of them): which one
    # ended each cycle, for a record that comes late (coverage.reconcile). A file stored before
    # 2026-12-05 starts with none.
    inspected: list[int] = field(default_factory=list)
    # str(time) -> inspection id, of `inspected`; "time/id" -> id for another one in the same second
    inspected_by: dict[str, str] = field(default_factory=dict)
    alerts: int = 0
    last_alert: list[Any] | None = None  # [time, alert id, kind]
    proposals: list[list[Any]] = field(default_factory=list)  # [time, id, measure, hazard id], recent
    # Where each of `proposals` stands, as its hazard says (engine/decide/proposals.py `standing`):
    # awaiting its legal review or decision, answered, overdue... A proposal filed before 2026-12-05
    # has none.
    proposal_states: dict[str, str] = field(default_factory=dict)
    # Credit (失信) proposals: [proposal id, criterion, proposed at, decision or None], where a decision
    # is [outcome, at, listed_from, listed_until, decision no, event id] (engine/enterprise/credit.py).
    credit: list[list[Any]] = field(default_factory=list)
    # The hazards each threshold proposal counted, with when each counted from: what a hazard settled
    # in time (claimed, or found unfounded), recorded late, withdraws (credit.on_settled_in_time); for
    # the act of a violation, the hazards whose records of it count, and the record it was proposed on
    # (credit.on_violation, since 2026-12-07). Kept while one of them still counts
    # (`credit.forget_sets`); a proposal made before 2026-12-05 has none.
    credit_sets: dict[str, dict[str, int]] = field(default_factory=dict)
    credit_withdrawn: dict[str, int] = field(default_factory=dict)  # proposal id -> when withdrawn
    # Major hazard -> overdue since; inspection refused (拒绝、阻碍检查) -> when: the latest RECENT of
    # each by time, whatever their window (credit.keep_latest), for records that come late.
    overdue_major: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    cov_base: int | None = None  # where the current coverage cycle started (engine/enterprise/coverage.py)
    cov_step: int = 0  # its escalations fired: 1 the town safety office, 2 the lead department
    # Cycle base -> how often its cycle ran again, its miss or notice withdrawn or raised by a late
    # record (coverage.reconcile); what a cycle run again escalates goes under ids of its own.
    reruns: dict[str, int] = field(default_factory=dict)
    # The notices standing (not withdrawn) that a cycle ran out, to the town safety office, the latest
    # coverage.MISSED + 1: [cycle base, told at (in time order), the class it was told under, the
    # cycle's run whose ids it went under, when it went]. A late record withdraws each that time
    # order never gave (coverage.reconcile).
    # A file stored before 2026-12-05 starts with none.
    notices: list[list[Any]] = field(default_factory=list)
    duty_fails: dict[str, int] = field(default_factory=dict)  # department -> coverage cycles missed
    # Missed cycles a late inspection may still withdraw, the latest MISSED and every held referral:
    # [cycle base, missed at, department, the cycle's starting event, its referral: held, sent or
    # None, the class it ran out under, the cycle's run whose ids it went under, and the town safety
    # office's notice its referral named as sent: that notice's run and when it went, while the
    # notice on file is another, told anew since] (engine/enterprise/coverage.py).
    missed: list[list[Any]] = field(default_factory=list)
    clocks: dict[str, int] = field(default_factory=dict)  # clock name -> due (derived)
    # The latest RECENT steps of its record, newest last: [time, event id, what, the hazard it concerns:
    # its id, "" for one about the enterprise itself, None in a step stored before format 15, which
    # kept none (its text names it: engine/enterprise/view.py `record_lines`)].
    recent: list[list[Any]] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    # The records of each source partition (`source_of`'s key) whose entries it applied, those of the
    # last SPAN offsets there, as runs of offsets: {"starts": [...], "ends": [...]} (`remember`).
    applied_from: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    # Entries a field-app token limited to towns sent before the file had a town it can be held to,
    # and those of them applied, as for a Hazard (engine/kernel/scope.py; since format 16).
    parked: list[dict[str, Any]] = field(default_factory=list)
    held_applied: list[list[int]] = field(default_factory=list)
    # Whether `town` came only from records a token limited to towns sent (an inspection, a refusal,
    # a hazard's or an alert's link caused by one): where that token found the enterprise, not where
    # it is registered, so it holds no entry waiting for the file's town (since format 16).
    town_by_token: bool = False
    watermark: int = 0
    # The applied hashes stored before, undecoded (as for a Hazard): a file hears from every hazard
    # of its enterprise, and a list of 2,000 hashes cost 20 µs a scan for each re-delivery check.
    applied_stored: bytes = b""

    # What each place of a positional field means; the stored record names them (engine/store.py).
    # The credit proposals, with a decision nested in each, stay positional for now.
    NAMED: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "classified": ("one", ("decided_at", "decided_by", "decision_no", "event_id")),
        "classes": ("many", ("decided_at", "risk_class", "key_enterprise", "event_id")),
        "hazards": ("map", ("status", "grade", "deadline", "completed", "tier", "department", "sector",
                            "listed", "town")),
        "orders": ("map", ("order", "hazard_id", "at")),
        "last_inspection": ("one", ("time", "inspection_id", "kind", "findings")),
        "last_alert": ("one", ("time", "alert_id", "kind")),
        "proposals": ("many", ("time", "proposal_id", "measure", "hazard_id")),
        "recent": ("many", ("time", "event_id", "what", "hazard_id")),
        "missed": ("many", ("cycle_base", "missed_at", "department", "started_by", "referral",
                            "risk_class", "run", "notice_run", "notice_at")),
        "notices": ("many", ("cycle_base", "told_at", "risk_class", "run", "sent_at")),
    }
    # Places added to a field of NAMED after rows of it were first stored, with what such a row
    # holds there when it is read back (engine/store.py `_rows`): the class a miss or a notice went
    # under is kept since format 9 (2026-12-06), a notice's run and when it went since format 10
    # (2026-12-07), a miss's run and its referral's notice since format 11 (2026-12-07), an open
    # hazard's town since format 14 (2026-12-07), the hazard a step of the record concerns since
    # format 15 (2026-12-07); one stored before has none.
    ADDED: ClassVar[dict[str, dict[str, Any]]] = {
        "missed": {"risk_class": None, "run": None, "notice_run": None, "notice_at": None},
        "notices": {"risk_class": None, "run": None, "sent_at": None},
        "hazards": {"town": None},
        "recent": {"hazard_id": None},
    }

    def encode(self) -> bytes:
        """Serialise compactly, leaving out fields at their defaults."""
        return codec.dumps(self.doc())

    def doc(self, whole: bool = True, named: bool = False) -> dict[str, Any]:
        """The fields by name, those at their defaults left out; without the applied hashes unless
        `whole` (the table stores them raw, after the state); `named`: the positional lists' places
        named, as stored (engine/store.py)."""
        return state_doc(self, whole, named)

    @classmethod
    def decode(cls, raw: bytes) -> EnterpriseFile:
        """The inverse of encode; a row encoded before a place was added to it (`ADDED`) is given
        that place as the store gives it (engine/store.py `_rows`)."""
        f = from_doc(cls, codec.loads(raw))
        for name, added in cls.ADDED.items():
            places, rows = cls.NAMED[name][1], getattr(f, name)
            for row in rows.values() if isinstance(rows, dict) else rows:
                if len(row) < len(places):
                    row += [added[p] for p in places[len(row):]]
        return f

    def status(self) -> str:
        """unregistered (only linked so far), registered, or closed."""
        closed = self.closed_at is not None
        if closed and (self.registered_at is None or self.closed_at >= self.registered_at):
            return "closed"
        return "registered" if self.registered else "unregistered"

    def overdue_after(self) -> int | None:
        """The earliest deadline of an open hazard with no completion claim: overdue past it."""
        dues = [h[2] for h in self.hazards.values() if h[2] is not None and not h[3]]
        return min(dues) if dues else None

    def overdue(self, now: int) -> list[str]:
        """Open hazards past their deadline with no completion claim pending."""
        return sorted(hid for hid, h in self.hazards.items() if h[2] is not None and not h[3] and now > h[2])

    def next_due(self) -> int | None:
        """The earliest running clock (a key enterprise's coverage cycle), for the deadline index."""
        return min(self.clocks.values()) if self.clocks else None

