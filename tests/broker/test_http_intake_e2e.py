"""POST /events against a real broker and the real HTTP servers: the worker's and `hazard-engine gateway`.

Every event answered 202 must reach the timeline exactly once, whatever the
mode it came in (structured, binary, batch, the SDK's HTTP conversions),
however often it is posted, and however many clients post at once. A broker
that stops answers 503, and the same events posted again once it is back
land, each once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cloudevents.v1.conversion import to_binary, to_structured
from cloudevents.v1.http import CloudEvent
from conftest import EXAMPLES, FROZEN, TestNamespace
from prometheus_client.parser import text_string_to_metric_families

from engine.broker.cluster import Cluster
from engine.broker.install import free_port
from engine.feeds.tokens import mint, mint_field_app
from engine.harness import Namespace, Worker, group_progress, produce, read_to_end, wait_drained
from engine.http import rejected

pytestmark = pytest.mark.broker

REPORT = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))
SOURCE = "/apps/grid/"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def report(n: int, source: str = SOURCE + "LHW-03", **changes: Any) -> dict[str, Any]:
    """The contract's example report about hazard number `n`."""
    hazard_id = f"HZ-20261130-H{n:05d}"
    return {**REPORT, "id": f"http-{n}", "source": source, "subject": hazard_id,
            "data": {**REPORT["data"], "hazard_id": hazard_id}, **changes}


class Tokens:
    """A tokens file with a supervisor and field apps, and the tokens it stands for."""

    def __init__(self, tmp_path: Path) -> None:
        self.supervisor, sup = mint("district", [], [], True)
        self.grid, grid = mint_field_app("grid-app", SOURCE, ["lihaiwu"])
        self.other, other = mint_field_app("flood", SOURCE, ["lihaiwu"])
        self.huxi, huxi = mint_field_app("huxi-inspector", SOURCE, ["huxi"])
        self.path = tmp_path / "tokens.yaml"
        self.path.write_text(f"supervisors:\n{sup}\nfield_apps:\n{grid}\n{other}\n{huxi}\n")


class Gateway:
    """`hazard-engine gateway` as a child process."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.env = {**env, "HAZARD_GATEWAY_PORT": str(self.port)}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "engine", "gateway"], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        asyncio.run(wait_http(self.url + "/healthz"))
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


async def wait_http(url: str, timeout: float = 120) -> None:
    """Wait until `url` answers at all (the server listens)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as resp:
                    await resp.read()
                    return
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{url} did not answer within {timeout:.0f} s") from None
                await asyncio.sleep(0.3)


