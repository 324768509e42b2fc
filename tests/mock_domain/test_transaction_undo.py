"""A failed transaction leaves the state exactly as it was, whatever primitives it went through.

``Tables`` journals every change as an undo step (a function and its arguments); a rollback
replays them backwards. Each primitive is exercised here (put of a new and of an existing key,
pop, field set, set add/discard, list append/remove, the enrolment counter, a nested
transaction) inside one transaction that then fails; the export, every index and the counters
must be unchanged, and the version must have moved (memoised values are stale).
"""

from __future__ import annotations

import pytest

from nexsis_mock import fixtures
from nexsis_mock.store.records import Group


class _Boom(Exception):
    pass


def _snapshot(state) -> tuple:
    return (fixtures.export(state), dict(state.group_by_name),
            {k: set(v) for k, v in state.user_groups.items()}, dict(state.seq), state.enrol_count,
            list(state.logs))


def test_a_failed_transaction_undoes_every_kind_of_change() -> None:
    state = fixtures.load(None)
    user = next(iter(state.users.values()))
    course = next(iter(state.courses.values()))
    state.user_groups.setdefault(user.id, set())  # an existing bucket: changed in place, not dropped
    before = _snapshot(state)
    version = state.version
    with pytest.raises(_Boom), state.transaction():
        group = Group(id=state.next_id("group"), courseid=course.id, name="undo me", idnumber="U1",
                      description="", descriptionformat=1, enrolmentkey="", visibility=0,
                      participation=True, timecreated=0, timemodified=0)
        state.add_group(group)                       # put (new keys), buckets, sequence
        state.add_group_member(group.id, user.id)    # set add
        state.rename_group(group, "renamed")         # pop, field set, put
        state.update(user, firstname="Changed", lastname="Too")
        state._put(state.seq, "group", 10**6)        # put of an existing key
        state._count(+3)
        with state.transaction():                    # nested: the outer one owns the journal
            state.append_to(state.logs, "x")          # list append
            state.remove_group_member(group.id, user.id)  # set discard
        state.remove_from(state.logs, "x")           # list remove
        existing = next(g for g in state.groups.values() if g.members and g is not group)
        state.rename_group(existing, "renamed too")  # pop of a key that was there before
        state.remove_group_member(existing.id, min(existing.members))  # discard of an old member
        raise _Boom
    assert _snapshot(state) == before
    assert state.version != version
    assert state._undo is None
    # and the state works on: a committed change after the rollback stays
    with state.transaction():
        state.update(user, firstname="Kept")
    assert state.users[user.id].firstname == "Kept"


def test_a_committed_transaction_keeps_its_changes_and_closes_the_journal() -> None:
    state = fixtures.load(None)
    user = next(iter(state.users.values()))
    with state.transaction():
        state.update(user, firstname="Committed")
    assert user.firstname == "Committed" and state._undo is None
    with pytest.raises(_Boom), state.transaction():
        state.update(user, firstname="Lost")
        raise _Boom
    assert user.firstname == "Committed"
