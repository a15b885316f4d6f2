"""The client quotas file (topics/quotas.yaml): read, checked, and turned into AlterClientQuotas."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest

from engine import cli
from engine.broker import secure
from engine.broker.quotas import (
    Quota,
    QuotasError,
    _AlterClientQuotas,
    _AlterClientQuotasRequest_v0,
    engine_slowed,
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


def test_the_shipped_file_slows_no_engine_principal_but_would_slow_one_without_an_entry() -> None:
    shipped = load_quotas(REPO_ROOT / "topics" / "quotas.yaml")
    assert engine_slowed(shipped, ("engine",)) == []
    said = engine_slowed(shipped, ("gateway",))
    assert said == [
        "user <default> sets producer_byte_rate=262144, which would slow the engine's principal gateway "
        "(it needs at least 134217728): give gateway an entry of its own above that",
        "user <default> sets request_percentage=25, which would slow the engine's principal gateway "
        "(it needs at least 100): give gateway an entry of its own above that"]


@pytest.mark.parametrize(("own", "slowed_by"), [
    # An entry of the engine's own for any client id hides the default user's, kind by kind.
    ("{user: engine, producer_byte_rate: 1.0e+12, request_percentage: 10000}", []),
    ("{user: engine, client_id: <default>, producer_byte_rate: 1.0e+12, request_percentage: 10000}", []),
    # Kafka resolves each kind apart: the default user's request limit still governs the engine.
    ("{user: engine, producer_byte_rate: 1.0e+12}", ["user <default> sets request_percentage=25"]),
    # An entry for one client id leaves the engine's other client ids to the default user.
    ("{user: engine, client_id: hazard-engine, producer_byte_rate: 1.0e+12, request_percentage: 10000}",
     ["user <default> sets producer_byte_rate=262144", "user <default> sets request_percentage=25"]),
    # The engine's own entry may slow it too.
    ("{user: engine, consumer_byte_rate: 1000000}",
     ["user <default> sets producer_byte_rate=262144", "user engine sets consumer_byte_rate=1000000",
      "user <default> sets request_percentage=25"]),
])
def test_a_quota_that_would_slow_the_engine_is_named_as_kafka_would_resolve_it(
        tmp_path: Path, own: str, slowed_by: list[str]) -> None:
    quotas = load_quotas(_file(tmp_path, "quotas:\n  - {user: <default>, producer_byte_rate: 262144, "
                                         f"request_percentage: 25}}\n  - {own}\n"))
    said = engine_slowed(quotas, ("engine",))
    assert [line.split(",")[0] for line in said] == slowed_by


def test_quotas_check_fails_on_a_file_that_would_slow_the_engine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slow = _file(tmp_path, "quotas:\n  - {user: <default>, producer_byte_rate: 1000}\n")
    assert cli.main(["quotas", "check", "--file", str(slow)]) == 1
    assert "which would slow the engine's principal engine" in capsys.readouterr().err
    assert cli.main(["quotas", "check", "--engine-principal", "gateway"]) == 1  # the shipped file
    assert "give gateway an entry of its own" in capsys.readouterr().err


def test_quotas_apply_refuses_what_would_slow_the_engine_before_it_connects(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without SASL every connection is ANONYMOUS to the broker, the worker's as a field app's: the
    shipped file's default-user limits would slow the worker, so it is refused, naming why. With a
    login, a principal named with --engine-principal and without an entry is refused the same way.
    Nothing listens on the bootstrap address: the refusal comes before any connection."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    assert cli.main(["quotas", "apply"]) == 2
    err = capsys.readouterr().err
    assert "log in without SASL" in err and "ANONYMOUS" in err and "--allow-engine-limits" in err
    for name, value in {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                        "KAFKA_SASL_USERNAME": "admin", "KAFKA_SASL_PASSWORD": "x"}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["quotas", "apply", "--engine-principal", "engine", "--engine-principal", "gw"]) == 2
    err = capsys.readouterr().err
    assert "principal gw" in err and "principal engine" not in err


def test_the_secure_broker_refuses_a_file_that_would_slow_its_worker_naming_the_file(tmp_path: Path) -> None:
    """`broker up --secure` has no flag to override the check, so its refusal names the file to mend
    rather than a flag of `quotas apply`. It refuses before it starts or reuses a broker."""
    slow = _file(tmp_path, "quotas:\n  - {user: <default>, producer_byte_rate: 1000}\n")
    with pytest.raises(QuotasError) as refused:
        secure.ensure_up(quotas_file=slow)
    said = str(refused.value)
    assert "principal engine" in said and f"mend {slow} and start it again" in said
    assert "--allow-engine-limits" not in said
