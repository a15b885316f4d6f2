"""`hazard-engine filing`: the monthly filing of supervision results (periodic_filing).

`--month YYYY-MM` reads every hazard's latest state from the hazard table's
changelog, builds one filing per sector-leading department with
engine/decide/filing.py, prints them, and with `--publish` writes them to
`referrals.discipline`, each saying when it was sent (`filed_at`). Their ids
come from the department and the month, so publishing a month again sends
records a subscriber recognises as the same filings (sent again later). A
month not over yet is not published: its filing would stand in for the one
due on its filing day.

`--schedule` runs until stopped and files each month when it falls due, on day
`HAZARD_FILING_DAY` of the month after, at 00:00 district time. It sends only
the filings not already on the topic (a department's month once), so a restart
files a month once, and a scheduler started late files the month then due at
once, with the months since the latest month filed (a longer stop) if that
month is at most CATCH_UP_MONTHS before it. It files no month before it has
fallen due by the real clock too, and catches up no month that ended before
the first hazard the engine knows was opened. It also sends a supplement to a
month filed before, for the hazards found in it whose records reached the
engine after it was filed (engine/decide/filing.py `supplements`), and copies
each filing and supplement, as first sent, to `filings.organisation` for the
organisation department (组织部门备案, plans line 798); both come after the
filing and apart from it. It serves `/metrics` and `/healthz` (FilingMetrics).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import structlog
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import PROCESS_COLLECTOR

from engine.contract.outputs import FILINGS_ORGANISATION, REFERRALS_DISCIPLINE, record_headers
from engine.cores import HISTORY_TABLES, TABLES, record_value
from engine.decide.filing import FilingError, month_bounds, monthly_filings, supplements
from engine.decide.state import Hazard
from engine.errors import EngineError
from engine.http.limits import Limits
from engine.http.server import Pages, Server, liveness_page, metrics_page
from engine.kernel.outputs import Out
from engine.kernel.time import iso
from engine.metrics import FilingMetrics
from engine.ruleset.calendar import SHANGHAI
from engine.ruleset.compiled import Rules
from engine.store import StoredFormatError, unpack
from engine.tools.kafka import opened, producer, read_to_end, require_topic

log = structlog.get_logger("engine.filing")

CATCH_UP_MONTHS = 12  # how long a stop of the scheduler may be for it to file the months it missed itself
RETRY_S = 300.0  # a failed filing (broker away, topic missing) is tried again this much later
RECHECK_S = 600.0  # the months left for a person are looked for on the topic this often once missed
LONGEST_SLEEP_S = 60.0  # the scheduler reads the clock at least each minute: a clock set right, a
#                         machine woken, or a simulated clock (HAZARD_CLOCK_RATE) is seen within it


async def latest_hazards(bootstrap: str, app_id: str,
                         auth: Mapping[str, Any] | None = None) -> list[Hazard]:
    """Every hazard's latest state in the table's changelog (a deleted key drops out), with its
    whole history from the history table's changelog."""
    latest: dict[bytes, bytes | None] = {}
    for r in await read_to_end(bootstrap, f"{app_id}-{TABLES['hazard']}-changelog", auth):
        latest[r.key] = r.value
    history = {r.key: r.value for r in await read_to_end(
        bootstrap, f"{app_id}-{HISTORY_TABLES['hazard']}-changelog", auth)}
    return [unpack(v, history=history) for v in latest.values() if v]


def _sent_at(outs: list[Out], now: float) -> list[Out]:
    """The filings with the time they are sent (`filed_at`): a month filed late says so."""
    for out in outs:
        out.event["data"]["filed_at"] = iso(int(now))
    return outs


async def _publish(bootstrap: str, prefix: str, outs: list[Out], auth: Mapping[str, Any] | None) -> None:
    for topic in sorted({o.topic for o in outs}):
        await require_topic(bootstrap, prefix + topic, auth)
    async with opened(producer(bootstrap, auth)) as prod:
        sent = [await prod.send(prefix + o.topic, record_value(o), key=o.key.encode(),
                                headers=record_headers(o.topic)) for o in outs]
        await asyncio.gather(*sent)


