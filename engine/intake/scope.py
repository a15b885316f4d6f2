"""A field-app token's town scope, held at intake for every event about a subject (contract s. 1, v2).

Events that name a town (a report, an inspection, an alert's raising) can be
checked where they come in, at `POST /events`. A verdict, a rectification
record, an extension request or decision, an alert's acknowledgement or close
name none: their town is the one their subject was opened in, which only the
subject's state knows, and that state lives on the worker that owns the
subject's partition, the one whose intake stage takes the record. So the HTTP
door stamps the token's towns on every record it sends (`TOWNS_HEADER`, set by
the server and never taken from the client), and the intake stage judges each
stamped event against the town of its subject:

- the town the event itself names, and the town its subject's state was opened
  in, must each be one of the token's towns, else `outside_scope`;
- an event that names no town about a subject whose town the engine does not
  know yet (never reported here, or an orphan) is taken, as the contract
  (section 3) takes events ahead of their subject's opening, with the stamp on
  its timeline entries (`stamp_fields`): the decision holds it to the stamp
  once the subject has a town (engine/kernel/scope.py), so a verdict sent ahead
  under another town's next hazard id never applies there;
- a record without the header (published straight to Kafka: the broker's ACLs
  decide who may write the intake topics) and a token not limited to towns
  (`ALL_TOWNS`) are held to no town.

A header that cannot be read allows no town: whoever can set it can only
narrow what they may send. This is pure: the event, the header and a look-up
into the subjects' towns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine import codec
from engine.contract.outputs import RejectionError
from engine.intake.timeline import Normalised

FIELD_APP_HEADER = "field-app"  # on each record `POST /events` sends: the token's name, for audits
TOWNS_HEADER = "field-app-towns"  # and the token's towns
ALL_TOWNS = b"*"  # the header of a token not limited to towns
# A subject's town, by its kind ("hazard", "alert", "enterprise") and id; None when not known.
TownOf = Callable[[str, str], str | None]


def stamp(towns: Iterable[str]) -> bytes:
    """The header value for a token limited to `towns`: a JSON array of them; ALL_TOWNS for none."""
    listed = sorted(set(towns))
    return codec.dumps(listed) if listed else ALL_TOWNS


def towns_of(headers: Iterable[tuple[str, bytes | None]]) -> frozenset[str] | None:
    """The towns a record's stamp allows; None when it carries no stamp or an ALL_TOWNS one.

    A stamp that is not a JSON array of ids, or given twice, allows no town (fail closed).
    """
    stamps = [value for name, value in headers if name.lower() == TOWNS_HEADER]
    if not stamps:
        return None
    value = stamps[0] if len(stamps) == 1 else None  # two stamps: which one counts is unclear
    if value == ALL_TOWNS:
        return None
    try:
        listed = codec.loads(value) if value is not None else None
    except codec.JSONDecodeError:
        return frozenset()
    if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
        return frozenset()
    return frozenset(listed)


def named_town(event: Normalised) -> str | None:
    """The town an event names itself (`data.location.town`), if it names one."""
    location = event.data.get("location")
    town = location.get("town") if isinstance(location, dict) else None
    return town if isinstance(town, str) else None


def foreign_findings(found: Iterable[tuple[int, str]], own: str | None, town_of: TownOf,
                     allowed: Callable[[str], bool]) -> list[tuple[int, str, str]]:
    """(place, hazard id, town) of each finding of an inspection in town `own` that names a hazard
    known (`town_of`) in another town the token is not `allowed`. A finding opens its hazard in the
    inspection's town: dated before the report that opened the hazard elsewhere, it would move
    another town's hazard into the token's. The intake stage and a worker's door both ask this."""
    out = []
    for i, hazard in found:
        there = town_of("hazard", hazard)
        if there is not None and there != own and not allowed(there):
            out.append((i, hazard, there))
    return out


