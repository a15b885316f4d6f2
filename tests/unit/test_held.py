"""States kept decoded between batches (engine/stream/held.py): taken only while the table holds the
very bytes they were stored as, handed over once, and the oldest leave first."""

from __future__ import annotations

from engine.enterprise.state import EnterpriseFile
from engine.stream.held import Decoded, Held


def _file(uscc: str) -> EnterpriseFile:
    return EnterpriseFile(id=uscc)


def test_a_kept_state_is_taken_only_for_the_bytes_it_was_stored_as_and_only_once() -> None:
    decoded = Decoded({"enterprise"}, limit=2)
    stored, state = b"file v1", _file("U1")
    decoded.keep(("enterprise", b"U1"), stored, state)
    equal_but_other = bytes(bytearray(b"file v1"))  # the same value, another object: a reload
    assert decoded.take(("enterprise", b"U1"), equal_but_other) is None
    decoded.keep(("enterprise", b"U1"), stored, state)
    assert decoded.take(("enterprise", b"U1"), stored) is state
    assert decoded.take(("enterprise", b"U1"), stored) is None  # handed over: the decision owns it


def test_only_the_kinds_given_are_kept_and_the_oldest_leave_first() -> None:
    decoded = Decoded({"enterprise"}, limit=2)
    values = {k: b"v" + k for k in (b"A", b"B", b"C", b"H")}
    files = {k: _file(k.decode()) for k in values}
    decoded.keep(("hazard", b"H"), values[b"H"], files[b"H"])
    for k in (b"A", b"B", b"C"):
        decoded.keep(("enterprise", k), values[k], files[k])
    assert len(decoded) == 2
    assert decoded.take(("enterprise", b"A"), values[b"A"]) is None
    assert decoded.take(("enterprise", b"C"), values[b"C"]) is files[b"C"]
    assert decoded.take(("hazard", b"H"), values[b"H"]) is None


def test_held_takes_a_kept_state_on_a_miss_and_gives_back_what_no_decision_changed() -> None:
    table = {b"U1": b"file v1", b"U2": b"file v2"}
    decoded = Decoded({"enterprise"})
    one, two = _file("U1"), _file("U2")
    decoded.keep(("enterprise", b"U1"), table[b"U1"], one)
    decoded.keep(("enterprise", b"U2"), table[b"U2"], two)
    held = Held({"enterprise": table, "hazard": {}}, decoded)
    assert ("enterprise", b"U1") in held and held[("enterprise", b"U1")] is one
    assert ("enterprise", b"U2") in held
    assert ("hazard", b"H1") not in held and ("enterprise", b"U3") not in held
    held.unused({("enterprise", b"U2"): ["a decision"]})  # U2 changed: the batch stores it anew
    assert decoded.take(("enterprise", b"U1"), table[b"U1"]) is one
    assert decoded.take(("enterprise", b"U2"), table[b"U2"]) is None


def test_a_file_is_kept_with_its_new_hashes_where_decoding_would_put_them() -> None:
    f = _file("U1")
    f.applied_stored, f.applied = (1).to_bytes(8, "big"), [2, 3]
    Decoded({"enterprise"}).keep(("enterprise", b"U1"), b"stored", f)
    assert f.applied == [] and f.applied_stored == b"".join(n.to_bytes(8, "big") for n in (1, 2, 3))
