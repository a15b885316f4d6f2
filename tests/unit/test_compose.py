"""docker/compose.yaml read statically: there is no Docker engine here to run it.

Each test checks one promise the compose file makes to a district: the Kafka
it runs is the Kafka the tests run, the worker is watched by /healthz and has a
tokens file, and Prometheus, Alertmanager and Grafana are wired to each other
with files that exist in the repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from engine.broker.install import KAFKA_VERSION
from engine.feeds.tokens import TokenStore

DOCKER = Path(__file__).resolve().parents[2] / "docker"
WANTED = {"kafka", "engine", "prometheus", "alertmanager", "grafana"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The services of the compose file."""
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]


def repo_path(service: dict[str, Any], container_path: str) -> Path | None:
    """The repository file a container path of `service` comes from, through its bind mounts."""
    wanted = PurePosixPath(container_path)
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith(".") and wanted.is_relative_to(target):
            return DOCKER / source / wanted.relative_to(target)
    return None


def engine_port(services: dict[str, Any]) -> int:
    """The worker's web port as compose configures it."""
    return int(services["engine"]["environment"]["HAZARD_WEB_PORT"])


def test_compose_starts_kafka_the_worker_prometheus_alertmanager_and_grafana(services: dict) -> None:
    """Compose runs all five services, and the engine service runs `hazard-engine worker`."""
    assert WANTED <= set(services)
    engine = services["engine"]
    assert engine["build"]["dockerfile"] == "docker/Dockerfile"
    assert engine["command"] == ["worker"]
    assert 'ENTRYPOINT ["hazard-engine"]' in (DOCKER / "Dockerfile").read_text()


def test_compose_files_each_month_with_the_engines_image_and_broker(services: dict) -> None:
    """The monthly filing runs scheduled, from the engine's image, on the engine's broker, once the
    worker (which makes referrals.discipline) is up; its filing day is one the settings take."""
    from engine.settings import Settings

    filing, engine = services["filing"], services["engine"]
    assert filing["command"] == ["filing", "--schedule"]
    assert filing["build"] == engine["build"]
    broker = "KAFKA_BOOTSTRAP_SERVERS"
    assert filing["environment"][broker] == engine["environment"][broker]
    assert filing["depends_on"]["engine"]["condition"] == "service_healthy"
    assert filing["restart"] == "unless-stopped"
    day = int(filing["environment"]["HAZARD_FILING_DAY"])
    assert Settings(filing_day=day).filing_day == day


def test_kafka_image_is_the_version_broker_up_installs(services: dict) -> None:
    """The Kafka image's tag is engine/broker/install.py's KAFKA_VERSION."""
    image, _, tag = services["kafka"]["image"].partition(":")
    assert image == "apache/kafka"
    assert tag == KAFKA_VERSION


def test_engine_healthcheck_gets_healthz_on_the_web_port(services: dict) -> None:
    """The engine's healthcheck requests /healthz on the port the worker serves, inside its container."""
    engine = services["engine"]
    assert engine["environment"]["HAZARD_WEB_BIND"] == "0.0.0.0"  # reachable from Prometheus
    command = " ".join(engine["healthcheck"]["test"])
    urls = re.findall(r"https?://[^\s'\"]+", command)
    assert len(urls) == 1, command
    url = urlsplit(urls[0])
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", engine_port(services), "/healthz")
    assert engine["healthcheck"]["test"][0] == "CMD"
    assert f"{engine_port(services)}:{engine_port(services)}" in engine["ports"]


def test_a_tokens_file_from_the_repository_is_mounted_into_the_engine(services: dict) -> None:
    """HAZARD_TOKENS_FILE names a path mounted from the repository, and that file loads as a tokens file."""
    engine = services["engine"]
    path = repo_path(engine, engine["environment"]["HAZARD_TOKENS_FILE"])
    assert path is not None and path.is_file(), engine.get("volumes")
    assert not TokenStore.load(path).unknown_ids(set(), set())  # parses; names no town or department
    assert all(v.endswith(":ro") for v in engine["volumes"] if v.startswith("."))  # files: read-only


def test_prometheus_scrapes_the_engine_and_alerts_through_alertmanager(services: dict) -> None:
    """prometheus.yml, as mounted, scrapes engine:<web port> and sends alerts to the alertmanager service."""
    prometheus = services["prometheus"]
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = repo_path(prometheus, config_arg.split("=", 1)[1])
    assert config_path is not None and config_path.is_file()
    config = yaml.safe_load(config_path.read_text())
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert f"engine:{engine_port(services)}" in targets
    [manager] = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"]
                 for t in sc["targets"]]
    assert manager.split(":")[0] == "alertmanager"
    routes = repo_path(services["alertmanager"], "/etc/alertmanager/alertmanager.yml")
    assert routes is not None and routes.is_file()


def test_grafana_provisioning_mounts_exist_and_point_at_prometheus(services: dict) -> None:
    """Grafana's mounts exist here, its datasource is the prometheus service, its dashboard is found."""
    grafana = services["grafana"]
    assert grafana["volumes"]
    for volume in grafana["volumes"]:
        assert (DOCKER / volume.split(":")[0]).is_dir(), volume
    sources = [d for f in sorted((DOCKER / "grafana/provisioning/datasources").glob("*.yaml"))
               for d in yaml.safe_load(f.read_text())["datasources"]]
    [source] = [d for d in sources if d["type"] == "prometheus"]
    url = urlsplit(source["url"])
    assert (url.hostname, url.port) == ("prometheus", 9090)
    assert "9090:9090" in services["prometheus"]["ports"]
    providers = [p for f in sorted((DOCKER / "grafana/provisioning/dashboards").glob("*.yaml"))
                 for p in yaml.safe_load(f.read_text())["providers"]]
    [provider] = providers
    folder = repo_path(grafana, provider["options"]["path"])
    assert folder is not None and (folder / "hazard-engine.json").is_file()
    home = repo_path(grafana, grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home is not None and home.is_file()
    dashboard = json.loads((folder / "hazard-engine.json").read_text())
    uids = {json.dumps(p["datasource"]) for p in dashboard["panels"] if "datasource" in p}
    assert uids == {json.dumps({"type": "prometheus", "uid": source["uid"]})}


def test_the_worker_keeps_its_local_store_on_a_named_volume(services: dict[str, Any]) -> None:
    """HAZARD_DATA_DIR is on a volume the compose file declares, so a restart keeps the tables."""
    engine = services["engine"]
    data_dir = engine["environment"]["HAZARD_DATA_DIR"]
    declared = yaml.safe_load((DOCKER / "compose.yaml").read_text()).get("volumes") or {}
    mounts = [v.split(":") for v in engine.get("volumes", [])]
    assert any(source in declared and target == data_dir for source, target, *_ in mounts)
