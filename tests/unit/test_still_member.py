"""A worker the group no longer counts as a member writes no states (`Runtime._still_member`).

A worker whose session lapsed (its process stopped, its loop stalled, the
coordinator out of reach) can come back with states changed and not yet
written, while another worker has taken its partitions and written newer states
of the same keys. Written then, its states would be the newest records on the
changelogs, and a restart or the next rebalance would read them back in place
of the newer ones. Here a Runtime without a broker gets the in-memory log of
test_taken_entries; its coordinator refuses commits as Kafka's refuses a member
whose session ended, and the worker must write nothing, in the loop's store and
in the store a revocation makes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition

from engine.stream.runtime import BatchFailed
from tests.unit.test_stored_together import _changelog_writes, _waiting_worker
from tests.unit.test_taken_entries import _feed


def test_states_are_written_after_the_group_takes_the_last_commit_again(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    _feed(rt, log, 300, 30)
    assert rt.uncommitted and not log.commits and not log.probes
    committed = {(tp.topic, tp.partition): end for tp, end in rt.committed.items() if tp in rt.uncommitted}
    before = _changelog_writes(rt, log)

    asyncio.run(rt._store_and_commit())
    # The positions last committed, committed again unchanged, then the states, then the new commit.
    assert log.probes == [committed]
    assert _changelog_writes(rt, log) > before and len(log.commits) == 1


def test_a_worker_whose_session_ended_writes_no_states_in_its_loop(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    _feed(rt, log, 300, 30)
    assert rt.uncommitted
    before = _changelog_writes(rt, log)
    log.refuse = True  # another worker has its partitions now

    with pytest.raises(BatchFailed, match="not a member of the group"):
        asyncio.run(rt._store_and_commit())
    assert _changelog_writes(rt, log) == before  # nothing the other worker wrote is overwritten
    assert not log.commits


def test_a_worker_revoked_after_its_session_ended_writes_no_states_and_reads_its_tables_again(
        tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    _feed(rt, log, 300, 30)
    assert rt.uncommitted and rt.changed  # states and enterprise files waiting to be written
    before = _changelog_writes(rt, log)
    log.refuse = True

    asyncio.run(rt.revoked({TopicPartition(rt.timeline, 0)}))
    assert _changelog_writes(rt, log) == before
    assert not log.commits
    # What it held is gone; its tables are ahead of the changelogs, so they are read again.
    assert not rt.uncommitted and not rt.unstored and not rt.changed
    assert rt.unrecovered