def run(bootstrap: str, prefix: str, app_id: str, month: str, rules: Rules, publish: bool,
        as_json: bool, auth: Mapping[str, Any] | None = None) -> int:
    """Build (and optionally publish) the month's filings; print them; return 0. A month not over
    yet is refused for publishing (FilingError): the scheduler would take its filing, sent now,
    for the one due on its filing day, and send none then."""
    now = time.time()
    if publish and month_bounds(month)[1] > now:
        raise FilingError(f"month {month} is not over yet: a filing of it published now would stand "
                          "in for the one due on its filing day; publish it after the month's end")
    hazards = asyncio.run(latest_hazards(bootstrap, app_id, auth))
    outs = monthly_filings(hazards, month, rules)
    copied, not_copied = 0, None
    if publish:
        asyncio.run(_publish(bootstrap, prefix, _sent_at(outs, now), auth))
        try:
            copied = asyncio.run(copy_for_organisation(bootstrap, prefix, month, auth))
        except (EngineError, KafkaError, OSError) as exc:
            not_copied = exc
    if as_json:
        print(json.dumps([o.event for o in outs], ensure_ascii=False, indent=2))
    else:
        for o in outs:
            d = o.event["data"]
            print(f"{d['subject_id']:<22} {len(d['timeline']):>4} steps  {d['reason']}")
        print(f"{len(outs)} filings for {month} from {len(hazards)} hazards"
              + (f", published to {prefix}referrals.discipline ({copied} copied to "
                 f"{prefix}{FILINGS_ORGANISATION} for the organisation department)" if publish
                 else " (not published)"))
    if not_copied is not None:
        print(f"filing: the filings went to {prefix}{REFERRALS_DISCIPLINE}, but no copy for the "
              f"organisation department did ({not_copied}); a running `filing --schedule` makes the "
              "copies within 10 minutes, or run this again once that is mended", file=sys.stderr)
        return 2
    return 0


def due_month(ts: float, day: int) -> str:
    """The latest month whose filing has fallen due at `ts`: month M's falls due at 00:00 district
    time on day `day` of the month after M."""
    local = datetime.fromtimestamp(ts, SHANGHAI)
    return months_back(local.strftime("%Y-%m"), 1 if local.day >= day else 2)


def due_at(month: str, day: int) -> float:
    """When `month`'s filing falls due: 00:00 district time on day `day` of the month after."""
    _, following = month_bounds(month)
    return datetime.fromtimestamp(following, SHANGHAI).replace(day=day).timestamp()


def month_after(month: str) -> str:
    """The month after `month`, both as YYYY-MM."""
    return months_back(month, -1)


@dataclass
class OnTopic:
    """What the topic holds of one department's filing of one month: the original filing's id, and
    the hazards it and its supplements counted as found (None when a filing made before 2026-12-08
    does not name them: late hazards of that month cannot be told, and are not supplemented)."""

    referral_id: str | None = None
    found: set[str] | None = field(default_factory=set)


async def on_topic(bootstrap: str, topic: str, auth: Mapping[str, Any] | None = None
                   ) -> dict[tuple[str, str], OnTopic]:
    """The periodic filings already on `topic`, by (month, department). A filing is dated at its
    month's last second (engine/decide/filing.py), so its month is its time's in district time.
    A record that is not such a filing is passed over (the topic carries every referral to
    discipline inspection), and so is one under an id sent before: a subscriber keeps the first
    (a month published again by hand, whose hazards counted now its first did not count)."""
    there: dict[tuple[str, str], OnTopic] = {}
    for month, event in await _filings(bootstrap, topic, auth):
        data = event["data"]
        filing = there.setdefault((month, data["subject_id"]), OnTopic())
        if not data.get("supplements") and filing.referral_id is None:
            filing.referral_id = data["referral_id"]
        found = data.get("found_ids")
        if not isinstance(found, list) or not all(isinstance(hazard_id, str) for hazard_id in found):
            found = None  # not a list of ids: as if it named none
        if found is None and not data.get("supplements"):
            filing.found = None
        elif filing.found is not None and found is not None:
            filing.found.update(found)
    return there


