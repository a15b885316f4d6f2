"""The publisher never lets a later event of a subject go out before an earlier one is acknowledged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.tools.publish import waves


def test_a_subjects_events_go_out_in_rounds_in_their_order() -> None:
    """Each round holds a subject once; the second event of HZ-1 waits for the first."""
    keys = [b"HZ-1", b"HZ-2", b"HZ-1", None, b"HZ-3", b"HZ-1", b"HZ-2"]
    assert waves(keys) == [[0, 1, 3, 4], [2, 6], [5]]


@given(st.lists(st.one_of(st.none(), st.sampled_from([b"A", b"B", b"C", b"D"])), max_size=60))
def test_rounds_cover_every_record_once_and_keep_each_subjects_order(keys: list[bytes | None]) -> None:
    """Every record is in exactly one round; a key's records are in rounds 0, 1, 2, ... in order."""
    rounds = waves(keys)
    flat = [i for r in rounds for i in r]
    assert sorted(flat) == list(range(len(keys)))
    round_of = {i: n for n, r in enumerate(rounds) for i in r}
    for key in {k for k in keys if k is not None}:
        positions = [i for i, k in enumerate(keys) if k == key]
        assert [round_of[i] for i in positions] == list(range(len(positions)))
    assert all(len({keys[i] for i in r if keys[i] is not None})
               == len([i for i in r if keys[i] is not None]) for r in rounds)
