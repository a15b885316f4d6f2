"""Fuzzed intake records drawn with Hypothesis from the contract's JSON Schemas.

`from_schema` turns the subset of JSON Schema that `topics/schemas/` uses
(objects, `$ref`, `anyOf`, `const`, `enum`, bounded strings, numbers, arrays,
`date` and `date-time` formats) into a Hypothesis strategy. Field names the
engine checks against reference data (towns, USCCs, subjects) draw from
values that can pass, so a good share of the schema-valid events are accepted
and reach the rules. `records` then mixes three kinds:

- schema-valid events;
- subtly invalid ones: one mutation of a valid event (a required field gone,
  a wrong type, a value outside its enum, a time without an offset, an
  unknown town, a broken USCC check character, a field the contract does not
  have, a type sent to the wrong topic, truncated JSON);
- raw random bytes;
- hostile keys: random bytes, invalid UTF-8, keys past the rejection's 256-byte
  excerpt up to a MiB, on otherwise valid or invalid events;
- hostile headers: binary-mode (`ce_*`) records, some valid and some with
  garbage (invalid UTF-8, null values, attributes twice, upper-case or
  non-ASCII names, too many headers, huge values, mixed with structured mode),
  and odd headers beside structured events;
- null keys on valid events, structured or binary, as the CloudEvents SDKs send
  without a key mapper: they land on any partition, and the engine forwards
  those away from their subject's partition (the accounting counts each once).

The engine's verdict on each record is not predicted here: the fault test
runs the same records through the pure intake and compares.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.contract.uscc import ALPHABET, check_character

Json = Any
SCHEMAS = Path(__file__).resolve().parents[2] / "topics" / "schemas"
START = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Fuzzed:
    """One record to send: its topic (contract name), key and raw value, and how it was made."""

    topic: str
    key: bytes | None
    value: bytes
    kind: str  # "valid", "mutated:<how>", "bytes", "key:<how>", "headers:<how>" or "null_key:<mode>"
    headers: tuple[tuple[str, bytes | None], ...] = ()


def intake_schemas(root: Path = SCHEMAS) -> dict[str, dict[str, Any]]:
    """The JSON Schema of every intake event type, by type, with the topic it belongs on."""
    out = {}
    for path in sorted(root.glob("*.json")):
        schema = json.loads(path.read_text())
        if schema.get("x-topic") in {"hazard.reports", "inspection.findings",
                                     "rectification.updates", "responder.alerts"}:
            out[path.stem] = schema
    return out


times = st.integers(0, 60 * 86400).map(
    lambda s: (START + timedelta(seconds=s)).astimezone().isoformat(timespec="seconds"))
dates = st.integers(0, 400).map(lambda d: (START + timedelta(days=d)).date().isoformat())
usccs = st.text(ALPHABET, min_size=11, max_size=11).map(
    lambda body: "913715" + body + check_character("913715" + body))
subjects = st.integers(1, 300).map(lambda n: f"HZ-F{n:04d}")


ROLES = ["inspector", "expert", "enterprise", "grid_worker", "info_officer", "supervisor"]
actors = st.fixed_dictionaries({"id": st.text(min_size=1, max_size=12), "role": st.sampled_from(ROLES)},
                               optional={"name": st.text(min_size=1, max_size=12)})


def overrides(towns: list[str]) -> dict[str, st.SearchStrategy[Json]]:
    """Strategies for fields whose values the engine checks against reference data."""
    return {
        "by": actors,
        "reporter": actors,
        "lat": st.none(),
        "lon": st.none(),
        "town": st.sampled_from(towns),
        "uscc": usccs,
        "time": times,
        "subject": subjects,
        "hazard_id": subjects,
        "specversion": st.just("1.0"),
        "source": st.sampled_from(["app://patrol", "app://enterprise", "app://inspect"]),
        "id": st.uuids().map(str),
    }


def from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None,
                named: dict[str, st.SearchStrategy[Json]] | None = None,
                name: str | None = None) -> st.SearchStrategy[Json]:
    """A strategy for documents valid under `schema` (the subset the contract's schemas use)."""
    root = root or schema
    named = named or {}
    if name in named:
        return named[name]
    if "$ref" in schema:
        target = schema["$ref"].removeprefix("#/$defs/")
        return st.deferred(lambda: from_schema(root["$defs"][target], root, named, name))
    if "anyOf" in schema:
        return st.one_of([from_schema(s, root, named, name) for s in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: from_schema(v, root, named, k) for k, v in props.items() if k in required},
            optional={k: from_schema(v, root, named, k) for k, v in props.items()
                      if k not in required})
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), root, named, name),
                        min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 4), 4))
    if kind == "string":
        if schema.get("format") == "date-time":
            return times
        if schema.get("format") == "date":
            return dates
        return st.text(min_size=schema.get("minLength", 0),
                       max_size=min(schema.get("maxLength", 40), 40))
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kind == "number":
        return st.floats(schema.get("minimum", -1e9), schema.get("maximum", 1e9),
                         allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    return st.none()  # "null", and a schema without a type


Mutation = Callable[[dict[str, Any], random.Random, str], tuple[str, bytes]]


def _dump(event: Any) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def _drop_required(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    field = rng.choice(["id", "source", "type", "time", "subject", "data", "specversion"])
    event.pop(field, None)
    return topic, _dump(event)


def _wrong_type(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    field = rng.choice(["time", "subject", "data", "id"])
    event[field] = rng.choice([42, [], {"x": 1}, True])
    return topic, _dump(event)


def _bad_enum(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    event["type"] = rng.choice(["safety.hazard.exploded", "", "SAFETY.HAZARD.REPORTED"])
    return topic, _dump(event)


def _naive_time(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    event["time"] = "2026-09-03T09:00:00"  # no offset: the contract rejects it
    return topic, _dump(event)


def _unknown_town(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    data = event.get("data")
    if isinstance(data, dict) and isinstance(data.get("location"), dict):
        data["location"]["town"] = "NOWHERE-99"
    else:
        event["data"] = {"location": {"town": "NOWHERE-99"}}
    return topic, _dump(event)


def _broken_uscc(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    data = event.get("data")
    code = "913715" + "".join(rng.choice(ALPHABET) for _ in range(11))
    wrong = next(c for c in ALPHABET if c != check_character(code))
    if isinstance(data, dict):
        data["enterprise"] = {"uscc": code + wrong, "name": "Fuzz Co."}
    return topic, _dump(event)


def _extra_field(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    if isinstance(event.get("data"), dict):
        event["data"]["unexpected_field"] = "x"
    return topic, _dump(event)


def _wrong_topic(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    others = [t for t in ("hazard.reports", "inspection.findings", "rectification.updates",
                          "responder.alerts") if t != topic]
    return rng.choice(others), _dump(event)


def _truncated(event: dict[str, Any], rng: random.Random, topic: str) -> tuple[str, bytes]:
    raw = _dump(event)
    return topic, raw[: rng.randrange(1, max(2, len(raw)))]


MUTATIONS: dict[str, Mutation] = {
    "drop_required": _drop_required, "wrong_type": _wrong_type, "bad_type": _bad_enum,
    "naive_time": _naive_time, "unknown_town": _unknown_town, "broken_uscc": _broken_uscc,
    "extra_field": _extra_field, "wrong_topic": _wrong_topic, "truncated": _truncated,
}


SUBJECT_FIELDS = ("hazard_id", "alert_id", "inspection_id")


def coherent(event: dict[str, Any]) -> dict[str, Any]:
    """Make the subject agree with the data's id, as field apps do, so rules can act on it."""
    data = event.get("data")
    for name in SUBJECT_FIELDS:
        if isinstance(data, dict) and isinstance(data.get(name), str):
            event["subject"] = data[name]
    return event


def draw_events(schemas: dict[str, dict[str, Any]], towns: list[str], per_type: int,
                seed: int) -> list[tuple[str, dict[str, Any]]]:
    """Draw `per_type` schema-valid events of every intake type, as (topic, event) pairs.

    The draw is the same on every run of one tree (`derandomize`), not across trees: Hypothesis
    also draws the literals it finds in the project's modules imported by then (strings and
    numbers of engine/ and tests/, hypothesis.internal.conjecture.providers
    `_get_local_constants`), so a literal added to the engine, or a module imported first, gives
    other events, and the fault suite's accepted/rejected/duplicate counts move between trees
    with no change in what the engine does with any one record (found 2026-12-07: importing
    engine.intake.process before the draw changes it). The engine's own literals are good
    hostile input, so they are left in."""
    named = overrides(towns)
    out: list[tuple[str, dict[str, Any]]] = []
    for schema in schemas.values():
        strategy = from_schema(schema, named=named)
        topic = schema["x-topic"]

        @settings(max_examples=per_type, database=None, deadline=None, derandomize=True,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(strategy.map(lambda event, topic=topic: (topic, coherent(event))))
        def collect(pair: tuple[str, dict[str, Any]]) -> None:
            out.append(pair)

        collect()
    random.Random(seed).shuffle(out)
    return out


Headers = tuple[tuple[str, bytes | None], ...]


def _hostile_key(rng: random.Random, key: bytes | None) -> tuple[str, bytes | None]:
    how = rng.choice(["random", "invalid_utf8", "long", "long", "empty", "none", "huge"])
    if how == "huge" and rng.random() < 0.1:  # a MiB now and then: the excerpt must bound it
        return how, rng.randbytes(1024 * 1024)
    if how in ("long", "huge"):
        return "long", (key or b"k") * rng.randrange(100, 2000) + rng.randbytes(rng.randrange(0, 64))
    return how, {"random": rng.randbytes(rng.randrange(1, 64)),
                 "invalid_utf8": (key or b"") + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80",
                                                           b"\xf8\x88\x80\x80\x80", b"\x80"]),
                 "empty": b"", "none": None}[how]


def binary_mode(event: dict[str, Any]) -> tuple[list[tuple[str, bytes | None]], bytes]:
    """`event` as a CloudEvents binary-mode record: attributes as ce_ headers, data as the value."""
    headers: list[tuple[str, bytes | None]] = [
        (f"ce_{name}", (value if isinstance(value, str) else json.dumps(value)).encode())
        for name, value in event.items() if name not in ("data", "datacontenttype")]
    headers.append(("content-type", b"application/json"))
    return headers, _dump(event.get("data"))


def _garbage(rng: random.Random) -> bytes:
    return rng.choice([b"\xff\xfe", b"\x00", rng.randbytes(rng.randrange(0, 40)), b"\xc3",
                       "名称".encode("gbk")])


def _hostile_headers(rng: random.Random, event: dict[str, Any]) -> tuple[str, Headers, bytes]:
    """One of the ways headers go wrong, as (how, headers, value)."""
    headers, value = binary_mode(event)
    how = rng.choice(["binary_valid", "binary_valid", "invalid_utf8", "null_value", "twice",
                      "upper_case", "odd_name", "many", "huge_value", "mixed_mode", "no_specversion",
                      "garbage_content_type", "odd_beside_structured"])
    i = rng.randrange(len(headers))
    if how == "invalid_utf8":
        headers[i] = (headers[i][0], _garbage(rng))
    elif how == "null_value":
        headers[i] = (headers[i][0], None)
    elif how == "twice":
        headers.insert(rng.randrange(len(headers) + 1), (headers[i][0], _garbage(rng)))
    elif how == "upper_case":
        headers[i] = (headers[i][0].upper(), headers[i][1])
    elif how == "odd_name":
        headers.append((rng.choice(["ce_é", "ce_", "ce_a b", "\x00", "", "ce_" + "x" * 300]),
                        _garbage(rng)))
    elif how == "many":
        headers += [(f"x-h{n}", b"v") for n in range(rng.randrange(60, 200))]
    elif how == "huge_value":
        headers.append((rng.choice(["ce_note", "x-trace"]), rng.randbytes(rng.randrange(2000, 200_000))))
    elif how == "mixed_mode":
        headers.append(("content-type", b"application/cloudevents+json"))
    elif how == "no_specversion":
        headers = [h for h in headers if h[0] != "ce_specversion"]
    elif how == "garbage_content_type":
        headers = [h for h in headers if h[0] != "content-type"] + [("content-type", _garbage(rng))]
    elif how == "odd_beside_structured":  # a structured event with tracing-like headers beside it
        headers = [(rng.choice(["traceparent", "x-odd", "X-ODD", "ümlaut"]), _garbage(rng))
                   for _ in range(rng.randrange(1, 4))]
        value = _dump(event)
    return how, tuple(headers), value


def records(count: int, towns: list[str], seed: int = 7, per_type: int = 150,
            share_valid: float = 0.45, share_bytes: float = 0.1, share_keys: float = 0.05,
            share_headers: float = 0.1, share_null_keys: float = 0.05) -> Iterator[Fuzzed]:
    """`count` records: schema-valid events, single mutations of them, random bytes, hostile
    keys, hostile headers and valid events with null keys.

    A pool of events is drawn with Hypothesis once; records reuse it with fresh
    ids, so some events also arrive twice (the same source and id) as duplicates.
    """
    rng = random.Random(seed)
    pool = draw_events(intake_schemas(), towns, per_type, seed)
    for n in range(count):
        roll = rng.random()
        if roll < share_bytes:
            size = rng.randrange(0, 600)
            yield Fuzzed(rng.choice(["hazard.reports", "rectification.updates"]), None,
                         rng.randbytes(size), "bytes")
            continue
        topic, base = pool[rng.randrange(len(pool))]
        event = json.loads(json.dumps(base))
        if rng.random() < 0.9:  # most get an id of their own; the rest repeat one
            event["id"] = f"fz-{seed}-{n}"
        key = event["subject"].encode() if isinstance(event.get("subject"), str) else None
        if roll < share_bytes + share_valid:
            yield Fuzzed(topic, key, _dump(event), "valid")
            continue
        if roll < share_bytes + share_valid + share_keys:
            how, hostile = _hostile_key(rng, key)
            value = _dump(event) if rng.random() < 0.7 else rng.randbytes(rng.randrange(0, 300))
            yield Fuzzed(topic, hostile, value, f"key:{how}")
            continue
        if roll < share_bytes + share_valid + share_keys + share_headers:
            how, headers, value = _hostile_headers(rng, event)
            yield Fuzzed(topic, key, value, f"headers:{how}", headers)
            continue
        if roll < share_bytes + share_valid + share_keys + share_headers + share_null_keys:
            if rng.random() < 0.5:
                yield Fuzzed(topic, None, _dump(event), "null_key:structured")
            else:
                headers, value = binary_mode(event)
                yield Fuzzed(topic, None, value, "null_key:binary", tuple(headers))
            continue
        how = rng.choice(sorted(MUTATIONS))
        target, raw = MUTATIONS[how](event, rng, topic)
        yield Fuzzed(target, key, raw, f"mutated:{how}")