async def _filings(bootstrap: str, topic: str, auth: Mapping[str, Any] | None
                   ) -> list[tuple[str, dict[str, Any]]]:
    """The periodic filings (and supplements) on `topic`, each with its month, in the topic's order;
    one under an id sent before is left out (a subscriber keeps the first)."""
    filings = []
    seen: set[str] = set()
    for record in await read_to_end(bootstrap, topic, auth):
        try:
            event = json.loads(record.value)
            data = event["data"]
            if data["grounds"] != "periodic_filing" or data["referral_id"] in seen:
                continue
            month = datetime.fromisoformat(event["time"]).astimezone(SHANGHAI).strftime("%Y-%m")
            if not isinstance(data["subject_id"], str) or not isinstance(data["referral_id"], str):
                continue
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
        seen.add(data["referral_id"])
        filings.append((month, event))
    return filings


async def copy_for_organisation(bootstrap: str, prefix: str, since: str,
                                auth: Mapping[str, Any] | None = None) -> int:
    """Copy to filings.organisation each filing and supplement on referrals.discipline of a month
    from `since` on that is not copied yet, as it was sent (its first record under its id): the
    plans file supervision results with the organisation department too ("抄报同级纪委监委及组织部门
    备案", line 798). The referrals themselves (other grounds) are not copied. Returns how many
    were sent."""
    copied = {event["data"]["referral_id"]
              for _, event in await _filings(bootstrap, prefix + FILINGS_ORGANISATION, auth)}
    todo = [Out(FILINGS_ORGANISATION, event["data"]["subject_id"], event)
            for month, event in await _filings(bootstrap, prefix + REFERRALS_DISCIPLINE, auth)
            if month >= since and event["data"]["referral_id"] not in copied]
    if todo:
        await _publish(bootstrap, prefix, todo, auth)
    return len(todo)


async def filed(bootstrap: str, topic: str, auth: Mapping[str, Any] | None = None) -> set[tuple[str, str]]:
    """The (month, department) of the periodic filings already on `topic` (`on_topic`)."""
    return set(await on_topic(bootstrap, topic, auth))


def months_back(month: str, count: int) -> str:
    """The month `count` months before `month`, both as YYYY-MM."""
    year, number = map(int, month.split("-"))
    index = year * 12 + number - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_to_file(due: str, filed_months: Iterable[str], limit: int = CATCH_UP_MONTHS
                   ) -> tuple[list[str], list[str]]:
    """The months to file when `due` falls due, oldest first, and those a stop left for a person.

    After a stop of the scheduler over one or more filing days, the months since the
    latest month with a filing on the topic have none: while that month is at most `limit`
    months before `due`, they are filed, with `due`, and that latest month again (its
    departments a publish cut short). A latest filing older than that is no stop the
    scheduler can tell from a stray filing made by hand before the engine was in use,
    so then `due` alone is filed and the months between are returned as missed, for a
    person to file by hand (`--month`). Nothing filed before `due` (a new deployment):
    `due` alone, its past is not filed. A gap before the latest month filed, or months
    dated after `due` (a clock set back), are not this stop's: they are left.
    """
    before = [month for month in filed_months if month < due]
    if not before:
        return [due], []
    latest = max(before)
    since = []
    month = month_after(latest)
    while month < due:
        since.append(month)
        month = month_after(month)
    if latest < months_back(due, limit):
        return [due], since
    return [latest, *since, due], []


