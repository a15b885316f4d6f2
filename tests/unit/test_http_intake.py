"""POST /events without a broker: token kinds and scopes, request parsing, and every answer before sending.

The answers tested here (401, 403, 400, 413, 415, 429) are all given before
anything is sent, so no broker is involved; the ones that need the broker
(202, 503, duplicates) are in tests/broker/test_http_intake_e2e.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cloudevents.v1.conversion import to_binary, to_structured
from cloudevents.v1.http import CloudEvent
from prometheus_client import CollectorRegistry

from engine.feeds.tokens import (
    FieldApp,
    TokenFileError,
    TokenStore,
    mint,
    mint_field_app,
    parse,
    parse_file,
)
from engine.http import events as http_events
from engine.http import intake
from engine.http.events import BATCH, RequestError, read_request
from engine.http.intake import RateLimiter
from engine.http.limits import BodyBudget
from engine.http.server import Pages
from engine.intake.binding import validate_kafka_record
from engine.intake.validate import json_items_at_most, json_items_over
from engine.metrics import HttpIntakeMetrics
from engine.reference import load_reference
from engine.settings import Settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
REPORT = json.loads((EXAMPLES / "hazard-reported.json").read_text())
NOW = datetime.fromisoformat(REPORT["time"]).timestamp()
STRUCTURED = {"Content-Type": "application/cloudevents+json"}


def tokens_file(tmp_path: Path, supervisors: list[str], apps: list[str]) -> Path:
    path = tmp_path / "tokens.yaml"
    text = ""
    if supervisors:
        text += "supervisors:\n" + "\n".join(supervisors) + "\n"
    if apps:
        text += "field_apps:\n" + "\n".join(apps) + "\n"
    path.write_text(text)
    return path


# --- tokens ---------------------------------------------------------------------------------


def test_a_supervisor_token_cannot_publish_and_a_field_app_token_cannot_read(tmp_path: Path) -> None:
    """The two kinds of token live in one file and never stand in for each other."""
    sup, sup_line = mint("huxi-office", ["huxi"], [], False)
    app, app_line = mint_field_app("inspector", "/apps/inspector/", ["huxi"])
    store = TokenStore.load(tokens_file(tmp_path, [sup_line], [app_line]))
    assert store.authenticate(f"Bearer {sup}").name == "huxi-office"
    assert store.authenticate_field_app(f"Bearer {sup}") is None
    assert store.authenticate_field_app(f"Bearer {app}") == FieldApp("inspector", "/apps/inspector/",
                                                                     frozenset({"huxi"}))
    assert store.authenticate(f"Bearer {app}") is None


def test_a_file_of_field_apps_only_is_valid_and_old_files_read_as_before(tmp_path: Path) -> None:
    """Supervisors' files without field_apps are unchanged; a file may hold field apps alone."""
    _, line = mint_field_app("sensor", None, [])
    supervisors, apps = parse_file("field_apps:\n" + line)
    assert supervisors == {} and [a.name for a in apps.values()] == ["sensor"]
    _, sup_line = mint("d", [], [], True)
    assert list(parse("supervisors:\n" + sup_line).values())[0].district


@pytest.mark.parametrize(("text", "message"), [
    ("field_apps:\n  - {hash: 'sha256:" + "0" * 64 + "'}", "give the field app a name"),
    ("field_apps:\n  - {name: a, hash: 'sha256:" + "0" * 64 + "', district: true}", "unknown keys"),
    ("field_apps:\n  - {name: a, hash: 'sha256:" + "0" * 64 + "', towns: huxi}", "list of ids"),
    ("field_apps: {name: a}", "must be a list"),
    ("supervisors:\n  - {name: a, hash: 'sha256:" + "0" * 64 + "', district: true}\n"
     "field_apps:\n  - {name: b, hash: 'sha256:" + "0" * 64 + "'}", "twice"),
    ("supervisor: []", "top-level"),
])
def test_bad_field_app_entries_are_refused_with_a_reason(text: str, message: str) -> None:
    """Mistakes under field_apps: fail at start and say what is wrong."""
    with pytest.raises(TokenFileError, match=message):
        parse_file(text)


def test_a_field_apps_scope_is_its_source_prefix_and_its_towns() -> None:
    """Source must start with the prefix; a town, when the event names one, must be in the list."""
    app = FieldApp("inspector", "/apps/inspector/", frozenset({"huxi"}))
    assert app.source_problem("/apps/inspector/3f2a") is None
    assert "must start with '/apps/inspector/'" in app.source_problem("/apps/other/1")
    assert app.source_problem(None) is not None
    assert app.town_problem("huxi") is None and app.town_problem(None) is None
    assert "outside this token's scope" in app.town_problem("yuji")
    assert FieldApp("any").source_problem("/x") is None and FieldApp("any").town_problem("yuji") is None


def test_field_app_towns_unknown_to_the_reference_are_reported(tmp_path: Path) -> None:
    """A typo in a field app's towns is caught at start like a supervisor's."""
    _, line = mint_field_app("typo", None, ["huxii"])
    store = TokenStore.load(tokens_file(tmp_path, [], [line]))
    assert store.unknown_ids({"huxi"}, set()) == ["town 'huxii' (typo)"]


