"""The committed JSON Schemas match the models, and topics/ declares every contract topic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from engine import schemas
from engine.contract.common import Sector
from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS
from engine.contract.outputs import OUTPUT_TOPICS
from engine.reference import SECTORS
from engine.topics import TopicsError, load_topics

REPO = Path(__file__).resolve().parents[2]


def test_committed_schemas_match_the_models() -> None:
    """topics/schemas/ is what `hazard-engine schemas export` writes today."""
    assert schemas.differences() == [], "run `hazard-engine schemas export` and commit"


def test_schema_check_notices_drift(tmp_path: Path) -> None:
    """A changed, missing or extra schema file is reported by name."""
    schemas.export(tmp_path)
    (tmp_path / "safety.hazard.reported.json").write_text("{}\n")
    (tmp_path / "safety.alert.closed.json").unlink()
    (tmp_path / "safety.hazard.exploded.json").write_text("{}\n")
    assert schemas.differences(tmp_path) == [
        "safety.alert.closed.json: missing",
        "safety.hazard.exploded.json: no such event type",
        "safety.hazard.reported.json: differs from the models",
    ]


def test_schema_names_the_topic_and_requires_an_offset_free_nothing() -> None:
    """Each intake schema names its topic and requires the envelope's attributes."""
    schema = json.loads((schemas.SCHEMA_DIR / "safety.hazard.reported.json").read_text())
    assert schema["x-topic"] == "hazard.reports"
    assert {"specversion", "id", "source", "type", "time", "subject", "data"} <= set(schema["required"])


def test_every_contract_topic_is_declared_with_one_intake_partition_count() -> None:
    """topics.yaml declares the contract's topics; intake topics share a partition count."""
    specs = {s.name: s for s in load_topics(REPO / "topics" / "topics.yaml", "app")}
    assert set(INTAKE_TOPICS) | set(OUTPUT_TOPICS) <= set(specs)
    assert {specs[t].partitions for t in INTAKE_TOPICS} == {specs["app-intake-seen-changelog"].partitions}
    assert specs["app-intake-seen-changelog"].cleanup_policy == "compact"
    assert {e.topic for e in EVENT_TYPES.values()} == set(INTAKE_TOPICS)


def test_intake_records_are_stamped_by_the_broker() -> None:
    """A late event's department clock counts from its arrival: on the intake topics that is the
    broker's append time, not a time its producer may have copied from the event; the engine's
    own topics keep their producer's stamp (the worker's clock, replayed the same)."""
    specs = load_topics(REPO / "topics" / "topics.yaml", "app")
    stamps = {s.name: s.configs(1)["message.timestamp.type"] for s in specs}
    assert {stamps[t] for t in INTAKE_TOPICS} == {"LogAppendTime"}
    assert {stamp for name, stamp in stamps.items() if name not in INTAKE_TOPICS} == {"CreateTime"}


def test_every_topic_takes_a_whole_record_batch_of_the_producer() -> None:
    """The worker's producer fills record batches up to BATCH_BYTES: a topic whose records may be
    smaller would refuse a whole batch (and the worker would send it again for ever)."""
    from engine.tools.kafka import BATCH_BYTES, producer

    async def batch_size() -> int:
        made = producer("127.0.0.1:9", {})  # not started: it connects to nothing
        try:
            return made._message_accumulator._batch_size  # type: ignore[no-any-return]
        finally:
            await made.stop()

    assert asyncio.run(batch_size()) == BATCH_BYTES
    # aiokafka's builder counts the batch's header and each record's encoding against the size; only
    # a record alone may pass it, and that record is as large as a batch of its own ever was.
    assert min(s.max_message_bytes for s in load_topics(REPO / "topics" / "topics.yaml", "app")) \
        >= BATCH_BYTES


def test_prefix_applies_to_contract_topics_not_to_changelogs() -> None:
    """A prefix isolates contract topics; the tables' changelogs are isolated by the app id."""
    names = {s.name for s in load_topics(REPO / "topics" / "topics.yaml", "app", "ns.")}
    assert "ns.hazard.reports" in names and "app-intake-seen-changelog" in names


def test_bad_declaration_names_the_key(tmp_path: Path) -> None:
    """An unknown key in topics.yaml fails with the file and the key."""
    bad = tmp_path / "topics.yaml"
    text = (REPO / "topics" / "topics.yaml").read_text().replace("role: intake", "rol: intake", 1)
    bad.write_text(text)
    with pytest.raises(TopicsError, match=r"topics\.0\.rol: Extra inputs are not permitted"):
        load_topics(bad, "app")


def test_sector_enum_matches_the_reference_list() -> None:
    """The contract's sectors and the rules' sector list are the same, in the same order."""
    assert tuple(Sector) == SECTORS


def test_shipped_examples_are_the_contracts() -> None:
    """topics/examples/ holds the contract's examples unchanged, so the demo shows the real thing."""
    shared = REPO.parent / "shared" / "contract" / "examples"
    shipped = REPO / "topics" / "examples"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(p.name for p in shared.iterdir())
    for path in shared.iterdir():
        assert (shipped / path.name).read_bytes() == path.read_bytes(), path.name
