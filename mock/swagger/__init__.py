"""The Swagger UI pages of the three APIs: spec documents that name this mock, a Moodle-aware Try it out.

Connexion's ``SwaggerUIMiddleware`` serves the Swagger UI bundle (its static files) and the admin
API's own page; in front of it this app serves, for each API base (NexSIS ``/enrol/nexsis/api/
index.php``, Moodle ``""``, admin ``/__admin``):

- ``<base>/openapi.json`` / ``.yaml``: the spec with one absolute ``servers`` URL, the mock's own
  (``--public-url``, else the host and port the page was loaded from: ``self_url.base_url``), so
  "Try it out" reaches this mock behind a proxy or a port mapping too;
- ``<base>/ui/`` (and ``index.html``): Connexion's page plus ``try-it-out.js``, a request
  interceptor that sends a web-service call as Moodle expects it (fragment off, PHP bracket
  notation, empty optional fields left out);
- a missing file under ``<base>/ui/`` is a 404 (Connexion's static files raised it as a 500).
"""

from __future__ import annotations

import copy
import html
import json
import typing as t
from pathlib import Path

import yaml
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from nexsis_openapi import load_spec

from ..self_url import base_url

__all__ = ["SwaggerPages"]

_HERE = Path(__file__).parent
_SCRIPT = (_HERE / "try-it-out.js").read_bytes()
_PAGE = (_HERE / "index.html").read_text(encoding="utf-8")


def array_fields(spec: dict[str, t.Any]) -> dict[str, list[str]]:
    """Per web-service function, its form fields that are arrays (Swagger UI repeats their key)."""
    schemas = spec.get("components", {}).get("schemas", {})
    out: dict[str, list[str]] = {}
    for path, item in spec.get("paths", {}).items():
        function = path.partition("#")[2]
        form = (item.get("post", {}).get("requestBody", {}).get("content", {})
                .get("application/x-www-form-urlencoded", {}).get("schema"))
        if not function or not form:
            continue
        fields = []
        for name, prop in form.get("properties", {}).items():
            ref = prop.get("$ref", "")
            resolved = schemas.get(ref.rpartition("/")[2], {}) if ref else prop
            if resolved.get("type") == "array":
                fields.append(name)
        out[function] = fields
    return out


class SwaggerPages:
    """ASGI app: the spec documents and UI pages of the APIs, everything else to ``app``."""

    def __init__(self, app: ASGIApp, bases: dict[str, str | dict[str, t.Any]], *,
                 public_url: str | None = None, swagger_ui: bool = True) -> None:
        """``bases`` maps a base path to its spec: a ``load_spec`` name or the parsed document."""
        self.app = app
        self.public_url = public_url
        self.swagger_ui = swagger_ui
        self._specs = {base: copy.deepcopy(load_spec(spec) if isinstance(spec, str) else spec)
                       for base, spec in bases.items()}
        self._arrays = {base: json.dumps(array_fields(spec)) for base, spec in self._specs.items()}
        self._titles = {base: str(spec.get("info", {}).get("title", "API"))
                        for base, spec in self._specs.items()}

    def _spec(self, scope: Scope, base: str) -> dict[str, t.Any]:
        spec = dict(self._specs[base])  # shallow: only ``servers`` differs per request
        spec["servers"] = [{"url": base_url(scope, self.public_url) + base,
                            "description": "this mock (as you reached it, or --public-url)"}]
        return spec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        for base in self._specs:
            if path == base + "/openapi.json":
                await _answer(send, 200, "application/json", json.dumps(self._spec(scope, base)).encode())
                return
            if path == base + "/openapi.yaml":
                body = yaml.safe_dump(self._spec(scope, base), sort_keys=False, allow_unicode=True).encode()
                await _answer(send, 200, "text/yaml", body)
                return
            if not self.swagger_ui or not path.startswith(base + "/ui/"):
                continue
            rest = path[len(base) + 4:]
            if rest in ("", "index.html"):
                page = (_PAGE.replace("{{ spec_url }}", base + "/openapi.json")
                        .replace("{{ title }}", html.escape(self._titles[base]))
                        .replace("{{ arrays }}", self._arrays[base]))
                await _answer(send, 200, "text/html; charset=utf-8", page.encode())
                return
            if rest == "try-it-out.js":
                await _answer(send, 200, "application/javascript", _SCRIPT)
                return
        try:
            await self.app(scope, receive, send)
        except HTTPException as exc:  # Connexion's static files: a missing file is a 404, not a 500
            await _answer(send, exc.status_code, "application/json",
                          json.dumps({"error": "not_found" if exc.status_code == 404 else "error",
                                      "message": str(exc.detail)}).encode())


async def _answer(send: Send, status: int, content_type: str, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
