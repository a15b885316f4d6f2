"""Start the SASL/SCRAM broker with ACLs and check who may log in, write and read what."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from engine import cli as engine_cli
from engine.board.web import recent_positions, subject_outputs
from engine.broker import cli, local, secure
from engine.broker.install import ensure_installed, free_port
from engine.broker.quotas import load_quotas, reconcile
from engine.feeds.tokens import mint
from engine.harness import Worker
from engine.settings import REPO_ROOT, Settings
from engine.tools.kafka import admin, client_auth, connection, producer, reader
from engine.topics import ensure_topics, load_topics

pytestmark = pytest.mark.broker

APP_ID = "hazard-engine"


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[secure.Credentials]:
    """Start a secure broker in a private cache (reusing the installed jars); stop it at the end."""
    libs = ensure_installed().libs
    root = tmp_path_factory.mktemp("hazard-cache-secure")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HAZARD_CACHE_DIR", str(root))
        mp.setenv("HAZARD_KAFKA_LIBS", str(libs))
        mp.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
        try:
            result = secure.ensure_up(timeout=120)
            assert result.started
            found = secure.read_credentials()
            assert found is not None and found.bootstrap == result.bootstrap
            yield found
        finally:
            secure.down(timeout=10)
            local.down(timeout=10)


@pytest.fixture(scope="module")
def topics(creds: secure.Credentials) -> list[str]:
    """Create the declared topics as the engine principal, the way the worker does."""
    specs = load_topics(REPO_ROOT / "topics" / "topics.yaml", APP_ID)

    async def run() -> tuple[list[str], list[str]]:
        client = admin(creds.bootstrap, creds.auth("engine"), request_timeout_ms=10_000)
        await client.start()
        try:
            # The second call compares configs: it needs DESCRIBE_CONFIGS, not just CREATE.
            return (await ensure_topics(client, specs, 1, 1), await ensure_topics(client, specs, 1, 1))
        finally:
            await client.close()

    created, again = asyncio.run(run())
    assert sorted(created) == sorted(s.name for s in specs) and again == []
    return created


@pytest.fixture(autouse=True)
def restore_structlog() -> Iterator[None]:
    """Undo the CLI's structlog setup so later tests see structlog as they left it."""
    configured = structlog.is_configured()
    yield
    if not configured:
        structlog.reset_defaults()


async def _send(creds: secure.Credentials, user: str, topic: str, value: bytes, idempotent: bool) -> None:
    prod = AIOKafkaProducer(bootstrap_servers=creds.bootstrap, enable_idempotence=idempotent,
                            request_timeout_ms=10_000, **creds.auth(user))  # fmt: skip
    try:
        await prod.start()  # inside: a refused producer id fails here, and the producer is still closed
        await prod.send_and_wait(topic, value)
    finally:
        await prod.stop()


async def _read_one(creds: secure.Credentials, user: str, topic: str, group: str) -> bytes:
    cons = AIOKafkaConsumer(topic, bootstrap_servers=creds.bootstrap, group_id=group,
                            auto_offset_reset="earliest", **creds.auth(user))  # fmt: skip
    try:
        await cons.start()  # inside: a refused group fails here, and the consumer is still closed
        record = await asyncio.wait_for(cons.getone(), 30)
        await cons.commit()
        return record.value
    finally:
        await cons.stop()


def test_unauthenticated_and_wrong_password_clients_are_refused(creds: secure.Credentials) -> None:
    """PLAINTEXT clients and SASL clients with a wrong password get no metadata; real ones do."""
    wrong = {**creds.auth("field-app"), "sasl_plain_password": "not-" + creds.passwords["field-app"]}
    assert not local.broker_answers(creds.bootstrap, timeout=5.0)
    assert not local.broker_answers(creds.bootstrap, timeout=5.0, auth=wrong)
    assert local.broker_answers(creds.bootstrap, timeout=5.0, auth=creds.auth("field-app"))

    async def send_plaintext() -> None:
        prod = AIOKafkaProducer(bootstrap_servers=creds.bootstrap, request_timeout_ms=5_000)
        try:
            await asyncio.wait_for(prod.start(), 15)
        finally:
            await prod.stop()

    with pytest.raises((KafkaError, TimeoutError)):
        asyncio.run(send_plaintext())


