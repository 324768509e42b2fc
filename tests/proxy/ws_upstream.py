"""A small web-service upstream for the proxy's tests: ``server.php`` answers what the test sets.

Each call is answered with the body set for its ``wsfunction`` (``Upstream.answers``), in the
content type Moodle uses for the call's format, at HTTP 200 like Moodle; so a test plants exactly
one wrong answer (a result missing a field, an exception without errorcode) and sees what the
proxy makes of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexsis_openapi import codec

WS = "/webservice/rest/server.php"
JSON = "application/json; charset=utf-8"
XML = "application/xml; charset=utf-8"


@dataclass
class Upstream:
    answers: dict[str, bytes] = field(default_factory=dict)  # wsfunction -> body
    status: int = 200

    def app(self) -> Starlette:
        async def server(request: Request) -> Response:
            params = dict(codec.decode(request.url.query)) if request.url.query else {}
            params.update(codec.decode(await request.body()))
            body = self.answers.get(str(params.get("wsfunction")), b"null")
            xml = params.get("moodlewsrestformat", "xml") != "json"
            return Response(body, self.status, media_type=XML if xml else JSON)

        return Starlette(routes=[Route(WS, server, methods=["GET", "POST"])])