async def post(url: str, token: str | None, body: bytes, headers: dict[str, str]
               ) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One POST; its status, JSON body and headers."""
    if token:
        headers = {**headers, "Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json(), dict(resp.headers)


async def scrape(url: str) -> dict[tuple[str, str], float]:
    """The HTTP intake's counters on a /metrics page, by (sample name, its one label's value)."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        text = await resp.text()
    return {(s.name, next(iter(s.labels.values()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("hazard_http_intake_") and s.name.endswith("_total")}


def run_post(url: str, token: str | None, body: bytes, headers: dict[str, str]
             ) -> tuple[int, dict[str, Any], dict[str, str]]:
    return asyncio.run(post(url, token, body, headers))


def reported(records: list[Any]) -> Counter[str]:
    """How many times each hazard was reported on the timeline."""
    entries = [json.loads(r.value) for r in records]
    return Counter(e["subject"] for e in entries if e.get("type") == "safety.hazard.reported")


async def intake_drained(ns: Namespace, idle_timeout: float = 120) -> None:
    """Wait until the engine has committed all it read of the intake topics (intake-only workers)."""
    topics = [ns.topic("hazard.reports")]
    last, since = -1, time.monotonic()
    while True:
        done, end = await group_progress(ns, topics)
        if done >= end > 0:
            return
        if done != last:
            last, since = done, time.monotonic()
        elif time.monotonic() - since > idle_timeout:
            raise AssertionError(f"intake stalled at {done} of {end}")
        await asyncio.sleep(1)


@pytest.fixture
def tokens(tmp_path: Path) -> Tokens:
    return Tokens(tmp_path)


def http_worker(namespace: Namespace, tmp_path: Path, tokens: Tokens, **env: str) -> Worker:
    """A worker serving POST /events with the test's tokens, its clock stopped."""
    return Worker(namespace.env(HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN,
                                HAZARD_TOKENS_FILE=str(tokens.path), **env), tmp_path / "worker.log")


def test_structured_binary_batch_and_the_sdk_land_on_the_timeline_once_each(
        namespace: Namespace, tmp_path: Path, tokens: Tokens) -> None:
    """Every mode of the HTTP binding reaches the timeline; a duplicate POST is one event; scopes hold."""
    worker = http_worker(namespace, tmp_path, tokens).start()
    try:
        worker.wait_ready()
        url = f"http://127.0.0.1:{namespace.web_port}/events"
        # Structured, by hand.
        status, body, _ = run_post(url, tokens.grid, json.dumps(report(1)).encode(),
                                   {"Content-Type": STRUCTURED})
        assert status == 202, body
        assert body["results"] == [{"index": 0, "id": "http-1", "source": SOURCE + "LHW-03",
                                    "status": "accepted", "topic": "hazard.reports",
                                    "subject": "HZ-20261130-H00001"}]
        # Binary, by hand, with a percent-encoded source and a charset on the data's type.
        event = report(2)
        headers = {f"ce-{k}": str(v) for k, v in event.items() if k not in ("data", "datacontenttype")}
        headers["ce-source"] = SOURCE.replace("/", "%2F") + "LHW-03"
        headers["Content-Type"] = "application/json; charset=utf-8"
        status, body, _ = run_post(url, tokens.grid, json.dumps(event["data"]).encode(), headers)
        assert status == 202 and body["accepted"] == 1, body
        # A batch with one event the intake can never accept: 202, and that one's errors.
        batch = [report(3), report(4), report(5, time="2026-11-30T09:12:00")]
        status, body, _ = run_post(url, tokens.grid, json.dumps(batch).encode(), {"Content-Type": BATCH})
        assert status == 202 and (body["accepted"], body["rejected"]) == (2, 1), body
        assert body["results"][2]["errors"][0]["type"] == "timezone_aware"
        # The SDK's HTTP conversions, structured and binary.
        for n, convert in ((6, to_structured), (7, to_binary)):
            attributes = {k: v for k, v in report(n).items() if k != "data"}
            sdk_headers, sdk_body = convert(CloudEvent(attributes, report(n)["data"]))
            status, body, _ = run_post(url, tokens.grid, sdk_body, dict(sdk_headers))
            assert status == 202 and body["accepted"] == 1, body
        # The same (source, id) again: answered like the first, and still one event.
        status, body, _ = run_post(url, tokens.grid, json.dumps(report(1)).encode(),
                                   {"Content-Type": STRUCTURED})
        assert status == 202, body
        # Refusals: no token, a supervisor's token, a source or a town outside the scope.
        assert run_post(url, None, b"{}", {"Content-Type": STRUCTURED})[0] == 401
        assert run_post(url, tokens.supervisor, json.dumps(report(8)).encode(),
                        {"Content-Type": STRUCTURED})[0] == 401
        outside = [report(9, source="/apps/other/1"),
                   report(10, data={**report(10)["data"], "location": {"town": "huxi"}})]
        status, body, _ = run_post(url, tokens.grid, json.dumps(outside).encode(), {"Content-Type": BATCH})
        assert status == 403 and [o["index"] for o in body["outside"]] == [0, 1], body
        # A field-app token reads no feed.
        async def feed() -> int:
            async with aiohttp.ClientSession() as session, session.get(
                    url.replace("/events", "/hazards"),
                    headers={"Authorization": f"Bearer {tokens.grid}"}) as resp:
                return resp.status
        assert asyncio.run(feed()) == 401
        # Every answer above, counted by status, and every checked event by outcome.
        counted = asyncio.run(scrape(url.replace("/events", "/metrics")))
        assert {k: v for k, v in counted.items() if k[0] == "hazard_http_intake_answers_total"} == {
            ("hazard_http_intake_answers_total", "202"): 6,
            ("hazard_http_intake_answers_total", "401"): 2,
            ("hazard_http_intake_answers_total", "403"): 1}
        assert {k: v for k, v in counted.items() if k[0] == "hazard_http_intake_events_total"} == {
            ("hazard_http_intake_events_total", "accepted"): 7,
            ("hazard_http_intake_events_total", "rejected"): 1,
            ("hazard_http_intake_events_total", "unsent"): 2}

        wanted = {f"HZ-20261130-H{n:05d}" for n in (1, 2, 3, 4, 6, 7)}
        asyncio.run(wait_drained(namespace))
        timeline = asyncio.run(read_to_end(namespace.bootstrap, namespace.topic("engine.timeline")))
        assert reported(timeline) == Counter(dict.fromkeys(wanted, 1))
        duplicates = asyncio.run(read_to_end(namespace.bootstrap,
                                             namespace.topic("engine.intake.duplicates")))
        assert [json.loads(d.value)["event_id"] for d in duplicates] == ["http-1"]
        assert not json.loads(duplicates[0].value)["conflicting"]
        rejected = asyncio.run(read_to_end(namespace.bootstrap, namespace.topic("intake.rejected")))
        assert rejected == []  # what the gateway refused was answered, never sent
    finally:
        worker.stop()


def verified(hazard_id: str, n: int) -> dict[str, Any]:
    """An inspector's confirmation of a hazard: an event that names no town."""
    return {"specversion": "1.0", "id": f"v-{n}", "source": SOURCE + "HX-1", "subject": hazard_id,
            "type": "safety.hazard.verified", "time": "2026-11-30T11:00:00+08:00",
            "data": {"hazard_id": hazard_id, "verdict": "confirmed", "grade": "general",
                     "by": {"id": "insp-9", "role": "inspector"}}}


async def get_rejected(url: str, token: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def get_hazard(url: str, token: str, hazard_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(
            f"{url}/hazards/{hazard_id}", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def test_a_town_limited_token_reaches_no_other_towns_subject_and_reads_its_rejections(
        namespace: Namespace, tmp_path: Path, tokens: Tokens) -> None:
    """Huxi's app cannot verify a lihaiwu hazard (403 where the worker sees it); its verdict on one
    not reported yet is taken (202), waits, and is rejected when lihaiwu's report opens it, read back
    from GET /events/rejected; lihaiwu's app's verdict sent ahead of its report, in another request,
    applies once the report comes, and a report and its verdict posted together are both taken."""
    worker = http_worker(namespace, tmp_path, tokens).start()
    try:
        worker.wait_ready()
        url = f"http://127.0.0.1:{namespace.web_port}/events"
        lihaiwu = report(1)["subject"]
        status, body, _ = run_post(url, tokens.grid, json.dumps(report(1)).encode(),
                                   {"Content-Type": STRUCTURED})
        assert status == 202, body
        asyncio.run(wait_drained(namespace))
        status, body, _ = run_post(url, tokens.huxi, json.dumps(verified(lihaiwu, 1)).encode(),
                                   {"Content-Type": STRUCTURED})
        assert status == 403 and "'lihaiwu'" in body["outside"][0]["reason"], body
        # Not reported yet: the door cannot tell, so it sends it; it waits for the hazard's town.
        status, body, _ = run_post(url, tokens.huxi, json.dumps(verified(report(2)["subject"], 2)).encode(),
                                   {"Content-Type": STRUCTURED})
        assert status == 202, body
        # The lihaiwu app's verdict synced before its report, in a request of its own: it waits too.
        status, body, _ = run_post(url, tokens.grid, json.dumps(verified(report(4)["subject"], 4)).encode(),
                                   {"Content-Type": STRUCTURED})
        assert status == 202, body
        asyncio.run(wait_drained(namespace))
        for n in (2, 4):  # each report opens its hazard in lihaiwu, judging the verdict waiting
            status, body, _ = run_post(url, tokens.grid, json.dumps(report(n)).encode(),
                                       {"Content-Type": STRUCTURED})
            assert status == 202, body
        # The lihaiwu app's report and verdict in one batch, the verdict first: both taken.
        together = [verified(report(3)["subject"], 3), report(3)]
        status, body, _ = run_post(url, tokens.grid, json.dumps(together).encode(), {"Content-Type": BATCH})
        assert status == 202 and body["accepted"] == 2, body
        asyncio.run(wait_drained(namespace))
        status, answer = asyncio.run(get_rejected(url + "/rejected", tokens.huxi))
        assert status == 200 and answer["complete"], answer
        [one] = answer["rejected"]
        assert (one["id"], one["subject"], [e["type"] for e in one["errors"]]) == (
            "v-2", report(2)["subject"], ["outside_scope"])
        assert "waited for the town of hazard" in one["errors"][0]["msg"], one
        assert asyncio.run(get_rejected(url + "/rejected", tokens.grid))[1]["rejected"] == []
        # Applied where the token may send, not where it may not.
        assert asyncio.run(get_hazard(url[:-len("/events")], tokens.supervisor,
                                      report(4)["subject"]))["status"] == "verified"
        assert asyncio.run(get_hazard(url[:-len("/events")], tokens.supervisor,
                                      report(2)["subject"]))["status"] == "reported"
        # Asked again from where it stopped: nothing more, and it says so.
        status, more = asyncio.run(get_rejected(url + "/rejected?after=" + answer["next"], tokens.huxi))
        assert status == 200 and more["complete"] and more["rejected"] == [], more
        timeline = asyncio.run(read_to_end(namespace.bootstrap, namespace.topic("engine.timeline")))
        verdicts = [json.loads(r.value)["subject"] for r in timeline
                    if json.loads(r.value).get("type") == "safety.hazard.verified"]
        assert sorted(verdicts) == sorted(report(n)["subject"] for n in (2, 4, 3))
    finally:
        worker.stop()


def test_a_changed_copy_is_409_where_the_mark_is_and_read_back_where_it_is_not(
        namespace: Namespace, tmp_path: Path, tokens: Tokens) -> None:
    """A report posted again under its (source, id) with other content was answered 202 and dropped
    unseen: the worker, which holds the first's mark, now answers 409 and sends nothing; the gateway,
    which holds none, answers 202, and the intake's rejection reaches GET /events/rejected. The
    same event again, as the same bytes, in binary mode or in a batch, is still one event, 202,
    and no conflicting copy: the marks' digest is of what the event says."""
    worker = http_worker(namespace, tmp_path, tokens).start()
    gateway = Gateway(namespace.env(HAZARD_TOKENS_FILE=str(tokens.path)), tmp_path / "gateway.log")
    try:
        worker.wait_ready()
        gateway.start()
        url = f"http://127.0.0.1:{namespace.web_port}/events"
        first = json.dumps(report(21)).encode()
        changed = json.dumps(report(21, data={**report(21)["data"], "title": "Exit still blocked"})).encode()
        assert run_post(url, tokens.grid, first, {"Content-Type": STRUCTURED})[0] == 202
        asyncio.run(wait_drained(namespace))
        status, body, _ = run_post(url, tokens.grid, changed, {"Content-Type": STRUCTURED})
        assert status == 409 and body["results"][0]["errors"][0]["type"] == "conflicting_copy", body
        assert run_post(url, tokens.grid, first, {"Content-Type": STRUCTURED})[0] == 202
        # The same event in binary mode at the worker and in a batch through the gateway: it says
        # what the first said, so it is a duplicate (202), never a conflicting copy.
        event = report(21)
        binary = {f"ce-{k}": str(v) for k, v in event.items() if k not in ("data", "datacontenttype")}
        binary["Content-Type"] = "application/json"
        status, body, _ = run_post(url, tokens.grid, json.dumps(event["data"], indent=2).encode(), binary)
        assert status == 202, body
        status, body, _ = run_post(gateway.url + "/events", tokens.grid, json.dumps([event]).encode(),
                                   {"Content-Type": BATCH})
        assert status == 202, body
        status, body, _ = run_post(gateway.url + "/events", tokens.grid, changed,
                                   {"Content-Type": STRUCTURED})
        assert status == 202, body
        asyncio.run(wait_drained(namespace))
        duplicates = asyncio.run(read_to_end(namespace.bootstrap,
                                             namespace.topic("engine.intake.duplicates")))
        assert [json.loads(d.value)["conflicting"] for d in duplicates] == [False, False, False, True]
        status, answer = asyncio.run(get_rejected(url + "/rejected", tokens.grid))
        assert status == 200 and answer["complete"], answer
        [one] = answer["rejected"]
        assert (one["id"], one["subject"], [e["type"] for e in one["errors"]]) == (
            "http-21", report(21)["subject"], ["conflicting_copy"])
        timeline = asyncio.run(read_to_end(namespace.bootstrap, namespace.topic("engine.timeline")))
        titles = [json.loads(r.value)["data"]["title"] for r in timeline
                  if json.loads(r.value).get("type") == "safety.hazard.reported"]
        assert titles == [REPORT["data"]["title"]]  # the first stands, once
    finally:
        gateway.stop()
        worker.stop()


CLIENTS = 20
PER_CLIENT = 500
BATCH_SIZE = 25


def test_ten_thousand_events_from_twenty_concurrent_clients_are_all_accounted_for(
        namespace: Namespace, tmp_path: Path, tokens: Tokens) -> None:
    """20 clients post 500 events each, in batches and one by one; all 10,000 reach the timeline once."""
    worker = http_worker(namespace, tmp_path, tokens, HAZARD_DECIDE="false",
                         HAZARD_HTTP_RATE_PER_S="1000000", HAZARD_HTTP_BURST="1000000").start()
    try:
        worker.wait_ready()
        url = f"http://127.0.0.1:{namespace.web_port}/events"

        async def client(c: int, session: aiohttp.ClientSession) -> list[int]:
            headers = {"Authorization": f"Bearer {tokens.grid}"}
            numbers = list(range(c * PER_CLIENT, (c + 1) * PER_CLIENT))
            statuses = []
            # The first 50 one by one, the rest in batches.
            for n in numbers[:50]:
                async with session.post(url, data=json.dumps(report(n)).encode(),
                                        headers={**headers, "Content-Type": STRUCTURED}) as resp:
                    statuses.append(resp.status)
                    assert (await resp.json())["accepted"] == 1
            for i in range(50, PER_CLIENT, BATCH_SIZE):
                chunk = [report(n) for n in numbers[i:i + BATCH_SIZE]]
                async with session.post(url, data=json.dumps(chunk).encode(),
                                        headers={**headers, "Content-Type": BATCH}) as resp:
                    statuses.append(resp.status)
                    assert (await resp.json())["accepted"] == len(chunk)
            return statuses

        async def everyone() -> list[int]:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
                results = await asyncio.gather(*(client(c, session) for c in range(CLIENTS)))
            return [s for r in results for s in r]

        statuses = asyncio.run(everyone())
        assert set(statuses) == {202} and len(statuses) == CLIENTS * (50 + (PER_CLIENT - 50) // BATCH_SIZE)
        asyncio.run(intake_drained(namespace))
        timeline = asyncio.run(read_to_end(namespace.bootstrap, namespace.topic("engine.timeline")))
        counts = reported(timeline)
        assert len(counts) == CLIENTS * PER_CLIENT and set(counts.values()) == {1}
    finally:
        worker.stop()


@pytest.mark.long(42)
def test_a_stopped_broker_answers_503_and_loses_nothing_once_back(tmp_path: Path, tokens: Tokens) -> None:
    """The gateway on a broker of its own: 503 while it is down, and each event once after it is back."""
    with Cluster(tmp_path / "kafka", brokers=1) as cluster:
        ns = TestNamespace(cluster.bootstrap, tmp_path)
        worker = http_worker(ns, tmp_path, tokens).start()
        gateway = Gateway(ns.env(HAZARD_TOKENS_FILE=str(tokens.path), HAZARD_HTTP_ACK_TIMEOUT_S="3",
                                 HAZARD_HTTP_RATE_PER_S="0.2", HAZARD_HTTP_BURST="5"),
                          tmp_path / "gateway.log")
        try:
            worker.wait_ready()
            gateway.start()
            url = gateway.url + "/events"
            first = json.dumps([report(n) for n in range(5)]).encode()
            status, body, _ = run_post(url, tokens.grid, first, {"Content-Type": BATCH})
            assert status == 202 and body["accepted"] == 5, body
            # The bucket is empty now: the same token flooding is told to wait.
            status, body, headers = run_post(url, tokens.grid, first, {"Content-Type": BATCH})
            assert status == 429 and int(headers["Retry-After"]) >= 1, body

            node = cluster.node_ids[0]
            cluster.stop_node(node, how="term")
            second = json.dumps([report(n) for n in range(5, 10)]).encode()
            status, body, headers = run_post(url, tokens.other, second, {"Content-Type": BATCH})
            assert status == 503 and headers["Retry-After"] == "5", body
            cluster.start_node(node)
            # As a field app does: send the same events again until they are acknowledged.
            deadline = time.monotonic() + 180
            while True:
                time.sleep(5)
                status, body, _ = run_post(url, tokens.other, second, {"Content-Type": BATCH})
                if status == 202 or time.monotonic() > deadline:
                    break
                assert status in (503, 429), body
            assert status == 202 and body["accepted"] == 5, body
            # The gateway's own /metrics counted each answer and what became of the events.
            counted = asyncio.run(scrape(gateway.url + "/metrics"))
            assert counted[("hazard_http_intake_answers_total", "202")] == 2
            assert counted[("hazard_http_intake_answers_total", "429")] >= 1
            assert counted[("hazard_http_intake_answers_total", "503")] >= 1
            assert counted[("hazard_http_intake_events_total", "accepted")] == 10
            assert counted[("hazard_http_intake_events_total", "unsent")] >= 5
            asyncio.run(wait_drained(ns, idle_timeout=120))
            timeline = asyncio.run(read_to_end(ns.bootstrap, ns.topic("engine.timeline")))
            assert reported(timeline) == Counter({f"HZ-20261130-H{n:05d}": 1 for n in range(10)})
        finally:
            gateway.stop()
            worker.stop()


def _rejection(app: str, n: int) -> tuple[bytes, bytes]:
    """A record of intake.rejected as the intake writes one, for an event `n` that `app` posted."""
    raw = json.dumps({"id": f"{app}-{n}", "source": f"/apps/{app}/", "type": "safety.hazard.verified",
                      "subject": f"HZ-{n}"}).encode()
    data = {"headers": [{"name": "field-app", "value_base64": base64.b64encode(app.encode()).decode()}],
            "errors": [{"loc": ["data"], "msg": "not known yet", "type": "scope_unknown"}],
            "raw_base64": base64.b64encode(raw).decode(), "received_at": "2026-11-30T09:00:00+08:00"}
    return f"HZ-{n}".encode(), json.dumps({"type": "safety.intake.rejected", "data": data}).encode()


def test_rejections_read_back_go_on_from_next_past_other_apps_records(
        namespace: Namespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """With more of other apps' rejections than one read scans, each answer says where it stopped
    and the app reaches all of its own by asking again from there, none twice."""
    topic = namespace.topic("intake.rejected")

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=namespace.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 3, 1)])
        finally:
            await admin.close()

    asyncio.run(create())
    records = [_rejection("noisy" if n % 10 else "grid", n) for n in range(300)]
    asyncio.run(produce(namespace.bootstrap, topic, records))
    monkeypatch.setattr(rejected, "SCAN_MAX", 40)
    got: list[str] = []
    after, reads = None, 0
    while True:
        found, complete, reached = asyncio.run(rejected.read_rejected(
            namespace.bootstrap, {}, topic, "grid", 0, after))
        got += [r.id for r in found if r.id]
        after, reads = reached, reads + 1
        if complete:
            break
        assert reads < 50
    assert reads > 1 and sorted(got) == sorted(f"grid-{n}" for n in range(0, 300, 10))
