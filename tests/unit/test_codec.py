"""The fast JSON path and the state copy that replaced the stdlib and `copy.deepcopy`."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import codec
from engine.decide.core import clone
from engine.decide.state import Hazard
from engine.intake.validate import Invalid, validate_record
from engine.reference import load_reference

KNOWN = load_reference(Path(__file__).resolve().parents[2] / "rules")
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "contract" / "examples"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_codec_writes_what_the_stdlib_wrote(value: object) -> None:
    """Stored states and entries keep their bytes: orjson writes the stdlib's compact UTF-8 JSON."""
    want = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert codec.dumps(value) == want
    assert codec.loads(want) == value


def test_clone_is_independent_of_the_original() -> None:
    """Changing any container of the copy leaves the original as it was."""
    h = Hazard("h-1", title="坑", enterprise=["9131", "厂"], duty_fails={"d-ajj": 1},
               listed=["No.1", 10, 20, True], applied=[2**64 - 1], history=[[1, "e-1", "reported"]],
               clocks={"verify": 5})
    before = copy.deepcopy(h)
    c = clone(h)
    assert c == h and c is not h
    c.enterprise.append("x")
    c.duty_fails["d-ajj"] = 2
    c.listed[3] = False
    c.applied.append(1)
    c.history[0].append("more")
    c.clocks.clear()
    assert h == before


def test_json_orjson_refuses_is_still_judged_by_the_schema() -> None:
    """NaN is not JSON to orjson; the stdlib parses it, so the schema names the real fault."""
    [error, *_] = validate_record(b'{"specversion": NaN}', "hazard.reports", KNOWN).errors
    assert error.type != "not_json"


def test_not_json_still_names_line_and_column() -> None:
    """The stdlib parser still reports where a broken record breaks."""
    result = validate_record(b'{\n  "a": 1,\n  oops}', "hazard.reports", KNOWN)
    assert isinstance(result, Invalid)
    assert result.errors[0].type == "not_json" and "line 3 column 3" in result.errors[0].msg


def _indented_with_zeros(zeros: int) -> bytes:
    """The example report indented, with a list of zeros packed on one line under its data."""
    event = json.loads((EXAMPLES / "hazard-reported.json").read_text())
    event["data"]["zeros"] = "ZEROS"
    doc = json.dumps(event, indent=1, ensure_ascii=False)
    return doc.replace('"ZEROS"', "[" + ",".join(["0"] * zeros) + "]").encode()


@pytest.mark.parametrize("zeros", [9_000, 12_000, 19_000])
def test_an_indented_document_orjson_has_no_room_for_is_read_all_the_same(zeros: int) -> None:
    """orjson gives an indented document room for fewer values a byte and refuses a dense one as
    'failed to allocate memory'; the codec reads it as the stdlib does, and intake judges it by the
    contract (a field the contract does not know), not as JSON that parsers read differently."""
    doc = _indented_with_zeros(zeros)
    assert codec.loads(doc) == json.loads(doc)
    assert codec.loads(doc.decode()) == json.loads(doc)
    result = validate_record(doc, "hazard.reports", KNOWN)
    assert isinstance(result, Invalid)
    assert {e.type for e in result.errors} == {"extra_forbidden"}


@given(st.text(alphabet=' \t\n\r"\\ab{}[],:0', max_size=30))
def test_compact_leaves_strings_as_they_are(text: str) -> None:
    """Only the white space between tokens goes: every string, escapes and spaces in it, stays."""
    doc = json.dumps({"k y": [text, 0, {" ": text}]}, indent=2).encode()
    assert json.loads(codec.compact(doc)) == json.loads(doc)
    assert b"\n" not in codec.compact(doc)


@given(JSON_VALUES, st.sampled_from([None, 0, 1, 4, "\t"]), st.booleans())
def test_compact_keeps_every_value_of_any_document(value: object, indent: object, ascii_: bool) -> None:
    """Whatever the values, the indentation and the escaping, the compact form reads the same."""
    doc = json.dumps(value, indent=indent, ensure_ascii=ascii_).encode()
    assert codec.loads(codec.compact(doc)) == value
