"""docs/contract.md, asyncapi.yaml and openapi.yaml: generated from the code, never stale, and valid.

The specifications' own JSON Schemas are vendored in docs/specs/ (AsyncAPI 3.0.0
from the npm package @asyncapi/specs 6.11.1, OpenAPI 3.1 from the PyPI package
openapi-spec-validator 0.9.0; both Apache-2.0), so nothing is fetched here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from prometheus_client import CollectorRegistry

from engine import contractdocs, schemas
from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS
from engine.contract.outputs import OUTPUT_TYPES
from engine.contract.uscc import ALPHABET, PATTERN, check_character
from engine.enterprise import web as enterprise_web
from engine.feeds import web as feeds
from engine.feeds.tokens import TokenStore
from engine.health import Readiness
from engine.http import intake
from engine.http.server import Pages, health_pages
from engine.metrics import HttpIntakeMetrics
from engine.settings import Settings

SPECS = contractdocs.DOCS_DIR / "specs"
VALIDATORS = {
    "asyncapi.yaml": (Draft7Validator, "asyncapi-3.0.0.schema.json"),
    "openapi.yaml": (Draft202012Validator, "openapi-3.1.schema.json"),
}


def validator(name: str) -> Any:
    cls, file_name = VALIDATORS[name]
    return cls(json.loads((SPECS / file_name).read_text(encoding="utf-8")))


def test_the_committed_documents_are_what_the_code_generates() -> None:
    """docs/ is what `hazard-engine contract docs` writes today."""
    assert contractdocs.differences() == [], "run `hazard-engine contract docs` and commit"


def test_a_stale_or_missing_document_is_named(tmp_path: Path) -> None:
    """The check fails, by name, on a document that drifted or is gone."""
    contractdocs.write(tmp_path)
    (tmp_path / "openapi.yaml").write_text("openapi: 3.1.0\n")
    (tmp_path / "contract.md").unlink()
    assert contractdocs.differences(tmp_path) == ["docs/contract.md: missing",
                                                  "docs/openapi.yaml: differs from the code"]


@pytest.mark.parametrize("name", sorted(VALIDATORS))
def test_each_document_is_valid_against_its_specifications_schema(name: str) -> None:
    """AsyncAPI 3.0 and OpenAPI 3.1 documents, as their own meta-schemas define them."""
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in validator(name).iter_errors(contractdocs.loads(name))]
    assert errors == []


@pytest.mark.parametrize(("name", "spoil"), [
    ("asyncapi.yaml", lambda d: d.pop("info")),
    ("asyncapi.yaml", lambda d: d["channels"]["escalations"].update(adress="typo")),
    ("asyncapi.yaml", lambda d: d["channels"]["escalations"]["bindings"]["kafka"].update(partitions="4")),
    ("openapi.yaml", lambda d: d["paths"]["/events"]["post"].update(response={})),
    ("openapi.yaml", lambda d: d["components"]["securitySchemes"]["fieldApp"].pop("scheme")),
])
def test_the_meta_schemas_do_catch_a_broken_document(name: str, spoil: Any) -> None:
    """The validation is not vacuous: a spoiled copy fails it."""
    doc = copy.deepcopy(contractdocs.loads(name))
    spoil(doc)
    assert list(validator(name).iter_errors(doc))


def test_asyncapi_has_every_declared_topic_its_key_and_each_types_schema() -> None:
    """Each topic of topics.yaml is a channel with its key; each event type refers to its schema file."""
    doc = contractdocs.loads("asyncapi.yaml")
    addresses = {c["address"]: c for c in doc["channels"].values()}
    for spec in contractdocs._topics():
        assert addresses[spec.name]["x-key"] == spec.key
    for name in [*EVENT_TYPES, *OUTPUT_TYPES]:
        ref = doc["components"]["messages"][name]["payload"]["$ref"]
        assert (contractdocs.DOCS_DIR / ref).resolve() == schemas.SCHEMA_DIR / f"{name}.json"
    for topic in INTAKE_TOPICS:
        op = doc["operations"][f"receive-{contractdocs._component_id(topic)}"]
        assert op["action"] == "receive"


class _NoState:
    def get(self, id_: str) -> None:
        return None

    def items(self) -> list[Any]:
        return []


def test_openapi_describes_exactly_the_routes_a_worker_serves() -> None:
    """The paths match the real router of the worker's HTTP server: health, feeds, enterprises' files
    and POST /events."""
    pages = Pages()
    settings = Settings()
    health_pages(pages, CollectorRegistry(), Readiness(frozenset({"hazard"}), True, 1.0))
    feeds.register(pages, settings=settings, bootstrap="-", hazards=_NoState(), alerts=_NoState(),
                   tokens=TokenStore(), now=lambda: 0.0)
    intake.register(pages, settings=settings, bootstrap="-", tokens=TokenStore(), known=None,  # type: ignore[arg-type]
                    metrics=HttpIntakeMetrics(CollectorRegistry()), now=lambda: 0.0)
    enterprise_web.register(pages, settings=settings, enterprises=_NoState(), tokens=TokenStore(),
                            now=lambda: 0.0)
    served = {(r.method.lower(), r.resource.canonical) for r in pages.web_app.router.routes()
              if r.method in ("GET", "POST")}
    doc = contractdocs.loads("openapi.yaml")
    described = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert described == served
    events = doc["paths"]["/events"]["post"]
    assert set(events["responses"]) == {str(a.status) for a in intake.ANSWERS}
    assert events["security"] == [{"fieldApp": []}]


def test_contract_md_names_every_topic_type_and_answer() -> None:
    """The prose document carries each intake and output topic, event type and HTTP answer."""
    text = (contractdocs.DOCS_DIR / "contract.md").read_text(encoding="utf-8")
    for name in [*INTAKE_TOPICS, *EVENT_TYPES, *OUTPUT_TYPES]:
        assert f"`{name}`" in text
    for answer in intake.ANSWERS:
        assert f"| `{answer.status}` |" in text


def test_every_schema_names_its_dialect_and_an_absolute_id() -> None:
    """Each file of topics/schemas/ says which JSON Schema it is written in and who it is."""
    for path in sorted(schemas.SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        assert re.fullmatch(r"[a-z][a-z0-9+.-]*:\S+", schema["$id"]), path.name  # has a scheme
        assert schema["$id"].endswith(path.stem)


def test_the_uscc_pattern_admits_valid_codes_and_only_the_standards_alphabet() -> None:
    """The schemas' USCC pattern matches every valid code and refuses letters GB 32100 leaves out."""
    schema = json.loads((schemas.SCHEMA_DIR / "safety.hazard.reported.json").read_text())
    assert schema["$defs"]["Enterprise"]["properties"]["uscc"]["pattern"] == PATTERN
    body = "91370100MA3C0000"
    for last in ALPHABET[:5]:
        code = body + last + check_character(body + last)
        assert re.fullmatch(PATTERN, code)
    for letter in "IOSVZ":
        assert not re.fullmatch(PATTERN, "9137010" + letter + "MA3C00000X")


def test_the_field_app_guide_tells_what_to_do_on_every_answer() -> None:
    """docs/field-apps.md (hand-written) has a row for each status POST /events can answer."""
    text = (contractdocs.DOCS_DIR / "field-apps.md").read_text(encoding="utf-8")
    for answer in intake.ANSWERS:
        assert f"| `{answer.status}` |" in text