def test_the_rate_limiter_is_a_token_bucket_per_app() -> None:
    """Burst at once, then the rate; each app has its own bucket; the wait is what is missing."""
    now = [0.0]
    limiter = RateLimiter(rate=10, burst=20, now=lambda: now[0])
    assert limiter.take("a", 20) == 0
    assert limiter.take("a", 5) == pytest.approx(0.5)
    assert limiter.take("b", 20) == 0
    now[0] = 0.5
    assert limiter.take("a", 5) == 0
    assert limiter.take("a", 1) > 0
    now[0] = 100.0
    assert limiter.take("a", 500) == 0  # larger than the burst: allowed once the bucket is full
    limiter.spend("a", 25)  # paid whatever the bucket holds (empty): 20, the most one costs
    assert limiter.take("a", 1) == pytest.approx(2.1)  # 1 - (-20) events at 10 a second
    limiter.spend("a", 3)
    assert limiter.owes("a") == pytest.approx(2.4)


def test_what_a_token_owes_is_the_wait_for_one_event_and_takes_nothing() -> None:
    """`owes` answers whether any request could pass now, without spending the bucket."""
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=4, now=lambda: now[0])
    assert limiter.owes("a") == 0 and limiter.take("a", 4) == 0
    assert limiter.owes("a") == pytest.approx(0.5) and limiter.owes("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert limiter.owes("a") == 0 and limiter.take("a", 1) == 0  # owing took nothing


# --- request parsing ------------------------------------------------------------------------


def _check(headers: dict[str, str], body: bytes) -> list[Any]:
    return [validate_kafka_record(None, item.headers, item.value, intake.HTTP_TOPIC, KNOWN)
            for item in read_request(headers, body, 1000, 200_000)]


def test_the_sdks_structured_and_binary_http_messages_are_accepted_as_the_same_event() -> None:
    """cloudevents' to_structured and to_binary both give the contract's example report."""
    attributes = {k: v for k, v in REPORT.items() if k != "data"}
    event = CloudEvent(attributes, REPORT["data"])
    for headers, body in (to_structured(event), to_binary(event)):
        [checked] = _check(dict(headers), body)
        assert checked.event.id == REPORT["id"] and checked.event.subject == REPORT["subject"]
        assert checked.event_type.topic == "hazard.reports"


def test_binary_header_values_are_percent_decoded() -> None:
    """The HTTP binding percent-encodes header values; a source with a space arrives intact."""
    headers = {f"ce-{k}": v for k, v in REPORT.items() if k not in ("data", "datacontenttype")}
    headers["ce-source"] = "/apps/inspector/with%20space%C3%A9"
    headers["Content-Type"] = "application/json; charset=utf-8"
    [item] = read_request(headers, json.dumps(REPORT["data"]).encode(), 10, 200_000)
    assert dict(item.headers)["ce_source"] == "/apps/inspector/with spaceé".encode()
    assert item.attributes["source"] == "/apps/inspector/with spaceé"


def test_a_batch_is_one_item_per_event_with_each_checked_alone() -> None:
    """A batch's good event is accepted and its bad one gets the intake's own error."""
    bad = dict(REPORT, id="r-2", time="2026-11-30T09:12:00")
    results = _check({"Content-Type": BATCH}, json.dumps([REPORT, bad]).encode())
    assert results[0].event.id == REPORT["id"]
    assert [e.type for e in results[1].errors] == ["timezone_aware"]


def test_an_unknown_type_over_http_lists_every_intake_type() -> None:
    """The same unknown_type error the Kafka intake gives, with the types to choose from."""
    [checked] = _check(STRUCTURED, json.dumps(dict(REPORT, type="safety.hazard.found")).encode())
    assert checked.errors[0].type == "unknown_type"
    assert "safety.hazard.reported" in checked.errors[0].msg and "POST /events" in checked.errors[0].msg


@pytest.mark.parametrize(("headers", "body", "status", "words"), [
    ({"Content-Type": "application/json"}, b"{}", 415, "without ce- headers is not an event"),
    ({}, b"{}", 415, "content type none"),
    ({"Content-Type": "text/plain"}, b"x", 415, "application/cloudevents+json"),
    ({"Content-Type": BATCH}, b"[1,", 400, "not readable JSON"),
    ({"Content-Type": BATCH}, b"{}", 400, "JSON array of events"),
    ({"Content-Type": BATCH}, b"[]", 400, "empty"),
    ({"Content-Type": BATCH}, b"[{},{},{}]", 413, "limit is 2"),
    ({"Content-Type": BATCH + "; charset=latin-1"}, b"[]", 415, "charset"),
])
def test_bodies_that_are_no_events_get_a_status_and_a_reason(headers: dict[str, str], body: bytes,
                                                             status: int, words: str) -> None:
    """Not a CloudEvent in any mode: 415; an unreadable or empty batch: 400; too many: 413."""
    with pytest.raises(RequestError) as caught:
        read_request(headers, body, 2, 200_000)
    assert caught.value.status == status and words in caught.value.reason


@pytest.mark.parametrize("text", [
    "[]", "{}", "0", '"a,b:[{"', '[1, [2, {"k": [3, {}]}], "x"]', '{"a": {"b": [null, true]}, "c": []}',
    r'{"t": "say \"a, b\" [x]", "u": "C:\\", "v": [": {"]}', r'["\\\"", ",", {"k,": "v:"}]',
])
def test_json_items_are_counted_exactly_without_parsing(text: str) -> None:
    """Keys, values and containers, counted from the bytes: the quick count is never below what a
    parser builds, and the exact one (strings' characters left out, escapes understood) is what
    it builds, an empty container counted twice."""
    def built(value: Any) -> int:
        if isinstance(value, dict):
            return 1 + sum(1 + built(v) for v in value.values())
        if isinstance(value, list):
            return 1 + sum(built(v) for v in value)
        return 1

    def empty(value: Any) -> int:
        inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        return (isinstance(value, dict | list) and not value) + sum(empty(v) for v in inner)

    parsed = json.loads(text)
    assert json_items_at_most(text.encode()) >= built(parsed)
    assert json_items_over(text.encode(), 0) == built(parsed) + empty(parsed)
    assert json_items_over(text.encode(), built(parsed) + empty(parsed)) is None  # not over


def test_an_intricate_body_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """4 MiB of empty arrays took 450 ms to read: over the item limit, no parser is run."""
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed")

    monkeypatch.setattr(http_events, "read_json", never)
    body = b"[" + b"[]," * 1_000 + b"[]]"  # 1,002 items; an empty array is counted twice
    binary = {"ce-specversion": "1.0", "ce-id": "r-1", "Content-Type": "application/json"}
    for headers in ({"Content-Type": BATCH}, STRUCTURED, binary):
        with pytest.raises(RequestError) as caught:
            read_request(headers, body, 1000, 1_000)
        assert caught.value.status == 413
        assert "holds 2003 JSON keys" in caught.value.reason and "limit is 1000" in caught.value.reason


# --- answers given before anything is sent --------------------------------------------------


class Served:
    """The intake's route on a real aiohttp server, pointed at a port where no broker listens."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.sup, sup_line = mint("district", [], [], True)
        self.app, app_line = mint_field_app("inspector", "/apps/inspector/", ["lihaiwu"])
        path = tokens_file(tmp_path, [sup_line], [app_line])
        self.settings = Settings(tokens_file=path, **settings)
        self.registry = CollectorRegistry()
        self.metrics = HttpIntakeMetrics(self.registry)
        self.now = NOW  # the engine's clock: the day of the example events
        self.marks: dict[str, str] | None = None  # the de-duplication marks this server holds, if any

    def counted(self, name: str, **labels: str) -> float:
        """A sample of the intake's metrics, 0 when it was never counted."""
        return self.registry.get_sample_value(name, labels) or 0.0

    async def post(self, body: bytes, token: str | None, headers: dict[str, str] | None = None,
                   times: int = 1) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
        return await self.post_each([(body, headers)] * times, token)

    async def post_each(self, requests: list[tuple[bytes, dict[str, str] | None]], token: str | None
                        ) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
        """Each (body, headers) posted in turn to one server: one rate limiter sees them all."""
        out = []
        pages = Pages()  # one per event loop: an aiohttp application keeps the loop it first ran on
        intake.register(pages, settings=self.settings, bootstrap="127.0.0.1:9",
                        tokens=TokenStore.from_settings(self.settings), known=KNOWN,
                        metrics=self.metrics, now=lambda: self.now,
                        seen=None if self.marks is None else self.marks.get)
        async with TestClient(TestServer(pages.web_app)) as client:
            for body, headers in requests:
                h = dict(STRUCTURED if headers is None else headers)
                if token:
                    h["Authorization"] = f"Bearer {token}"
                resp = await client.post("/events", data=body, headers=h)
                body = (await resp.json() if resp.content_type == "application/json"
                        else {"text": await resp.text()})  # aiohttp's own 500 is text
                out.append((resp.status, body, dict(resp.headers)))
        return out


    async def raw(self, head: bytes, parts: list[bytes], pause: float = 0.0,
                  half_close: bool = False) -> bytes:
        """What the server answers to a request sent on a socket as given: its head (Authorization
        added), then the body's parts with `pause` seconds between them, then maybe the writing side
        shut (a client that stops half way). Read until the server closes."""
        pages = Pages()
        intake.register(pages, settings=self.settings, bootstrap="127.0.0.1:9",
                        tokens=TokenStore.from_settings(self.settings), known=KNOWN,
                        metrics=self.metrics, now=lambda: self.now)
        server = TestServer(pages.web_app)
        await server.start_server()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            got = bytearray()

            async def pump() -> None:  # read as it comes, up to the server's close
                with contextlib.suppress(ConnectionError):
                    while chunk := await reader.read(65536):
                        got.extend(chunk)

            received = asyncio.create_task(pump())
            writer.write(head.replace(b"\r\n\r\n", b"\r\nAuthorization: Bearer %s\r\n\r\n"
                                      % self.app.encode(), 1))
            with contextlib.suppress(ConnectionError):  # the server may close before the last part
                for part in parts:
                    await asyncio.sleep(pause)
                    writer.write(part)
                    await writer.drain()
                if half_close:
                    writer.write_eof()
            await asyncio.wait_for(received, 10)  # only so a broken server cannot hang the suite
            writer.close()
            return bytes(got)
        finally:
            await server.close()


def _event(**changes: Any) -> bytes:
    return json.dumps({**REPORT, "source": "/apps/inspector/3f2a", **changes}).encode()


def test_without_a_valid_field_app_token_the_answer_is_401(tmp_path: Path) -> None:
    """No token, a wrong one, or a supervisor's: 401 with a reason and WWW-Authenticate."""
    served = Served(tmp_path)
    for token, words in ((None, "bearer token is required"), ("hzt_nope", "unknown or revoked"),
                         (served.sup, "supervisor's token cannot publish")):
        [(status, body, headers)] = asyncio.run(served.post(_event(), token))
        assert status == 401 and words in body["error"] and "WWW-Authenticate" in headers
    assert served.counted("hazard_http_intake_answers_total", status="401") == 3
    assert served.counted("hazard_http_intake_events_total", outcome="rejected") == 0  # never read


def test_events_outside_the_tokens_scope_are_403_and_name_which(tmp_path: Path) -> None:
    """A source outside the prefix or a town outside the list refuses the request, naming the events."""
    served = Served(tmp_path)
    other_town = dict(REPORT["data"], location=dict(REPORT["data"]["location"], town="yuji"))
    batch = json.dumps([json.loads(_event()), json.loads(_event(source="/apps/other/1")),
                        json.loads(_event(id="r-other-town", data=other_town))]).encode()
    [(status, body, _)] = asyncio.run(served.post(batch, served.app, {"Content-Type": BATCH}))
    assert status == 403
    assert [o["index"] for o in body["outside"]] == [1, 2]
    assert "must start with '/apps/inspector/'" in body["outside"][0]["reason"]
    assert "'yuji'" in body["outside"][1]["reason"]
    assert served.counted("hazard_http_intake_answers_total", status="403") == 1
    assert served.counted("hazard_http_intake_events_total", outcome="unsent") == 3


def test_a_request_whose_every_event_is_refused_is_400_with_the_intakes_errors(tmp_path: Path) -> None:
    """Nothing is sent, and each result carries the errors intake.rejected would carry."""
    served = Served(tmp_path)
    [(status, body, _)] = asyncio.run(served.post(_event(time="2026-11-30T09:12:00"), served.app))
    assert status == 400 and body["accepted"] == 0
    [result] = body["results"]
    assert result["status"] == "rejected" and result["errors"][0]["loc"] == ["time"]
    assert result["errors"][0]["type"] == "timezone_aware"
    assert served.counted("hazard_http_intake_answers_total", status="400") == 1
    assert served.counted("hazard_http_intake_events_total", outcome="rejected") == 1


def test_an_event_older_than_the_dedup_window_is_refused_at_the_door(tmp_path: Path) -> None:
    """As the worker would reject it (`stale`), so the field app hears it now, not after a 202:
    a day sooner than the worker's intake, which judges the event's age again when it reads it."""
    from engine.intake.process import time_window
    from engine.intake.validate import time_problem

    served = Served(tmp_path, dedup_days=30)
    served.now = NOW + 29 * 86_400 + 1  # 29 days and a second after the report's time
    old, fresh = _event(id="old-1"), _event(id="fresh-1", time="2026-12-30T09:12:00+08:00")
    [(status, body, _)] = asyncio.run(served.post(old, served.app))
    assert status == 400 and body["accepted"] == 0
    [result] = body["results"]
    assert (result["errors"][0]["type"], result["errors"][0]["loc"]) == ("stale", ["time"])
    # The worker would still take it now, and for a day more: what the door answers 202 at the
    # edge of its window, a worker up to a day behind its clock takes.
    assert time_problem(int(NOW), *time_window(NOW + 30 * 86_400, 30, 900)) is None
    assert time_problem(int(NOW), *time_window(NOW + 30 * 86_400 + 1, 30, 900)) is not None
    served.now = NOW + 29 * 86_400  # the door's window's first second
    [(status, body, _)] = asyncio.run(served.post(json.dumps([json.loads(old), json.loads(fresh)]).encode(),
                                                  served.app, headers={"Content-Type": BATCH}))
    assert status == 503  # both acceptable now: only the broker is missing here
    served = Served(tmp_path, dedup_days=0)
    served.now = NOW + 3_000 * 86_400
    [(status, _, _)] = asyncio.run(served.post(old, served.app))
    assert status == 503  # no window: any age


def test_an_event_ahead_of_the_engines_clock_is_refused_at_the_door(tmp_path: Path) -> None:
    served = Served(tmp_path, future_s=600)
    served.now = NOW - 601  # the report is 601 s ahead: a fast clock, or a wrong UTC offset
    [(status, body, _)] = asyncio.run(served.post(_event(), served.app))
    assert status == 400 and body["results"][0]["errors"][0]["type"] == "future"
    served.now = NOW - 600
    [(status, _, _)] = asyncio.run(served.post(_event(), served.app))
    assert status == 503  # acceptable: only the broker is missing here


def test_a_deadline_already_passed_is_refused_at_the_door(tmp_path: Path) -> None:
    served = Served(tmp_path)
    [(status, body, _)] = asyncio.run(served.post(_event(data={**REPORT["data"], "rectify_by": "2025-11-30"}),
                                                  served.app))
    assert status == 400
    [error] = body["results"][0]["errors"]
    assert (error["type"], error["loc"]) == ("deadline_passed", ["data", "rectify_by"])


def test_a_time_near_year_1_or_9999_is_400_naming_it_never_a_500(tmp_path: Path) -> None:
    """The door normalised the event to Asia/Shanghai before its time-window checks, and the hour
    overflowed: 500. Now the contract refuses it first, whichever field holds it."""
    served = Served(tmp_path)
    far = _event(time="9999-12-31T23:59:59Z")
    binary = {f"ce-{k}": v for k, v in json.loads(_event()).items() if k not in ("data", "datacontenttype")}
    binary.update({"ce-time": "0001-01-01T00:00:00+14:00", "Content-Type": "application/json"})
    ordered = dict(REPORT["data"], rectify_by="9999-12-31T23:59:59-10:00")
    answers = asyncio.run(served.post_each([(far, None), (json.dumps(REPORT["data"]).encode(), binary),
                                            (_event(data=ordered), None)], served.app))
    assert [a[0] for a in answers] == [400, 400, 400]
    assert [[(e["type"], e["loc"]) for e in a[1]["results"][0]["errors"]] for a in answers] == [
        [("date_range", ["time"])], [("date_range", ["time"])], [("date_range", ["data", "rectify_by"])]]


@pytest.mark.parametrize(("headers", "body", "status", "error_type"), [
    (STRUCTURED, b"", 400, "empty_record"),
    (STRUCTURED, b"{not json", 400, "not_json"),
    (STRUCTURED, b"null", 400, "not_object"),
    (STRUCTURED, b'"\xff"', 400, "not_utf8"),
    ({"Content-Type": BATCH}, b'[1, "x"]', 400, "not_object"),
    ({"ce-specversion": "1.0", "ce-id": "x", "ce-source": "%FF%FE", "Content-Type": "application/json"},
     b"{}", 400, "bad_header"),
    ({"ce-specversion": "1.0", "ce-datacontenttype": "application/json"}, b"{}", 400, "bad_header"),
    ({"ce-id": "x", "Content-Type": "application/cloudevents+json"}, b"{}", 400, "mixed_mode"),
])
def test_hostile_bodies_get_the_intakes_own_error_never_a_500(
        tmp_path: Path, headers: dict[str, str], body: bytes, status: int, error_type: str) -> None:
    """Whatever the bytes, the answer is a 4xx naming the fault as the Kafka intake would."""
    served = Served(tmp_path, http_ack_timeout_s=1)
    [(got, answer, _)] = asyncio.run(served.post(body, served.app, headers))
    assert got == status, answer
    assert error_type in [e["type"] for r in answer["results"] for e in r["errors"]]


def test_a_number_of_5000_digits_is_400_in_every_mode_and_costs_the_token(tmp_path: Path) -> None:
    """It was a 500 (the stdlib's ValueError, asked where orjson's error lay) in structured,
    binary and batch mode, and cost the token nothing; now 400 ambiguous_json, or for a batch
    400 naming why its JSON cannot be read, and the body is charged like any refused one."""
    served = Served(tmp_path, http_rate_per_s=0.001, http_burst=3)
    huge = "9" * 5000
    structured = _event().replace(b'"lat": 36.4412', b'"lat": ' + huge.encode())
    binary = {f"ce-{k}": v for k, v in json.loads(_event()).items() if k not in ("data", "datacontenttype")}
    batch = b"[" + _event(id="fine") + b"," + structured + b"]"
    binary["Content-Type"] = "application/json"
    answers = asyncio.run(served.post_each(
        [(structured, None), (b'{"n": ' + huge.encode() + b"}", binary), (batch, {"Content-Type": BATCH}),
         (_event(), None)], served.app))
    assert [a[0] for a in answers] == [400, 400, 400, 429]
    for _, body, _ in answers[:2]:
        assert [e["type"] for e in body["results"][0]["errors"]] == ["ambiguous_json"]
    assert "not readable JSON" in answers[2][1]["error"] and "4,300 digits" in json.dumps(answers[2][1])
    assert served.counted("hazard_http_intake_answers_total", status="400") == 3


@pytest.mark.parametrize("content_type", [
    "application/cloudevents+json; charset=utf-8; charset=utf-8",
    "application/cloudevents+json; garbage",
    "application/cloudevents+json; charset=\u00e9",
])
def test_a_content_type_that_is_no_media_type_is_told_so(content_type: str) -> None:
    """A structured type with a parameter twice, a parameter without a value, or one not in ASCII
    was answered "send one event as application/cloudevents+json", the very type it named."""
    with pytest.raises(RequestError) as refused:
        read_request({"Content-Type": content_type}, json.dumps(REPORT).encode(), 10, 10_000)
    assert refused.value.status == 415 and "cannot be read as a media type" in refused.value.reason


def test_a_body_cut_short_is_400_and_a_trickling_one_408_never_a_500(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A body that breaks off (not what its Content-Encoding says, a chunked frame broken, a client
    gone half way) is answered 400 or not at all; one that comes slower than the settings allow,
    408. Nothing is sent, each answer is counted, and nothing is logged as a server error."""
    served = Served(tmp_path, web_body_timeout_s=0.3)
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n"
    # Said to be gzip, and not: the engine's own server refuses any compressed body unread
    # (engine/http/limits.py); on a server that inflates bodies, as this test's does, the read fails.
    plain = _event()
    bad_gzip = asyncio.run(served.raw(head + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                                      % len(plain), [plain]))
    assert bad_gzip.startswith(b"HTTP/1.1 400"), bad_gzip[:300]
    assert b"the body ended before it was whole" in bad_gzip
    gone = asyncio.run(served.raw(head + b"Content-Length: 500\r\n\r\n", [b'{"specversion":'],
                                  half_close=True))
    assert gone == b"" or gone.startswith(b"HTTP/1.1 400"), gone[:300]  # a client gone: no answer
    slow = asyncio.run(served.raw(head + b"Content-Length: 500\r\n\r\n", [b"{", b" "], pause=0.5))
    assert slow.startswith(b"HTTP/1.1 408"), slow[:300]
    assert b"took over" in slow
    assert served.counted("hazard_http_intake_answers_total", status="400") >= 1
    assert served.counted("hazard_http_intake_answers_total", status="408") == 1
    assert [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    # A chunk's size that is no number: aiohttp answers it itself, before any handler (and logs it:
    # the engine's logging counts such a client's fault as one, engine/logs.py `ClientFaults`).
    broken = asyncio.run(served.raw(head + b"Transfer-Encoding: chunked\r\n\r\n", [b"zz\r\nxx\r\n"]))
    assert broken.split(b" ", 2)[1] == b"400", broken[:300]


def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    """HAZARD_HTTP_MAX_BODY_BYTES bounds what is read."""
    served = Served(tmp_path, http_max_body_bytes=2048)
    [(status, body, _)] = asyncio.run(served.post(_event(pad="x" * 4096), served.app))
    assert status == 413 and "over 2048 bytes" in body["error"]


def test_a_structured_body_over_the_record_limit_is_too_large_unparsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A structured body is one event: over HAZARD_MAX_RECORD_BYTES it was parsed whole (for its id
    and source) before the intake's check refused it as too large. Now it is refused unparsed;
    a body within the limit is read as before."""
    parsed: list[int] = []
    real = http_events.read_json

    def counted(value: bytes, *args: Any, **kwargs: Any) -> Any:
        parsed.append(len(value))
        return real(value, *args, **kwargs)

    monkeypatch.setattr(http_events, "read_json", counted)
    served = Served(tmp_path, max_record_bytes=64 * 1024, http_ack_timeout_s=1)
    [(status, body, _)] = asyncio.run(served.post(_event(pad="x" * (3 * 1024 * 1024)), served.app))
    assert status == 400 and parsed == []
    [error] = body["results"][0]["errors"]
    assert (error["type"], error["loc"]) == ("too_large", ["record"]) and "limit is 65536" in error["msg"]
    [(status, _, _)] = asyncio.run(served.post(_event(pad="x" * 1024), served.app))
    assert status == 503 and len(parsed) == 1  # read, and acceptable: only the broker is missing


def test_expect_100_continue_for_a_body_over_the_limit_is_413_at_once(tmp_path: Path) -> None:
    """A client that asks before sending (Expect: 100-continue) a body over
    HAZARD_HTTP_MAX_BODY_BYTES was told 100 Continue, sent it, and got 413: now the 413 comes
    instead of the 100, before a byte of the body; a body within the limit is still invited."""
    served = Served(tmp_path, http_max_body_bytes=2048, http_ack_timeout_s=1)
    head = (b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n")
    over = asyncio.run(served.raw(head % 5_000_000, []))
    assert over.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in over, over[:300]
    assert b"over 2048 bytes" in over
    assert served.counted("hazard_http_intake_answers_total", status="413") == 1
    event = _event()
    within = asyncio.run(served.raw(head % len(event), [event], pause=0.2, half_close=True))
    assert within.startswith(b"HTTP/1.1 100 Continue"), within[:300]


def test_a_flooding_token_gets_429_with_retry_after(tmp_path: Path) -> None:
    """Past its burst, a token is told to wait, in whole seconds."""
    served = Served(tmp_path, http_rate_per_s=0.5, http_burst=2)
    bad = _event(time="2026-11-30T09:12:00")  # refused events count too: the work was done
    answers = asyncio.run(served.post(bad, served.app, times=3))
    assert [a[0] for a in answers] == [400, 400, 429]
    assert answers[2][2]["Retry-After"] == "2" and "0.5 events a second" in answers[2][1]["error"]
    assert served.counted("hazard_http_intake_answers_total", status="429") == 1
    assert served.counted("hazard_http_intake_events_total", outcome="rejected") == 2  # not the 429's


def test_a_refused_body_costs_the_events_its_json_could_hold_and_the_next_waits_unread(
        tmp_path: Path) -> None:
    """A body refused before its events are counted was still read: it costs the token one event
    for each max_json_items / max_batch items it could hold. Once a token owes, its requests are
    answered 429 without their bodies being read."""
    served = Served(tmp_path, http_rate_per_s=1, http_burst=100, http_max_batch=10,
                    http_max_json_items=1_000)
    intricate = b"[" + b"0," * 1_000 + b"0]"  # 1,002 items: 413, and costs 11 of the 100
    not_json = b"[1," * 250  # 501 items, unreadable: 400, and costs 6
    batch = {"Content-Type": BATCH}
    answers = asyncio.run(served.post_each([(intricate, batch)] * 9 + [(not_json, batch), (_event(), None)],
                                           served.app))
    assert [a[0] for a in answers] == [413] * 9 + [400, 429]  # 99 + 6 > 100: owes before the last
    assert "JSON keys, values" in answers[0][1]["error"]
    assert int(answers[-1][2]["Retry-After"]) >= 4


def test_an_engine_failure_is_counted_as_500_and_costs_the_token_its_body(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body that finds a bug in reading it (a 500) cost its token nothing, so it could be sent
    again and again past the rate limit, and the 500 was missing from the answers counted."""
    served = Served(tmp_path, http_rate_per_s=0.001, http_burst=2)

    def broken(*args: Any) -> Any:
        raise ValueError("a bug")

    monkeypatch.setattr(intake, "read_request", broken)
    answers = asyncio.run(served.post_each([(b"[" + b"0," * 999 + b"0]", None)] * 2, served.app))
    assert [a[0] for a in answers] == [500, 429]  # the first cost 5 events: past the burst of 2
    assert served.counted("hazard_http_intake_answers_total", status="500") == 1
    assert served.counted("hazard_http_intake_answers_total", status="429") == 1


def test_a_changed_copy_in_the_same_batch_is_refused_as_a_conflicting_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two events of one batch under one (source, id) with other content were both answered
    accepted, and the intake dropped the second: it is refused at the door, naming the first;
    the same event twice is one event, both accepted, as before."""
    sent: list[tuple[str, bytes, bytes]] = []

    async def acknowledged(self: Any, waves: list[Any], app: Any) -> bool:
        sent.extend(send for wave in waves for send in wave)
        return True

    monkeypatch.setattr(intake.FieldIntake, "_send", acknowledged)
    served = Served(tmp_path)
    first = json.loads(_event())
    changed = dict(first, data=dict(first["data"], description="Fire exit still blocked"))
    batch = json.dumps([first, first, changed]).encode()
    [(status, body, _)] = asyncio.run(served.post(batch, served.app, {"Content-Type": BATCH}))
    assert status == 202 and (body["accepted"], body["rejected"]) == (2, 1)
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "rejected"]
    [error] = body["results"][2]["errors"]
    assert (error["type"], error["loc"]) == ("conflicting_copy", ["id"])
    assert "as event 0 of this request" in error["msg"]
    assert [json.loads(value)["data"]["description"] for _, _, value in sent] == [
        first["data"]["description"]] * 2


def test_a_changed_copy_of_an_event_this_worker_took_is_409(tmp_path: Path) -> None:
    """The door of a worker that holds the event's mark answers a changed copy 409 before
    sending, rather than 202 for a record the intake would drop; the same event again is sent."""
    from engine.intake.process import Mark, _digest
    from engine.intake.timeline import event_key

    served = Served(tmp_path, http_ack_timeout_s=1)
    event = _event()
    # A mark as stored before 2026-12-07, of the record's bytes: the door tells copies by them.
    served.marks = {event_key("/apps/inspector/3f2a", REPORT["id"]):
                    Mark("hazard.reports/0/12", _digest(event), int(NOW)).text()}
    changed = event.replace(b"Fire exit blocked", b"Fire exit still blocked")
    [(status, body, _)] = asyncio.run(served.post(changed, served.app))
    assert status == 409 and body["error"].startswith("conflicting_copy") and body["accepted"] == 0
    assert "taken before" in body["error"]  # not only "earlier in the request" (a review, 2026-12-07)
    [error] = body["results"][0]["errors"]
    assert error["type"] == "conflicting_copy" and "taken before with other content" in error["msg"]
    assert served.counted("hazard_http_intake_answers_total", status="409") == 1
    [(status, _, _)] = asyncio.run(served.post(event, served.app))
    assert status == 503  # the same event: sent again (only the broker is missing here)


def _respelled(event: bytes) -> bytes:
    """The same event as another app's JSON writes it: keys in reverse order, indented, escaped."""
    def backwards(node: Any) -> Any:
        return {k: backwards(node[k]) for k in reversed(node)} if isinstance(node, dict) else node
    return json.dumps(backwards(json.loads(event)), indent=3, ensure_ascii=True).encode()


def test_the_same_event_in_another_mode_or_spelling_is_sent_as_a_duplicate_not_409(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mark kept the digest of its record's bytes, and each mode writes an event its own way: the
    event the worker took, posted again in binary mode, in a batch or respelled (keys reordered,
    other white space), was answered 409 conflicting_copy though it says the same. It is sent now,
    a duplicate the intake drops, as the same bytes again are; a change in its data is still 409.
    In one batch, the same event respelled is no conflicting copy of the first either."""
    from engine.intake.process import Record, decide_intake

    sent: list[tuple[str, bytes, bytes]] = []

    async def acknowledged(self: Any, waves: list[Any], app: Any) -> bool:
        sent.extend(send for wave in waves for send in wave)
        return True

    monkeypatch.setattr(intake.FieldIntake, "_send", acknowledged)
    event = _event()
    taken = decide_intake(Record("hazard.reports", 0, 12, REPORT["subject"].encode(), event,
                                 int(NOW) * 1000), {}.get, KNOWN)  # the mark the worker set
    served = Served(tmp_path)
    served.marks = dict([taken.remember])
    parsed = json.loads(event)
    binary = {f"ce-{k}": v for k, v in parsed.items() if k not in ("data", "datacontenttype")}
    binary["Content-Type"] = "application/json"
    changed = _respelled(event).replace(b"Fire exit blocked", b"Fire exit still blocked")
    answers = asyncio.run(served.post_each([
        (event, None), (json.dumps(parsed["data"], indent=1).encode(), binary),
        (b"[" + event + b"]", {"Content-Type": BATCH}), (_respelled(event), None),
        (b"[%s, %s]" % (event, _respelled(event)), {"Content-Type": BATCH}), (changed, None)], served.app))
    assert [status for status, _, _ in answers] == [202, 202, 202, 202, 202, 409]
    assert [r["status"] for r in answers[4][1]["results"]] == ["accepted", "accepted"]
    assert len(sent) == 6


def test_when_the_broker_cannot_be_reached_the_answer_is_503_with_retry_after(tmp_path: Path) -> None:
    """A good event and no broker: 503, never 202, and the client is told when to try again."""
    served = Served(tmp_path, http_ack_timeout_s=3)
    [(status, body, headers)] = asyncio.run(served.post(_event(), served.app))
    assert status == 503 and headers["Retry-After"] == "5" and "send the same events" in body["error"]
    assert served.counted("hazard_http_intake_answers_total", status="503") == 1
    assert served.counted("hazard_http_intake_events_total", outcome="unsent") == 1
    assert served.counted("hazard_http_intake_events_total", outcome="accepted") == 0



# --- the command line -----------------------------------------------------------------------


def test_token_new_field_app_prints_a_token_and_an_entry_the_store_accepts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`token new --field-app` mints a token whose printed entry, under field_apps:, authenticates it."""
    from engine.cli import main

    assert main(["token", "new", "--field-app", "--name", "inspector", "--source-prefix",
                 "/apps/inspector/", "--town", "huxi"]) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[0].rsplit(" ", 1)[1]
    assert "field_apps:" in out[1]
    store = TokenStore.load(tokens_file(tmp_path, [], [out[2]]))
    assert store.authenticate_field_app(f"Bearer {token}") == FieldApp(
        "inspector", "/apps/inspector/", frozenset({"huxi"}))


@pytest.mark.parametrize(("argv", "words"), [
    (["--field-app", "--town", "huxi"], "needs --name"),
    (["--field-app", "--name", "a", "--district"], "for supervisors"),
    (["--source-prefix", "/apps/", "--town", "huxi"], "add --field-app"),
])
def test_token_new_refuses_mixed_kinds(argv: list[str], words: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A supervisor's options on a field app's token, or the reverse, is an error, not a guess."""
    from engine.cli import main

    assert main(["token", "new", *argv]) == 2
    assert words in capsys.readouterr().err


def test_the_door_names_the_reason_the_worker_would_give_first(tmp_path: Path) -> None:
    """A passed rectify_by on an event from ahead of the clock: deadline_passed, as the worker says."""
    served = Served(tmp_path, future_s=600)
    served.now = NOW - 3_600
    event = _event(data={**REPORT["data"], "rectify_by": "2025-11-30"})
    [(status, body, _)] = asyncio.run(served.post(event, served.app))
    assert status == 400
    assert [e["type"] for e in body["results"][0]["errors"]] == ["deadline_passed"]


def test_a_large_batch_is_checked_in_chunks_that_leave_the_loop_to_the_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker decides events on the loop that serves HTTP. A batch of 1,000 malformed events
    takes the better part of a second to check, so the checks run CHECK_CHUNK at a time and
    another task gets the loop between: counted here by a task beside the request, and by each
    check noting how many turns that task had had."""
    junk = {f"field{n}": [1, 2, {"x": "y" * 50}] for n in range(25)}
    batch = json.dumps([json.loads(_event(id=f"ev-{n}", data=junk)) for n in range(1_000)]).encode()
    turns, seen_at_check = [0], []
    real = intake.validate_kafka_record

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen_at_check.append(turns[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(intake, "validate_kafka_record", counted)
    served = Served(tmp_path)

    async def main() -> list[Any]:
        async def beside() -> None:
            while True:
                await asyncio.sleep(0)
                turns[0] += 1

        task = asyncio.create_task(beside())
        try:
            return await served.post(batch, served.app, {"Content-Type": BATCH})
        finally:
            task.cancel()

    [(status, body, _)] = asyncio.run(main())
    assert status == 400 and body["rejected"] == 1_000 and len(seen_at_check) == 1_000
    between = seen_at_check[-1] - seen_at_check[0]
    assert between >= 1_000 // intake.CHECK_CHUNK - 1  # at least one turn between two chunks
    chunk = seen_at_check[:intake.CHECK_CHUNK]
    assert chunk[0] == chunk[-1]  # and none within one


def test_bodies_coming_at_once_are_bounded_per_token_and_in_all() -> None:
    """A body reserves its declared length while it comes: one token may hold a quarter of
    HAZARD_HTTP_BODIES_BYTES (at least one largest body), all of them the whole; beyond, the answer
    is 429 or 503 unread, and a body read or given up gives its bytes back (hostile-input audit of
    2026-12-07: forty stalled 4 MiB bodies on one token held 160 MiB, with no bound)."""
    budget = BodyBudget(total=16_384, largest=4_096)
    assert (budget.total, budget.per_token) == (16_384, 4_096)
    assert budget.reserve("grid", 4_096) is None
    assert budget.reserve("grid", 1)[0] == 429  # the token's quarter is held
    for app in ("inspector", "sensor", "school"):
        assert budget.reserve(app, 4_096) is None
    status, reason = budget.reserve("enterprise", 1)
    assert status == 503 and "16384 bytes of bodies are coming already" in reason
    budget.release("grid", 4_096)
    assert budget.reserve("enterprise", 4_096) is None and budget.by_token.get("grid") is None
    assert BodyBudget(total=1_000, largest=4_096).per_token == 4_096  # a largest body can always come


def test_a_token_whose_bodies_stall_is_answered_429_unread_until_they_end(tmp_path: Path) -> None:
    """With one stalled body holding the token's share, its next request is 429 with Retry-After
    and its body unread; once the stalled body is given up (408), the token posts again."""
    served = Served(tmp_path, http_max_body_bytes=4_096, http_bodies_bytes=4_096, web_body_timeout_s=1)
    head = (b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n"
            b"Authorization: Bearer %s\r\nContent-Length: 4000\r\n\r\n{" % served.app.encode())
    headers = {**STRUCTURED, "Authorization": f"Bearer {served.app}"}

    async def main() -> tuple[int, str, str, bytes, int]:
        pages = Pages()
        intake.register(pages, settings=served.settings, bootstrap="127.0.0.1:9",
                        tokens=TokenStore.from_settings(served.settings), known=KNOWN,
                        metrics=served.metrics, now=lambda: served.now)
        async with TestClient(TestServer(pages.web_app)) as client:
            reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
            writer.write(head)  # its 4,000 bytes are held from here; one byte of them comes
            await writer.drain()
            await asyncio.sleep(0.2)
            busy = await client.post("/events", data=_event(), headers=headers)
            error = (await busy.json())["error"]
            stalled = await asyncio.wait_for(reader.read(), 10)  # given up after its allowance
            writer.close()
            again = await client.post("/events", data=_event(), headers=headers)
            return busy.status, busy.headers.get("Retry-After", ""), error, stalled, again.status

    status, retry, error, stalled, again = asyncio.run(main())
    assert status == 429 and retry == "5" and "4000 bytes of bodies coming already" in error
    assert stalled.startswith(b"HTTP/1.1 408"), stalled[:200]
    assert again != 429