async def file_due(bootstrap: str, prefix: str, app_id: str, due: str, rules: Rules,
                   auth: Mapping[str, Any] | None = None, *, day: int = 1,
                   real_now: float | None = None) -> Due:
    """Publish the filings of `due`, and of the months before it a stop left out
    (`months_to_file`), that are not on the topic yet: a department's month is filed once,
    whatever rules version or person filed it, and a hazard the month's filings sent counted is
    not counted again by a department filed afterwards. Returns, for each month looked at, (month,
    sent, already there); the months left for a person (`months_to_file`'s missed, and
    months to catch up that ended before the first hazard the engine knows was opened: it
    cannot tell a stop from months before it was in use), each due by the real clock; and the
    months not filed because they have not fallen due (on filing day `day`) by the real clock
    (`real_now`), the engine's being ahead: a month filed early would stand in for the one due
    later.
    """
    topic = prefix + REFERRALS_DISCIPLINE
    await require_topic(bootstrap, topic, auth)
    there = await on_topic(bootstrap, topic, auth)
    filed_months = {month for month, _ in there}
    months, missed = months_to_file(due, filed_months)
    real_now = time.time() if real_now is None else real_now
    ahead = [month for month in months if due_at(month, day) > real_now]
    missed = [month for month in missed if due_at(month, day) <= real_now]
    hazards = await latest_hazards(bootstrap, app_id, auth)
    first = min((h.opened_at for h in hazards if h.opened_at is not None), default=None)
    done = []
    for month in months:
        if month in ahead:
            continue
        if month != due and (first is None or month_bounds(month)[1] <= first):
            if month not in filed_months:
                missed.append(month)
            continue
        counted = frozenset().union(*(f.found for (m, _), f in there.items() if m == month and f.found))
        outs = monthly_filings(hazards, month, rules, counted)
        todo = [o for o in outs if (month, o.event["data"]["subject_id"]) not in there]
        if todo:
            await _publish(bootstrap, prefix, _sent_at(todo, real_now), auth)
        done.append((month, len(todo), len(outs) - len(todo)))
    return Due(done, sorted(missed), ahead)


async def supplement_due(bootstrap: str, prefix: str, app_id: str, due: str, rules: Rules,
                         auth: Mapping[str, Any] | None = None, *, day: int = 1,
                         real_now: float | None = None) -> list[tuple[str, str, int]]:
    """Send the supplements (engine/decide/filing.py `supplements`) of the months filed before
    `due`, up to CATCH_UP_MONTHS back and due by the real clock, for the hazards found in them
    that no filing counted. A month one of whose filings does not name its hazards is left. Returns
    each sent as (month, department, hazards named)."""
    there = await on_topic(bootstrap, prefix + REFERRALS_DISCIPLINE, auth)
    real_now = time.time() if real_now is None else real_now
    hazards = await latest_hazards(bootstrap, app_id, auth)
    sent = []
    for month in sorted({month for month, _ in there}):
        of_month = {dept: filing for (m, dept), filing in there.items() if m == month}
        if not months_back(due, CATCH_UP_MONTHS) <= month < due or due_at(month, day) > real_now or any(
                f.found is None or f.referral_id is None for f in of_month.values()):
            continue  # out of reach, or a filing that does not say which hazards it counted
        elsewhere = frozenset().union(*(f.found for (m, _), f in there.items()
                                        if m != month and f.found is not None))
        outs = supplements(hazards, month, rules,
                           {dept: (f.referral_id, frozenset(f.found)) for dept, f in of_month.items()
                            if f.referral_id is not None and f.found is not None}, elsewhere)
        if outs:
            await _publish(bootstrap, prefix, _sent_at(outs, real_now), auth)
        sent += [(month, o.event["data"]["subject_id"], len(o.event["data"]["found_ids"] or []))
                 for o in outs]
    return sent


class Due(NamedTuple):
    """What `file_due` did and left."""

    done: list[tuple[str, int, int]]
    missed: list[str]
    ahead: list[str]


async def still_missed(bootstrap: str, prefix: str, months: Iterable[str], rules: Rules,
                       auth: Mapping[str, Any] | None = None) -> list[str]:
    """Of `months` (left for a person), in order, those that some sector-leading department has
    no filing of on the topic yet: a month filed in part by hand is still missing the rest."""
    leads = {sector.lead.id for sector in rules.reference.sectors.values()}
    there: dict[str, set[str]] = {}
    for month, dept in await filed(bootstrap, prefix + REFERRALS_DISCIPLINE, auth):
        there.setdefault(month, set()).add(dept)
    return sorted(month for month in set(months) if not leads <= there.get(month, set()))


def _show_missed(metrics: FilingMetrics, missed: list[str]) -> None:
    """The months missed as one series that names the first and the last, so an alert can say them."""
    metrics.missed.clear()
    first, last = (missed[0], missed[-1]) if missed else ("", "")
    metrics.missed.labels(first=first, last=last).set(len(missed))


