"""A field-app token's town scope from `POST /events` to the intake decision, without a broker.

The door stamps each record with the token's towns and answers 403 at once for
a subject it can see in another town; the intake stage, which holds every
subject's state, judges each stamped record again. A producer that keeps what
it is given stands in for the broker, and its records go through the pure
intake decision as a worker's intake stage would take them.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from engine.contract.outputs import INTAKE_REJECTED
from engine.decide.core import decide
from engine.feeds.tokens import TokenStore, mint_field_app
from engine.http import intake, rejected
from engine.http.server import Pages
from engine.intake.process import Record, decide_intake
from engine.intake.scope import TOWNS_HEADER, OpenedTowns, stamp
from engine.metrics import HttpIntakeMetrics
from engine.reference import load_reference
from engine.ruleset import load_rules
from engine.settings import Settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
RULES = load_rules(REPO / "rules")
REPORT = {**json.loads((EXAMPLES / "hazard-reported.json").read_text()),
          "source": "/apps/inspector/3f2a"}  # in lihaiwu
NOW = int(datetime.fromisoformat("2026-11-30T12:00:00+08:00").timestamp())
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def verified(hazard: str, n: int = 1) -> dict[str, Any]:
    """An inspector's confirmation of `hazard`: an event that names no town."""
    return {"specversion": "1.0", "id": f"v-{hazard}-{n}", "source": "/apps/inspector/3f2a",
            "subject": hazard, "type": "safety.hazard.verified", "time": "2026-11-30T11:00:00+08:00",
            "data": {"hazard_id": hazard, "verdict": "confirmed", "grade": "general",
                     "by": {"id": "insp-9", "role": "inspector"}}}


class Broker:
    """Stands in for the producer: keeps each record sent, in order, and acknowledges it at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []

    async def get(self) -> Broker:
        return self

    async def close(self) -> None:
        return None

    async def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any:
        self.sent.append((topic, key, value, list(headers)))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def post(tmp_path: Path, towns: list[str], body: list[dict[str, Any]], seen: dict[str, str],
         extra: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Broker]:
    """POST a batch with a token limited to `towns` to a door that sees the hazards' towns `seen`."""
    token, line = mint_field_app("inspector", "/apps/inspector/", towns)
    path = tmp_path / "tokens.yaml"
    path.write_text(f"field_apps:\n{line}\n")
    settings = Settings(tokens_file=path)
    broker = Broker()

    async def main() -> tuple[int, dict[str, Any]]:
        pages = Pages()
        door = intake.register(pages, settings=settings, bootstrap="127.0.0.1:9",
                               tokens=TokenStore.from_settings(settings), known=KNOWN,
                               metrics=HttpIntakeMetrics(CollectorRegistry()), now=lambda: NOW,
                               town_of=lambda kind, subject: seen.get(subject))
        door._producer = broker
        async with TestClient(TestServer(pages.web_app)) as client:
            resp = await client.post("/events", data=json.dumps(body).encode(),
                                     headers={**BATCH, **(extra or {}), "Authorization": f"Bearer {token}"})
            return resp.status, await resp.json()

    status, answer = asyncio.run(main())
    return status, answer, broker


def intake_stage(broker: Broker, states: dict[str, str]) -> list[Any]:
    """The records sent, judged in order as a worker's intake stage judges them: a subject's town
    from its state (`states`), else from the opening events it accepted before."""
    opened = OpenedTowns(100)

    def town_of(kind: str, subject: str) -> str | None:
        return states.get(subject) or opened.get(kind, subject)

    outcomes = []
    for offset, (topic, key, value, headers) in enumerate(broker.sent):
        out = decide_intake(Record(topic, 0, offset, key, value, NOW * 1000, tuple(headers)), {}.get,
                            KNOWN, town_of=town_of)
        opened.note(out.opened)
        outcomes.append(out)
    return outcomes


def test_a_verdict_on_another_towns_hazard_is_403_where_the_door_sees_the_hazard(tmp_path: Path) -> None:
    """Lihaiwu's inspector app verifying a hazard in yuji is refused at once; nothing is sent."""
    status, answer, broker = post(tmp_path, ["lihaiwu"], [verified("HZ-YUJI-1")], {"HZ-YUJI-1": "yuji"})
    assert status == 403 and broker.sent == []
    [outside] = answer["outside"]
    assert outside["index"] == 0
    assert "hazard 'HZ-YUJI-1'" in outside["reason"] and "'yuji'" in outside["reason"]