def test_field_app_writes_intake(creds: secure.Credentials, topics: list[str]) -> None:
    """field-app writes hazard.reports with the engine's idempotent producer settings."""

    async def run() -> None:
        async with producer(creds.bootstrap, creds.auth("field-app")) as prod:
            await prod.send_and_wait("hazard.reports", b'{"probe": "field-app"}', key=b"HZ-1")

    asyncio.run(run())


def test_field_app_cannot_read_escalations(creds: secure.Credentials, topics: list[str]) -> None:
    """field-app has no READ on output topics nor a consumer group."""
    with pytest.raises((TopicAuthorizationFailedError, GroupAuthorizationFailedError)):
        asyncio.run(_read_one(creds, "field-app", "escalations", "field-app"))


def test_supervisor_cannot_write_intake(creds: secure.Credentials, topics: list[str]) -> None:
    """supervisor may not write hazard.reports: refused per topic, and idempotence is refused too."""
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_send(creds, "supervisor", "hazard.reports", b"forged", idempotent=False))
    # With no WRITE anywhere, an idempotent producer is refused its producer id first.
    with pytest.raises(ClusterAuthorizationFailedError):
        asyncio.run(_send(creds, "supervisor", "hazard.reports", b"forged", idempotent=True))


def test_engine_writes_escalations_and_supervisor_reads_them(
    creds: secure.Credentials, topics: list[str]
) -> None:
    """engine writes an escalation; supervisor reads it in a supervisor- group, not in another."""
    value = f"escalation {uuid.uuid4()}".encode()
    asyncio.run(_send(creds, "engine", "escalations", value, idempotent=True))
    assert asyncio.run(_read_one(creds, "supervisor", "escalations", "supervisor-district")) == value
    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(_read_one(creds, "supervisor", "escalations", "hazard-engine"))
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_read_one(creds, "supervisor", "intake.rejected", "supervisor-district"))


def test_the_organisation_department_reads_the_filings_copies_and_no_referral(
    creds: secure.Credentials, topics: list[str]
) -> None:
    """The filing tool, as engine, copies a monthly filing to filings.organisation; the organisation
    department reads it in an organisation- group, and may not read referrals.discipline, where the
    referrals of failures go to discipline inspection alone."""
    value = f"filing {uuid.uuid4()}".encode()
    asyncio.run(_send(creds, "engine", "filings.organisation", value, idempotent=True))
    assert asyncio.run(_read_one(creds, "organisation", "filings.organisation", "organisation-1")) == value
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_read_one(creds, "organisation", "referrals.discipline", "organisation-1"))
    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(_read_one(creds, "organisation", "filings.organisation", "supervisor-district"))


def test_engine_reads_intake_in_its_group_and_owns_internal_topics(
    creds: secure.Credentials, topics: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """engine, logged in from KAFKA_* settings, reads intake in its group, writes it and its timeline."""
    for name, value in creds.env("engine").items():
        monkeypatch.setenv(name, value)
    auth = client_auth(Settings())
    assert auth == creds.auth("engine")
    asyncio.run(_send(creds, "field-app", "hazard.reports", b"for the engine", idempotent=True))
    assert asyncio.run(_read_one(creds, "engine", "hazard.reports", APP_ID))

    async def timeline() -> bytes:
        async with producer(creds.bootstrap, auth) as prod:
            sent = await prod.send_and_wait("engine.timeline", b"timeline entry")
        consumer = reader(creds.bootstrap, auth)
        await consumer.start()
        try:
            tp = TopicPartition("engine.timeline", sent.partition)
            consumer.assign([tp])
            consumer.seek(tp, sent.offset)
            return (await asyncio.wait_for(consumer.getone(), 30)).value
        finally:
            await consumer.stop()

    assert asyncio.run(timeline()) == b"timeline entry"
    # The engine writes intake too: it forwards a null-key record to its subject's partition. That
    # gives it no power it lacked, since it writes the timeline the decisions are made from.
    asyncio.run(_send(creds, "engine", "hazard.reports", b"forwarded", idempotent=True))
    # Least privilege still: it reads only in its own consumer group.
    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(_read_one(creds, "engine", "hazard.reports", "supervisor-district"))


RETRIABLE_PRODUCE = {5, 6}  # LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER


def _record_batch(records: int, size: int) -> bytes:
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=64 * 1024 * 1024)
    for offset in range(records):
        builder.append(offset, timestamp=None, key=b"HZ-1", value=b"x" * size, headers=[])
    return bytes(builder.build())


