"""JSON Schemas of every intake and output event, exported from the pydantic models.

Field-app developers code against the files in topics/schemas/; a test keeps
them equal to the models, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, create_model

from engine.contract.envelope import EVENT_TYPES, Envelope
from engine.contract.outputs import ENGINE_SOURCE, OUTPUT_TYPES
from engine.settings import REPO_ROOT

SCHEMA_DIR = REPO_ROOT / "topics" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"  # what pydantic v2 generates
# Absolute, so a schema names itself wherever it is copied; a URN (RFC 8141) and not a URL, because
# the project publishes no web address a reader could fetch the schemas from.
ID_BASE = "urn:hazard-engine:schema:"


class _OutputEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    specversion: Literal["1.0"]
    id: str
    source: Literal[ENGINE_SOURCE]  # type: ignore[valid-type]
    type: str
    time: AwareDatetime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    data: Any


def _output_model(type_name: str, data_model: type[BaseModel]) -> type[BaseModel]:
    name = "".join(w.capitalize() for w in type_name.split(".")[1:]) + "Event"
    return create_model(name, __base__=_OutputEnvelope, __doc__=f"A `{type_name}` event.",
                        type=(Literal[type_name], ...), data=(data_model, ...))  # type: ignore


def _published(schema: dict[str, Any], type_name: str) -> dict[str, Any]:
    """A model's schema with the dialect it is written in and its absolute id."""
    return {"$schema": DIALECT, "$id": f"{ID_BASE}{type_name}", **schema}


def schemas() -> dict[str, dict[str, Any]]:
    """Return file name -> JSON Schema for every intake and output event type."""
    out: dict[str, dict[str, Any]] = {}
    for name, event_type in EVENT_TYPES.items():
        schema = _published(event_type.model.model_json_schema(), name)
        schema["x-topic"] = event_type.topic
        out[f"{name}.json"] = schema
    for name, (topic, data_model) in OUTPUT_TYPES.items():
        schema = _published(_output_model(name, data_model).model_json_schema(), name)
        schema["x-topic"] = topic
        out[f"{name}.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    """Serialise a schema the way the committed files are written."""
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into `directory`, removing stale ones; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = schemas()
    for stale in set(p.name for p in directory.glob("*.json")) - set(wanted):
        (directory / stale).unlink()
    written = []
    for file_name, schema in sorted(wanted.items()):
        path = directory / file_name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def differences(directory: Path = SCHEMA_DIR) -> list[str]:
    """Name each committed schema file that is missing, stale or different from the models."""
    wanted = schemas()
    have = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    problems = [f"{n}: missing" for n in sorted(set(wanted) - have)]
    problems += [f"{n}: no such event type" for n in sorted(have - set(wanted))]
    problems += [
        f"{n}: differs from the models"
        for n in sorted(set(wanted) & have)
        if (directory / n).read_text(encoding="utf-8") != render(wanted[n])
    ]
    return problems


__all__ = ["Envelope", "differences", "export", "schemas"]
