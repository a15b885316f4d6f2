"""The client quotas file (topics/quotas.yaml): read, checked, and turned into AlterClientQuotas."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest

from engine import cli
from engine.broker.quotas import (
    Quota,
    QuotasError,
    _AlterClientQuotas,
    _AlterClientQuotasRequest_v0,
    load_quotas,
    table,
)
from engine.settings import REPO_ROOT


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quotas.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_limits_each_principal_as_a_whole_but_the_workers() -> None:
    """Every principal without an entry of its own is limited at the user level (Kafka's default
    user entity), so all of one field app's connections share one limit whatever client ids they
    carry; the worker's principal has an entry of its own, set past what a broker can give."""
    default, worker = load_quotas(REPO_ROOT / "topics" / "quotas.yaml")
    assert default.entity == (("user", None),)
    assert str(default) == "user <default>"
    assert default.values == {"producer_byte_rate": 256 * 1024, "request_percentage": 25}
    assert worker.entity == (("user", "engine"),)
    # Each limit the default sets, the worker's entry sets too (Kafka resolves each kind apart),
    # beyond a terabyte a second and a hundred request threads.
    assert set(worker.values) >= set(default.values)
    assert worker.values["producer_byte_rate"] >= 1e12 and worker.values["request_percentage"] >= 10_000


@pytest.mark.parametrize(("text", "says"), [
    ("quotas:\n  - user: field-app\n    producer_rate: 5\n", "producer_rate: Extra inputs are not permitted"),
    ("quotas:\n  - user: field-app\n", "a quota needs at least one of producer_byte_rate"),
    ("quotas:\n  - user: field-app\n    producer_byte_rate: -1\n", "greater than 0"),
    ("quotas:\n  - client_id: x\n    producer_byte_rate: 1\n", "quotas.0.user: Field required"),
    ("quotas:\n  - {user: a, producer_byte_rate: 1}\n  - {user: a, consumer_byte_rate: 1}\n",
     "an entity has two entries"),
    ("quotas: [\n", "cannot read quotas"),
])
def test_a_wrong_quotas_file_is_refused_with_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(QuotasError, match=says):
        load_quotas(_file(tmp_path, text))


def test_default_stands_for_kafkas_default_entity(tmp_path: Path) -> None:
    quotas = load_quotas(_file(tmp_path, "quotas:\n  - {user: <default>, request_percentage: 10}\n"
                                         "  - {user: app-1, client_id: app-1, producer_byte_rate: 100}\n"))
    assert [q.entity for q in quotas] == [(("user", None),), (("client-id", "app-1"), ("user", "app-1"))]
    assert table({q.entity: q.values for q in quotas}) == [
        "user <default>: request_percentage=10", "user app-1, client-id app-1: producer_byte_rate=100"]
    assert table({}) == ["no client quotas: every client may send and fetch as fast as the broker goes"]


def test_the_request_sets_the_files_limits_and_removes_the_ones_it_lifts() -> None:
    """What goes on the wire, read back with the request's own schema: each entity once, its limits
    set, and a removal for each limit to lift (in the same entry when the entity keeps others)."""
    kept = Quota((("client-id", None), ("user", "field-app")), {"producer_byte_rate": 1000.0})
    gone = (("client-id", "old"), ("user", "field-app"))
    request = _AlterClientQuotas((kept,), {kept.entity: ("request_percentage",),
                                           gone: ("producer_byte_rate",)})
    wire = request.build(_AlterClientQuotasRequest_v0).encode()
    entries, validate_only = _AlterClientQuotasRequest_v0.SCHEMA.decode(BytesIO(wire))
    assert validate_only is False
    assert [(tuple(map(tuple, entity)), [tuple(op) for op in ops]) for entity, ops in entries] == [
        (kept.entity, [("producer_byte_rate", 1000.0, False), ("request_percentage", 0.0, True)]),
        (gone, [("producer_byte_rate", 0.0, True)]),
    ]


def test_quotas_check_prints_the_files_quotas(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quotas", "check"]) == 0
    assert capsys.readouterr().out == (
        "user <default>: producer_byte_rate=262144, request_percentage=25\n"
        "user engine: producer_byte_rate=1000000000000, request_percentage=10000\n")


def test_quotas_check_names_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quotas", "check", "--file", str(_file(tmp_path, "quotas:\n  - user: x\n"))]) == 2
    assert "a quota needs at least one of" in capsys.readouterr().err