async def schedule(bootstrap: str, prefix: str, app_id: str, rules: Rules, day: int,
                   auth: Mapping[str, Any] | None = None, *, metrics: FilingMetrics,
                   clock: Callable[[], float] = time.time,
                   sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                   real_clock: Callable[[], float] = time.time) -> None:
    """File each month as it falls due, until stopped; `clock` is the engine's (HAZARD_CLOCK_*),
    `real_clock` the host's.

    Whenever a new month is due (at start, then on each filing day), it is filed
    unless it already is, with the months since the latest month filed that a
    longer stop of the scheduler left out (`file_due`): so a scheduler that was
    down when a month fell due files it when it comes back. Months after a filing
    older than the catch-up's bound are logged as `filing.missed`, to be filed by hand
    with `--month`, and months not yet due by the real clock as `filing.clock_ahead`: the
    month due among them is filed once the real clock reaches its filing day. A
    failure is logged and tried again after RETRY_S: a due month is never given up.
    `metrics` says all of it to Prometheus. The months missed are kept from one filing day
    to the next (not across a restart: the log line is the lasting record) and looked for on
    the topic every RECHECK_S, so that their alert ends once a person has filed them. After each
    filing, apart from it, come the supplements of the months before (`supplement_due`) and the
    copies for the organisation department (`copy_for_organisation`): one that fails holds back
    no filing and is tried again every RECHECK_S, and the copies are made every RECHECK_S too, so
    one a crash or a filing by hand left out is made then.
    """
    done: str | None = None
    missed: list[str] = []
    # Intervals run on the real clock: the engine's may be set back, or run at a simulated rate.
    looked = 0.0  # when the months missed were last looked for
    followed: float | None = None  # when the supplements and copies were last made
    supplements_due = False
    not_before = 0.0  # the real time before which no month waiting is due: the engine's clock is ahead
    while True:
        now = clock()
        month = due_month(now, day)
        if month != done and real_clock() >= not_before:
            metrics.unfiled.set(1)
            try:
                filed_now, found_missed, ahead = await file_due(
                    bootstrap, prefix, app_id, month, rules, auth, day=day, real_now=real_clock())
            except (EngineError, KafkaError, OSError, StoredFormatError) as exc:
                metrics.failures.inc()
                log.warning("filing.failed", month=month, error=str(exc), retry_in_s=RETRY_S)
                await sleep(RETRY_S)
                continue
            missed = sorted({*missed, *found_missed})
            _show_missed(metrics, missed)
            looked = 0.0  # look at once which of them are filed
            metrics.ahead.set(len(ahead))
            # Filed, or waiting for the real clock to reach the earliest month it has not made due
            # (not a failure: PeriodicFilingClockAhead says it).
            metrics.unfiled.set(0)
            if month in ahead:
                not_before = due_at(min(ahead), day)
            else:
                done = month
                metrics.filed_at.set(real_clock())
            if found_missed:
                log.warning("filing.missed", months=found_missed, due=month,
                            hint="check whether the engine was in use then; file each month that "
                                 "should be by hand: hazard-engine filing --month M --publish")
            if ahead:
                log.warning("filing.clock_ahead", months=ahead, due=month,
                            hint="the engine's clock is ahead of the real one: these months are not "
                                 "due yet and are not filed; set the clock right (HAZARD_CLOCK_*); "
                                 "the scheduler files each when it falls due by the real clock too")
            for filed_month, sent, there in filed_now:
                metrics.sent.labels(caught_up=str(filed_month != month).lower()).inc(sent)
                if filed_month == month:
                    log.info("filing.filed", month=month, sent=sent, already_filed=there)
                elif sent:  # a month a stop left out (or cut short), filed now
                    log.info("filing.filed", month=filed_month, sent=sent, already_filed=there,
                             caught_up=True)
            followed = None  # supplement and copy what was just sent
            supplements_due = supplements_due or month == done
        if missed and real_clock() - looked >= RECHECK_S:
            looked = real_clock()
            try:
                missed = await still_missed(bootstrap, prefix, missed, rules, auth)
            except (EngineError, KafkaError, OSError) as exc:
                log.warning("filing.recheck_failed", months=missed, error=str(exc), retry_in_s=RECHECK_S)
            _show_missed(metrics, missed)
        if followed is None or real_clock() - followed >= RECHECK_S:
            followed = real_clock()
            if supplements_due:
                supplements_due = not await _supplement(bootstrap, prefix, app_id, month, rules, auth, day,
                                                        metrics, real_clock())
            await _copy(bootstrap, prefix, months_back(month, CATCH_UP_MONTHS), auth, metrics)
        wake = due_at(month_after(month), day) - now if month == done else not_before - real_clock()
        await sleep(max(1.0, min(wake, LONGEST_SLEEP_S)))