async def _throttle_times(creds: secure.Credentials, user: str, requests: int,
                          client_id: str | None = None) -> list[int]:
    """What the broker answers `user` sending up to `requests` produce requests of 1 MB each to
    hazard.reports, one after the other, as `client_id` (default `quota-probe-<user>`): each
    answer's throttle time (ms), up to the first that is not 0 (the broker then holds the
    connection that long). The client is a bare one, so that the answers are seen as the broker
    gives them."""
    client = connection(creds.bootstrap, creds.auth(user), client_id=client_id or f"quota-probe-{user}")
    await client.bootstrap()
    try:
        client.add_topic("hazard.reports")
        await client.force_metadata_update()
        throttled, moved = [], 0
        while len(throttled) < requests:
            leader = client.cluster.leader_for_partition(TopicPartition("hazard.reports", 0))
            batch = [("hazard.reports", [(0, _record_batch(1_000, 1_000))])]
            answer = await client.send(leader, ProduceRequest(None, -1, 30_000, batch))
            [(_, [(_, error, *_)])] = answer.topics
            if error in RETRIABLE_PRODUCE and moved < 50:
                # The partition's leadership was not settled (a topic just created): ask again,
                # as any producer does; the request wrote nothing and does not count.
                moved += 1
                await asyncio.sleep(0.2)
                await client.force_metadata_update()
                continue
            assert error == 0
            throttled.append(answer.throttle_time_ms)
            if answer.throttle_time_ms:
                break
        return throttled
    finally:
        await client.close()


def test_a_field_app_past_its_quota_is_slowed_under_any_client_id_and_no_one_else_is(
        creds: secure.Credentials, topics: list[str]) -> None:
    """`broker up --secure` puts topics/quotas.yaml in force: a field app sending 12 MB as fast as it
    can (far past its 256 KiB a second) is told to wait, and the broker holds its connection for
    that long. The same principal under a client id it has not used before is told to wait at its
    first request: the limit is the principal's, not the connection's. Another field app, with a
    principal of its own, is not slowed by the first one's flood, and the worker's principal,
    sending as much, never is. Every request is written (each answer is checked for no error)."""
    held = asyncio.run(reconcile(creds.bootstrap, creds.auth("admin"), None, timeout=30))
    assert held == {q.entity: q.values for q in load_quotas(REPO_ROOT / "topics" / "quotas.yaml")}
    assert asyncio.run(_throttle_times(creds, "field-app", 12))[-1] > 0
    assert asyncio.run(_throttle_times(creds, "field-app", 1, client_id=f"fresh-{uuid.uuid4()}")) != [0]
    assert asyncio.run(_throttle_times(creds, "inspector-app", 1)) == [0]
    assert asyncio.run(_throttle_times(creds, "engine", 12)) == [0] * 12


