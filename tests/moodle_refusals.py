"""Refusals a real Moodle makes too, which no schema can state: they depend on the site's records.

One list for every test that lets a generated, schema-valid request be refused: plain ``st run``
against the mock (tests/mock_server/test_nexsis_spec_agreement.py) and the suite's fuzzing of the
mock (tests/acceptance/fuzzing.py). Each pattern matches the mock's error message; each reason says
which Moodle code refuses the same. Keep it short: an allowed refusal can hide another on the same
operation.
"""

from __future__ import annotations

import re

__all__ = ["REFUSED_BY_MOODLE_TOO", "refused_by_moodle_too"]

#: message pattern -> why a real system refuses it too (the spec cannot: it knows no records).
REFUSED_BY_MOODLE_TOO = {
    r"is already used by another (user|course)": "usernames and course shortnames are unique in Moodle "
                                                 "(unique index; create_course's shortnametaken)",
    r"A group named .* already exists": "group names are unique per course (groups_create_group)",
    r"Unknown role": "the role must exist on the site (Moodle's role_assign refuses an unknown one)",
    r"contains a NUL character": "Moodle's cleaning drops NUL; both APIs refuse a value carrying one",
    r"only enrolled users can join its groups": (
        "only enrolled users can be group members (groups_add_member refuses others; core_group_add_"
        "group_members: 'Only enrolled users may be members of groups'); schemathesis' examples phase "
        "sends the document's example ids: S123 (made by its PUT /user example) into C789 "
        "(a default course)"),
}

_PATTERNS = tuple(re.compile(pattern.encode()) for pattern in REFUSED_BY_MOODLE_TOO)


def refused_by_moodle_too(message: str | bytes) -> bool:
    """Whether an error message is one of the refusals above."""
    data = message.encode() if isinstance(message, str) else message
    return any(pattern.search(data) for pattern in _PATTERNS)
