"""Thin HTTP clients for the two APIs that check every answer against the spec.

Each call names the spec operation it exercises, so every response body a test sees has already
been validated against that operation: a test cannot pass on an answer the contract forbids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from nexsis_openapi import redact_text
from nexsis_openapi.codec import encode

from .spec_check import validate_response

NEXSIS_BASE = "/enrol/nexsis/api/index.php"
WS_PATH = "/webservice/rest/server.php"


@dataclass
class Reply:
    status: int
    body: Any
    response: httpx.Response

    def __repr__(self) -> str:  # what a failed assertion shows: the exact exchange
        req = self.response.request
        return redact_text(
            f"<{req.method} {req.url.path}?{req.url.query.decode()[:200]} -> {self.status} "
            f"{self.response.text[:500]!r}>"
        )


def seg(value: object) -> str:
    """One path segment, percent-encoded (NexSIS ids are free text: `2026-11-01T08:00:00.000Z`)."""
    return quote(str(value), safe="")


class Nexsis:
    """NexSIS REST client; the token goes in the Bearer header unless `token_in` says query."""

    def __init__(self, http: httpx.Client, token: str | None, *, token_in: str = "header") -> None:
        self.http = http
        self.token = token
        self.token_in = token_in

    def with_token(self, token: str | None, token_in: str | None = None) -> Nexsis:
        return Nexsis(self.http, token, token_in=token_in or self.token_in)

    def call(
        self,
        operation_id: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: dict[str, Any] | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        validate: bool = True,
    ) -> Reply:
        hdrs = dict(headers or {})
        query: list[tuple[str, Any]] = list(params.items() if isinstance(params, dict) else params or [])
        if self.token is not None:
            if self.token_in == "header":
                hdrs["Authorization"] = f"Bearer {self.token}".rstrip()
            else:
                query.append(("token", self.token))
        kwargs: dict[str, Any] = {"params": query or None, "headers": hdrs}
        if json is not None:
            kwargs["json"] = json
        elif form is not None:
            kwargs["content"] = encode(form)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        response = self.http.request(method, NEXSIS_BASE + path, **kwargs)
        body = validate_response("nexsis", operation_id, response) if validate else None
        return Reply(response.status_code, body, response)

    # The operations the tests use most, named as in the spec.
    def get_user(self, uid: str) -> Reply:
        return self.call("getUser", "GET", f"/user/{seg(uid)}")

    def put_user(self, uid: str, **fields: Any) -> Reply:
        return self.call("putUser", "PUT", f"/user/{seg(uid)}", json=fields)

    def delete_user(self, uid: str) -> Reply:
        return self.call("deleteUser", "DELETE", f"/user/{seg(uid)}")

    def get_course(self, cid: str) -> Reply:
        return self.call("getCourse", "GET", f"/course/{seg(cid)}")

    def put_course(self, cid: str, **fields: Any) -> Reply:
        return self.call("putCourse", "PUT", f"/course/{seg(cid)}", json=fields)

    def delete_course(self, cid: str) -> Reply:
        return self.call("deleteCourse", "DELETE", f"/course/{seg(cid)}")

    def enrol(self, uid: str, cid: str, **fields: Any) -> Reply:
        return self.call("enrolUser", "PUT", f"/user/{seg(uid)}/enrol/{seg(cid)}", json=fields or None)

    def unenrol(self, uid: str, cid: str, **params: Any) -> Reply:
        return self.call("unenrolUser", "DELETE", f"/user/{seg(uid)}/enrol/{seg(cid)}", params=params)

    def user_enrolments(self, uid: str, **params: Any) -> Reply:
        return self.call("listUserEnrolments", "GET", f"/user/{seg(uid)}/enrol", params=params)

    def course_enrolments(self, cid: str) -> Reply:
        return self.call("listCourseEnrolments", "GET", f"/course/{seg(cid)}/enrol")

    def groups(self, cid: str) -> Reply:
        return self.call("listCourseGroups", "GET", f"/course/{seg(cid)}/group")

    def get_group(self, cid: str, gid: str) -> Reply:
        return self.call("getCourseGroup", "GET", f"/course/{seg(cid)}/group/{seg(gid)}")

    def put_group(self, cid: str, gid: str, **fields: Any) -> Reply:
        return self.call("putCourseGroup", "PUT", f"/course/{seg(cid)}/group/{seg(gid)}", json=fields)

    def delete_group(self, cid: str, gid: str) -> Reply:
        return self.call("deleteCourseGroup", "DELETE", f"/course/{seg(cid)}/group/{seg(gid)}")

    def add_member(self, cid: str, gid: str, uid: str) -> Reply:
        return self.call("addGroupMember", "PUT", f"/course/{seg(cid)}/group/{seg(gid)}/user/{seg(uid)}")

    def remove_member(self, cid: str, gid: str, uid: str) -> Reply:
        return self.call(
            "removeGroupMember", "DELETE", f"/course/{seg(cid)}/group/{seg(gid)}/user/{seg(uid)}"
        )

    def get_completion(self, cid: str, uid: str) -> Reply:
        return self.call("getCourseCompletion", "GET", f"/course/{seg(cid)}/user/{seg(uid)}/completion")

    def add_completion(self, cid: str, uid: str, when: str) -> Reply:
        return self.call(
            "addCourseCompletion", "POST", f"/course/{seg(cid)}/user/{seg(uid)}/completion/{seg(when)}"
        )

    def get_program(self, pid: str, uid: str) -> Reply:
        return self.call("getProgramAllocation", "GET", f"/program/{seg(pid)}/user/{seg(uid)}")

    def put_program(self, pid: str, uid: str, **fields: Any) -> Reply:
        return self.call("putProgramAllocation", "PUT", f"/program/{seg(pid)}/user/{seg(uid)}", json=fields)

    def delete_program(self, pid: str, uid: str) -> Reply:
        return self.call("deleteProgramAllocation", "DELETE", f"/program/{seg(pid)}/user/{seg(uid)}")

    def logs(self, **params: Any) -> Reply:
        return self.call("getLogs", "GET", "/logs", params=params)


class MoodleWS:
    """Moodle REST client: form-encoded POST with PHP bracket notation, as real clients send it."""

    def __init__(self, http: httpx.Client, token: str | None, *, token_in: str = "body") -> None:
        self.http = http
        self.token = token
        self.token_in = token_in

    def with_token(self, token: str | None) -> MoodleWS:
        return MoodleWS(self.http, token, token_in=self.token_in)

    def raw(self, wsfunction: str, params: dict[str, Any] | None = None) -> httpx.Response:
        fields: dict[str, Any] = {"wsfunction": wsfunction, "moodlewsrestformat": "json"}
        query = None
        if self.token is not None:
            if self.token_in == "body":
                fields["wstoken"] = self.token
            else:
                query = {"wstoken": self.token}
        body = encode(fields) + ("&" + encode(params) if params else "")
        return self.http.post(
            WS_PATH, content=body, params=query, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    def call(self, wsfunction: str, params: dict[str, Any] | None = None) -> Any:
        """Call a function; returns the decoded body (a result or an exception envelope)."""
        response = self.raw(wsfunction, params)
        assert response.status_code == 200, f"{wsfunction}: HTTP {response.status_code} {response.text[:300]}"
        return validate_response("moodle-ws", wsfunction, response)

    def ok(self, wsfunction: str, params: dict[str, Any] | None = None) -> Any:
        """Call and assert that Moodle would not have raised."""
        body = self.call(wsfunction, params)
        assert not (isinstance(body, dict) and "exception" in body), f"{wsfunction}({params}) -> {body}"
        return body

    def error(
        self, wsfunction: str, params: dict[str, Any] | None, errorcode: str, exception: str | None = None
    ) -> dict[str, Any]:
        """Call and assert the Moodle exception envelope with this errorcode (and exception class)."""
        body = self.call(wsfunction, params)
        assert isinstance(body, dict) and body.get("errorcode") == errorcode, (
            f"{wsfunction}({params}): expected {errorcode}, got {body}"
        )
        if exception is not None:
            assert body["exception"] == exception, body
        assert isinstance(body.get("message"), str) and body["message"], body
        return body
