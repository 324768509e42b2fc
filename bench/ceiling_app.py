"""The Python ASGI ceiling: a bare Starlette app that answers one constant JSON document.

It reads the request body (so PUT/POST requests cost what they cost any ASGI app) and answers
every path and method alike. Served by the same uvicorn on the same core as the mock, its
throughput is the most any Python ASGI server can reach on this machine; every other figure is
reported as a ratio to it.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The shape of a NexSIS user, so the ceiling serialises a body as large as GET /user/{id} does.
BODY = (b'{"userid":"U000001","username":"user000001","firstname":"Ada","lastname":"Lovelace",'
        b'"email":"user000001@example.edu"}')
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


async def constant(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", constant, methods=METHODS)])