def test_an_inspection_listing_another_towns_hazard_as_a_finding_is_403_where_the_door_sees_it(
        tmp_path: Path) -> None:
    """A finding opens its hazard in the inspection's town: an inspection of zhulaozhuang's app
    listing a hazard the door sees in lihaiwu is refused at once, naming the finding; where the
    door cannot see it, the intake stage rejects it (tests/unit/test_intake_scope.py)."""
    inspection = {**json.loads((EXAMPLES / "inspection-recorded.json").read_text()),
                  "source": "/apps/inspector/3f2a"}  # in zhulaozhuang
    second = inspection["data"]["findings"][1]["hazard_id"]
    status, answer, broker = post(tmp_path, ["zhulaozhuang"], [inspection], {second: "lihaiwu"})
    assert status == 403 and broker.sent == []
    [outside] = answer["outside"]
    assert outside["reason"].startswith(f"finding 1: hazard {second!r}") and "'lihaiwu'" in outside["reason"]
    assert post(tmp_path, ["zhulaozhuang"], [inspection], {second: "zhulaozhuang"})[0] == 202


def test_where_the_door_cannot_see_the_hazard_the_intake_stage_rejects_it(tmp_path: Path) -> None:
    """On the gateway, or for a hazard on another worker, the record goes out stamped and intake
    rejects it with the reason, as any rejection: on intake.rejected, nothing lost."""
    status, _, broker = post(tmp_path, ["lihaiwu"], [verified("HZ-YUJI-1")], {})
    assert status == 202
    [(_, _, _, headers)] = broker.sent
    assert (TOWNS_HEADER, stamp(["lihaiwu"])) in headers and ("field-app", b"inspector") in headers
    [out] = intake_stage(broker, {"HZ-YUJI-1": "yuji"})
    assert out.kind == "rejected" and out.reasons == ("outside_scope",)
    assert json.loads(out.sends[0].value)["type"] == "safety.intake.rejected"


def test_a_report_and_its_verdict_posted_together_are_both_taken(tmp_path: Path) -> None:
    """The report goes out first, acknowledged before its verdict is sent, whatever the batch's
    order: intake then knows the new hazard's town before it judges the verdict."""
    hazard = REPORT["subject"]
    status, answer, broker = post(tmp_path, ["lihaiwu"], [verified(hazard), REPORT], {})
    assert status == 202 and answer["accepted"] == 2
    assert [json.loads(value)["type"] for _, _, value, _ in broker.sent] == [
        "safety.hazard.reported", "safety.hazard.verified"]
    assert [out.kind for out in intake_stage(broker, {})] == ["accepted", "accepted"]


def test_a_verdict_on_a_hazard_no_one_reported_yet_is_taken_and_judged_where_it_opens(
        tmp_path: Path) -> None:
    """Field apps work offline: the door and intake take a verdict sent before its report, stamped;
    the hazard opened in another town, the decision rejects it instead of applying it there, and
    the app that sent it reads that back."""
    status, _, broker = post(tmp_path, ["lihaiwu"], [verified("HZ-NOT-YET")], {})
    [out] = intake_stage(broker, {})
    assert status == 202 and out.kind == "accepted" and out.reasons == ()
    [entry] = [json.loads(send.value) for send in out.sends]
    assert (entry["towns"], entry["field_app"]) == (["lihaiwu"], "inspector")
    in_huxi = {**REPORT, "id": "r-huxi", "subject": "HZ-NOT-YET",
               "data": {**REPORT["data"], "hazard_id": "HZ-NOT-YET", "location": {"town": "huxi"}}}
    [opening] = [json.loads(send.value) for send in decide_intake(
        Record("hazard.reports", 0, 9, b"HZ-NOT-YET", json.dumps(in_huxi).encode(), NOW * 1000), {}.get,
        KNOWN).sends]
    hazard, outs = decide(decide(None, entry, RULES)[0], opening, RULES)
    assert hazard.verdict is None
    [later] = [o for o in outs if o.topic == INTAKE_REJECTED]
    found = rejected.rejected_of("inspector", json.dumps(later.event).encode())
    assert found is not None and [e.type for e in found.errors] == ["outside_scope"]


def test_a_client_cannot_set_its_own_stamp(tmp_path: Path) -> None:
    """An HTTP header of the stamp's name never reaches the record (only ce- headers are read, and
    they become ce_ attributes): the server's stamp is the token's."""
    hazard = REPORT["subject"]
    _, _, broker = post(tmp_path, ["huxi"], [verified(hazard)], {},
                        extra={TOWNS_HEADER: "*"})
    [(_, _, _, headers)] = broker.sent
    assert [value for name, value in headers if name == TOWNS_HEADER] == [stamp(["huxi"])]
    [out] = intake_stage(broker, {hazard: "lihaiwu"})
    assert out.reasons == ("outside_scope",)