async def _supplement(bootstrap: str, prefix: str, app_id: str, due: str, rules: Rules,
                      auth: Mapping[str, Any] | None, day: int, metrics: FilingMetrics,
                      real_now: float) -> bool:
    """`supplement_due`, its outcome logged and shown; False when it failed (to try again later)."""
    try:
        sent = await supplement_due(bootstrap, prefix, app_id, due, rules, auth, day=day, real_now=real_now)
    except (EngineError, KafkaError, OSError, StoredFormatError) as exc:
        metrics.follow_up_failing.labels(step="supplement").set(1)
        log.warning("filing.supplement_failed", due=due, error=str(exc), retry_in_s=RECHECK_S)
        return False
    metrics.follow_up_failing.labels(step="supplement").set(0)
    for month, department, hazards in sent:
        metrics.supplements.inc()
        log.info("filing.supplemented", month=month, department=department, hazards=hazards)
    return True


async def _copy(bootstrap: str, prefix: str, since: str, auth: Mapping[str, Any] | None,
                metrics: FilingMetrics) -> None:
    """`copy_for_organisation`, its outcome logged and shown; a failure is tried again later."""
    try:
        copied = await copy_for_organisation(bootstrap, prefix, since, auth)
    except (EngineError, KafkaError, OSError) as exc:
        metrics.follow_up_failing.labels(step="copy").set(1)
        log.warning("filing.copy_failed", topic=FILINGS_ORGANISATION, error=str(exc), retry_in_s=RECHECK_S)
        return
    metrics.follow_up_failing.labels(step="copy").set(0)
    if copied:
        metrics.copies.inc(copied)
        log.info("filing.copied", topic=FILINGS_ORGANISATION, sent=copied)


def scheduler_pages(registry: CollectorRegistry) -> Pages:
    """The scheduler's own pages: `/metrics` (FilingMetrics and the process's) and `/healthz`."""
    pages = Pages()
    metrics_page(pages, registry)
    liveness_page(pages)
    return pages


def run_schedule(bootstrap: str, prefix: str, app_id: str, rules: Rules, day: int,
                 auth: Mapping[str, Any] | None, clock: Callable[[], float], *,
                 listen: tuple[str, int], limits: Limits) -> int:
    """`filing --schedule`: file each month as it falls due until stopped (Ctrl-C ends it
    quietly), serving its metrics at `listen` (HAZARD_FILING_BIND, HAZARD_FILING_PORT)."""
    registry = CollectorRegistry()
    registry.register(PROCESS_COLLECTOR)
    metrics = FilingMetrics(registry)
    server = Server(scheduler_pages(registry), *listen, limits)

    async def serve_and_schedule() -> None:
        await server.start()
        scheduling = asyncio.ensure_future(
            schedule(bootstrap, prefix, app_id, rules, day, auth, metrics=metrics, clock=clock))
        # SIGTERM (docker stop, systemd) ends it as Ctrl-C does: in a container it is process 1,
        # which Python gives no default handler for that signal.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, scheduling.cancel)
        try:
            await scheduling
        except asyncio.CancelledError:
            if not scheduling.cancelled():
                raise
        finally:
            await server.stop()

    log.info("filing.scheduled", day_of_month=day, next_month_due=month_after(due_month(clock(), day)))
    try:
        asyncio.run(serve_and_schedule())
    except KeyboardInterrupt:
        pass
    except EngineError as exc:  # its port in use, or an address not this machine's
        log.error("filing.cannot_listen", error=str(exc))
        return 2
    return 0
