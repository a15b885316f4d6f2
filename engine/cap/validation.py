"""Validating CAP documents against the OASIS CAP 1.2 schema shipped in `engine/cap/schema/`.

It uses `xmlschema`, a full XSD 1.0 validator in pure Python. That package is a
test dependency, so it is imported only when `validate` is first called: the
engine renders documents without it, and the tests prove they are valid.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

from engine.cap.message import NAMESPACE

if TYPE_CHECKING:
    import xmlschema

SCHEMA_PATH = files("engine.cap") / "schema" / "CAP-v1.2.xsd"
_ROOT = f"{{{NAMESPACE}}}alert"


@cache
def schema() -> xmlschema.XMLSchema:
    """Return the CAP 1.2 schema, loaded once: building it takes far longer than validating with it."""
    import xmlschema

    return xmlschema.XMLSchema(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(xml: bytes) -> list[str]:
    """Return the schema errors of a CAP 1.2 document as "path: reason" lines; empty means valid."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        return [f"not well-formed XML: {e}"]
    # The schema also declares <valueName> and <value> globally, so a document whose root
    # is one of those would pass it; a CAP document's root must be <alert>.
    if root.tag != _ROOT:
        return [f"/: root element must be {_ROOT}, got {root.tag}"]
    return [f"{e.path}: {e.reason or e.message}" for e in schema().iter_errors(io.BytesIO(xml))]