def test_a_token_for_every_town_is_stamped_so_and_not_limited(tmp_path: Path) -> None:
    """A field app without towns (a district-wide one) sends about any town's subject."""
    _, _, broker = post(tmp_path, [], [verified("HZ-YUJI-1")], {"HZ-YUJI-1": "yuji"})
    [(_, _, _, headers)] = broker.sent
    assert (TOWNS_HEADER, b"*") in headers
    assert [out.kind for out in intake_stage(broker, {"HZ-YUJI-1": "yuji"})] == ["accepted"]


def test_a_rejection_after_202_is_read_back_by_the_app_that_sent_it_only(tmp_path: Path) -> None:
    """GET /events/rejected finds the app's own events on intake.rejected, with why."""
    _, _, broker = post(tmp_path, ["lihaiwu"], [verified("HZ-YUJI-1")], {})
    [out] = intake_stage(broker, {"HZ-YUJI-1": "yuji"})
    value = out.sends[0].value
    found = rejected.rejected_of("inspector", value)
    assert found is not None and (found.id, found.type, found.subject) == (
        "v-HZ-YUJI-1-1", "safety.hazard.verified", "HZ-YUJI-1")
    assert [e.type for e in found.errors] == ["outside_scope"]
    assert rejected.rejected_of("someone-else", value) is None
    assert rejected.rejected_of("inspector", b"not json") is None


def test_since_is_an_aware_time_or_the_last_day() -> None:
    """Without `since`, the last day; a time without its offset is not read."""
    assert rejected.since_ms(None, 100_000.0) == (100_000 - 86_400) * 1000
    assert rejected.since_ms("2026-11-30T09:00:00+08:00", 0) == 1_796_000_400_000
    assert rejected.since_ms("2026-11-30T09:00:00", 0) is None and rejected.since_ms("x", 0) is None


def test_reading_rejections_is_bounded_per_server_and_token_and_checks_its_query(
        tmp_path: Path, monkeypatch: Any) -> None:
    """A bad `since` or `after`, or both given, is 400; while two reads run, a third is 503 at once,
    and so is a second read of one token (one token cannot hold both), so asking again and again
    cannot open consumer after consumer nor keep other apps out."""
    apps = [mint_field_app(name, f"/apps/{name}/", ["lihaiwu"]) for name in ("inspector", "grid", "sensor")]
    path = tmp_path / "tokens.yaml"
    path.write_text("field_apps:\n" + "\n".join(line for _, line in apps) + "\n")
    settings = Settings(tokens_file=path)
    release = asyncio.Event()
    asked: list[Any] = []

    async def slow(*args: Any) -> tuple[list[Any], bool, dict[int, int]]:
        asked.append(args[-1])
        await release.wait()
        return [], True, {0: 7, 1: 3}

    monkeypatch.setattr(rejected, "read_rejected", slow)

    async def main() -> list[Any]:
        pages = Pages()
        intake.register(pages, settings=settings, bootstrap="127.0.0.1:9",
                        tokens=TokenStore.from_settings(settings), known=KNOWN,
                        metrics=HttpIntakeMetrics(CollectorRegistry()), now=lambda: NOW)
        inspector, grid, sensor = ({"Authorization": f"Bearer {token}"} for token, _ in apps)
        async with TestClient(TestServer(pages.web_app)) as client:
            queries = ("since=yesterday", "after=0:x", "after=0:1&since=2026-11-30T09:00:00%2B08:00")
            bad = [(await client.get(f"/events/rejected?{query}", headers=inspector)).status
                   for query in queries]
            reads = [asyncio.create_task(client.get("/events/rejected", headers=inspector)),
                     asyncio.create_task(client.get("/events/rejected?after=0:5", headers=grid))]
            await asyncio.sleep(0.2)
            again = await client.get("/events/rejected", headers=inspector)
            other = await client.get("/events/rejected", headers=sensor)
            release.set()
            done = [await r for r in reads]
            return [bad, again.status, other.status, [r.status for r in done], await done[1].json()]

    bad, again, other, statuses, answer = asyncio.run(main())
    assert bad == [400, 400, 400] and again == 503 and other == 503 and statuses == [200, 200]
    assert answer["next"] == "0:7,1:3" and answer.get("since") is None  # went on from `after`
    assert asked == [None, {0: 5}]