def test_quotas_apply_sets_lifts_and_shows_the_brokers_quotas(
        creds: secure.Credentials, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`hazard-engine quotas apply` as admin sets a file's limits and leaves the others the broker
    holds; with --replace and the shipped file, which sets Kafka's default user, it lifts every
    other limit (here the per-client-id ones an earlier file set, which would still win over the
    default); a field app may not set quotas at all."""
    for name, value in creds.env("admin").items():
        monkeypatch.setenv(name, value)
    wider = tmp_path / "quotas.yaml"
    wider.write_text("quotas:\n"
                     "  - {user: field-app, client_id: <default>, producer_byte_rate: 262144,\n"
                     "     request_percentage: 25, consumer_byte_rate: 1000000}\n"
                     "  - {user: field-app, client_id: town-app, producer_byte_rate: 1000}\n")
    shipped = ("user <default>: producer_byte_rate=262144, request_percentage=25\n"
               "user engine: producer_byte_rate=1000000000000, request_percentage=10000\n")
    try:
        assert engine_cli.main(["quotas", "apply", "--file", str(wider)]) == 0
        assert capsys.readouterr().out == shipped + (
            "user field-app, client-id <default>: consumer_byte_rate=1000000, producer_byte_rate=262144, "
            "request_percentage=25\nuser field-app, client-id town-app: producer_byte_rate=1000\n")
        assert engine_cli.main(["quotas", "apply"]) == 0  # the file's limits held already: nothing lifted
        assert "town-app" in capsys.readouterr().out
        assert engine_cli.main(["quotas", "apply", "--replace"]) == 0
        assert capsys.readouterr().out == shipped
        assert engine_cli.main(["quotas", "show"]) == 0
        assert capsys.readouterr().out == shipped
        monkeypatch.setenv("KAFKA_SASL_USERNAME", "field-app")
        monkeypatch.setenv("KAFKA_SASL_PASSWORD", creds.passwords["field-app"])
        assert engine_cli.main(["quotas", "apply", "--file", str(wider)]) == 2
        assert "Cluster authorization failed" in capsys.readouterr().err
    finally:
        monkeypatch.undo()
        shipped_quotas = load_quotas(REPO_ROOT / "topics" / "quotas.yaml")
        asyncio.run(reconcile(creds.bootstrap, creds.auth("admin"), shipped_quotas, timeout=30, replace=True))


def test_plain_settings_add_no_security_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_*, clients are built as for the plain broker."""
    for name in secure.Credentials("x:1", {"u": "p"}).env("u"):
        monkeypatch.delenv(name, raising=False)
    assert client_auth(Settings()) == {}


def test_cli_status_and_credentials_file(
    creds: secure.Credentials, capsys: pytest.CaptureFixture[str]
) -> None:
    """`broker status --secure` shows the broker; the credentials file is 0600; plain is separate."""
    assert stat.S_IMODE(Path(secure.credentials_path()).stat().st_mode) == 0o600
    assert cli.main(["broker", "up", "--secure"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == creds.bootstrap
    assert cli.main(["broker", "status", "--secure"]) == 0
    out = capsys.readouterr().out
    assert "secure Kafka: running" in out and str(secure.credentials_path()) in out
    # The plain broker's state is elsewhere: the secure one does not show up as it.
    assert not local.status().running


def test_worker_runs_as_the_engine_principal(creds: secure.Credentials, topics: list[str],
                                             tmp_path) -> None:
    """A real worker logs in as `engine` and has every right it needs, end to end, its supervisors'
    escalation feed included (the feed's reader logs in with the worker's credentials)."""
    token, line = mint("district-office", [], [], True)
    (tmp_path / "tokens.yaml").write_text(f"supervisors:\n{line}\n")
    port = free_port()
    env = {**os.environ, **creds.env("engine"), "HAZARD_APP_ID": APP_ID, "HAZARD_TOPIC_PREFIX": "",
           "HAZARD_DATA_DIR": str(tmp_path / "data"), "HAZARD_WEB_PORT": str(port),
           "HAZARD_TOKENS_FILE": str(tmp_path / "tokens.yaml"),
           # The system clock, and an example dated 2026-11-30: no window, or it is stale from 2028-11-29.
           "HAZARD_DEDUP_DAYS": "0"}
    worker = Worker(env, tmp_path / "worker.log")
    try:
        worker.start().wait_ready(timeout=120)
        assert asyncio.run(_feed_opens(f"http://127.0.0.1:{port}/feeds/escalations", token))
        finding = (REPO_ROOT / "topics" / "examples" / "inspection-recorded.json").read_bytes()
        asyncio.run(_send(creds, "field-app", "inspection.findings", finding, idempotent=True))
        listed = json.loads(asyncio.run(_read_one(creds, "supervisor", "supervision.listed",
                                                  "supervisor-e2e")))
        assert listed["data"]["hazard_id"] == "HZ-20261130-0002"
        # The board's readers log in as the worker does: a detail page's outputs, and where the
        # live list starts.
        login = creds.auth("engine")
        outputs = asyncio.run(subject_outputs(creds.bootstrap, "", "HZ-20261130-0002", login))
        assert "safety.supervision.listed" in {o["type"] for o in outputs}
        positions = asyncio.run(recent_positions(creds.bootstrap, "escalations", 5, login))
        assert positions and all(offset >= 0 for offset in positions.values())  # a refused login raises
        assert "TopicAuthorizationFailed" not in worker.log_text()
        assert "ClusterAuthorizationFailed" not in worker.log_text()
    finally:
        worker.stop()


async def _feed_opens(url: str, token: str) -> str:
    """The start position the escalation feed announces once its reader is on the topic."""
    headers, timeout = {"Authorization": f"Bearer {token}"}, aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers, timeout=timeout) as resp:
        assert resp.status == 200, await resp.text()
        first = (await resp.content.readuntil(b"\n\n")).decode()
        return next(line[len(": from "):] for line in first.splitlines() if line.startswith(": from "))