def _found(event: Normalised) -> list[tuple[int, str]]:
    """(place, hazard id) of each finding of an inspection; none for any other event."""
    if event.event_type.subject_kind != "inspection":
        return []
    findings = event.data.get("findings")
    return [(i, f["hazard_id"]) for i, f in enumerate(findings or ()) if isinstance(f, dict)
            and isinstance(f.get("hazard_id"), str)]


def opened_towns(event: Normalised) -> tuple[tuple[str, str, str], ...]:
    """(kind, subject, town) of each subject an accepted event may open in the town it names: its
    own, and an inspection's findings' hazards. Until the event is decided and stored, these are
    the only record of those towns (the runtime keeps them a while: `OpenedTowns`)."""
    town = named_town(event)
    if town is None:
        return ()
    found = [("hazard", hazard, town) for _, hazard in _found(event)]
    return ((event.event_type.subject_kind, event.subject, town), *found)


class OpenedTowns:
    """The towns of the subjects opened by events accepted lately, until their states hold them.

    The intake stage judges a batch's records before any of them is decided, so a verification
    sent right after its report finds no hazard state yet; this knows the report's town. At most
    `kept` subjects, the oldest forgotten first: by then their states hold their towns.
    """

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._towns: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self._towns)

    def note(self, opened: Iterable[tuple[str, str, str]]) -> None:
        """Remember the towns of subjects just opened."""
        for kind, subject, town in opened:
            self._towns.pop((kind, subject), None)  # re-inserted: the newest is forgotten last
            self._towns[(kind, subject)] = town
        while len(self._towns) > self.kept:
            del self._towns[next(iter(self._towns))]

    def get(self, kind: str, subject: str) -> str | None:
        """The town a subject was opened in lately, or None."""
        return self._towns.get((kind, subject))


def _allowed(towns: frozenset[str]) -> str:
    return ", ".join(sorted(towns)) if towns else "no town (its stamp could not be read)"


def scope_problems(event: Normalised, towns: frozenset[str], town_of: TownOf) -> list[RejectionError]:
    """Why an event stamped with `towns` is outside its token's scope; empty when within it.

    Both the town the event names and its subject's town (`town_of`) are judged, so a second
    report naming the token's town cannot reach a subject opened in another.
    """
    kind, subject = event.event_type.subject_kind, event.subject
    own, known = named_town(event), town_of(kind, subject)
    problems = []
    if own is not None and own not in towns:
        problems.append(RejectionError(
            loc=["data", "location", "town"], type="outside_scope",
            msg=f"town {own[:100]!r} is outside the scope of the field-app token that sent this "
            f"event: it may send for {_allowed(towns)}"))
    if known is not None and known != own and known not in towns:
        problems.append(RejectionError(
            loc=["subject"], type="outside_scope",
            msg=f"{kind} {subject[:200]!r} is in town {known[:100]!r}, outside the scope of the "
            f"field-app token that sent this event: it may send for {_allowed(towns)}"))
    for i, hazard, there in foreign_findings(_found(event), own, town_of, towns.__contains__):
        problems.append(RejectionError(
            loc=["data", "findings", i, "hazard_id"], type="outside_scope",
            msg=f"hazard {hazard[:200]!r} is in town {there[:100]!r}, outside the scope of the "
            f"field-app token that sent this inspection: it may send for {_allowed(towns)}"))
    return problems


def field_app_of(headers: Iterable[tuple[str, bytes | None]]) -> str | None:
    """The name of the token `POST /events` stamped a record with (`FIELD_APP_HEADER`), if any."""
    for name, value in headers:
        if name.lower() == FIELD_APP_HEADER and value is not None:
            return value.decode("utf-8", "replace")
    return None


def stamp_fields(towns: frozenset[str], headers: Iterable[tuple[str, bytes | None]]) -> dict[str, object]:
    """What each timeline entry of an event stamped with `towns` carries of the stamp: the towns,
    sorted, and the token's name (engine/kernel/entries.py `TOWNS`, `FIELD_APP`)."""
    app = field_app_of(headers)
    return {"towns": sorted(towns), **({"field_app": app} if app is not None else {})}
