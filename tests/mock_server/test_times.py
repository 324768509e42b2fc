"""Times the real site takes, the mock takes (issue 12: plain `st run` found the mock refusing
times PHP's strtotime and `(int)` cast accept: before 1970, the year 0000, beyond 3000, a day the
month lacks). Answers are validated against the spec (`validate_responses=True`), so a time the
mock stores but renders outside `TimeValue` fails here too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexsis_mock.handlers.nexsis import times

from .conftest import NX, Server

INT64_MAX = 2**63 - 1


@given(st.integers(min_value=-62135596800, max_value=253402300799))
def test_calendar_agrees_with_datetime_where_datetime_reaches(seconds: int) -> None:
    expected = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    assert times.fields(seconds) == (expected.year, expected.month, expected.day,
                                     expected.hour, expected.minute, expected.second)
    assert times.iso(seconds) == expected.isoformat()
    assert times.from_text(times.iso(seconds)) == seconds


@given(st.integers(min_value=-(2**63), max_value=INT64_MAX))
def test_every_int64_time_renders_as_a_time_value_and_reads_back(seconds: int) -> None:
    text = times.iso(seconds)
    back = times.from_digits(text) if times.DIGITS_RE.match(text) else times.from_text(text)
    assert back == seconds


@pytest.mark.parametrize(("text", "seconds"), [
    ("0000-01-01T00:00:00Z", -62167219200),             # strtotime takes the year 0000
    ("1969-12-31T23:59:59Z", -1),                        # and times before 1970
    ("3001-01-01", 32535216000),                         # and beyond 3000
    ("2021-02-31", 1614729600),                          # 2021-03-03: the day rolls over
    ("2016-12-31T23:59:60Z", 1483228800),                # a leap second: the next minute
    ("2017-08-16T21:09:30+05:30", 1502897970),
    ("2017-08-16T21:09:30-0530", 1502937570),
    ("2025-12-26 14:36:33", 1766759793),
])
def test_texts_php_takes(text: str, seconds: int) -> None:
    assert times.from_text(text) == seconds


@pytest.mark.parametrize("text", [
    "2021-13-01", "2021-00-10", "2021-01-00", "2021-01-32", "2021-01-01T24:00", "2021-01-01T10:60",
    "2021-01-01T10:00+24:00", "\u0662\u0660\u0662\u0661-01-01",  # Arabic-Indic digits are no [0-9]
])
def test_texts_the_spec_refuses_are_refused(text: str) -> None:
    assert times.from_text(text) is None


def test_digit_strings_saturate_like_php_int_cast() -> None:
    assert times.from_digits("9" * 5000) == INT64_MAX   # and no ValueError from int()
    assert times.from_digits("-" + "9" * 30) == -(2**63)
    assert times.from_digits("-000000000000000000000000042") == -42


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    with Server() as srv, httpx.Client(base_url=srv.base_url + NX, timeout=30) as client:
        listing = httpx.get(srv.base_url + "/__admin/tokens").json()["nexsis"]
        token = listing[0]["token"] if isinstance(listing[0], dict) else listing[0]
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("sent", "shown"), [
    ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00+00:00"),
    (-1, "1969-12-31T23:59:59+00:00"),
    ("3001-01-01T00:00:00", "3001-01-01T00:00:00+00:00"),
    ("2021-02-31", "2021-03-03T00:00:00+00:00"),
    ("-62167219201", "-62167219201"),  # the year -1 has no 4-digit form: shown as seconds
    (str(10**30), str(INT64_MAX)),
])
def test_course_startdate_is_taken_and_shown(site, sent, shown) -> None:
    client, auth = site
    put = client.put("/course/TIMES1", json={"fullname": "Times", "startdate": sent}, headers=auth)
    assert put.status_code == 200, put.text
    assert put.json()["startdate"] == shown
    assert client.get("/course/TIMES1", headers=auth).json()["startdate"] == shown


def test_export_import_keeps_extreme_times(site) -> None:
    client, auth = site
    for cid, when in (("TIMES2", "0000-01-01"), ("TIMES3", str(-(2**63)))):
        assert client.put(f"/course/{cid}", json={"startdate": when}, headers=auth).status_code == 200
    admin = str(client.base_url).split(NX)[0] + "/__admin/state"
    exported = httpx.get(admin).json()
    assert httpx.put(admin, json=exported).status_code == 200
    assert httpx.get(admin).json() == exported
    assert client.get("/course/TIMES3", headers=auth).json()["startdate"] == str(-(2**63))


def test_program_allocation_dates_before_1970(site) -> None:
    client, auth = site
    body = {"startdate": "1960-01-01T00:00:00", "duedate": "1965-01-01", "enddate": -1}
    put = client.put("/program/P12/user/S1001", json=body, headers=auth)
    assert put.status_code == 200, put.text
    got = client.get("/program/P12/user/S1001", headers=auth).json()
    assert (int(got["startdate"]), int(got["duedate"]), int(got["enddate"])) == (-315619200, -157766400, -1)
