"""What the suite knows about each operation without schemathesis: route, read/write, which ids it names.

The guard matches every outgoing request against this catalog on its own (it never trusts the caller's
idea of which operation it is sending), so it is built from the specs alone.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from nexsis_openapi import load_spec
from nexsis_openapi.moodle import WS_PATH

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

#: NexSIS path/body parameter -> entity kind. Parameters absent here (grade, timecompleted) are values.
NEXSIS_ID_KINDS: dict[str, str] = {
    "courseid": "course",
    "userid": "user",
    "groupid": "group",
    "catid": "category",
    "parentid": "course",
    "childid": "course",
    "programid": "program",
    "certificationid": "certification",
    "departmentid": "department",
    "positionid": "position",
    "managerid": "user",
}
#: Kinds the suite can create itself through NexSIS (PUT with a run-prefixed id).
NEXSIS_CREATABLE = ("course", "user", "group")

#: Moodle WS parameter (at any depth) -> entity kind.
WS_ID_KINDS: dict[str, str] = {
    "courseid": "course",
    "groupid": "group",
    "groupids": "group",
    "userid": "user",
    "userids": "user",
    "programid": "program",
    "cohortid": "cohort",
    "cohortids": "cohort",
}


@dataclass(frozen=True)
class OperationInfo:
    api: str  # "nexsis" | "moodle-ws"
    operation_id: str
    method: str  # upper case
    path: str  # template as in the spec, with the fragment for WS
    tags: tuple[str, ...]
    is_write: bool
    path_params: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    capabilities: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def matches(self, patterns: tuple[str, ...]) -> bool:
        """Whether a `--operation` filter selects this operation (operationId, tag, spec, label)."""
        if not patterns:
            return True
        names = (self.operation_id, self.api, self.label, *self.tags)
        return any(fnmatch.fnmatchcase(name, pat) for pat in patterns for name in names)


def _is_ws_write(function: str) -> bool:
    # Moodle's own naming: read functions are `*_get_*`; everything else changes state.
    return "_get_" not in function


def _server_path(spec: dict[str, Any]) -> str:
    servers = spec.get("servers") or [{"url": "/"}]
    return servers[0].get("url", "/").rstrip("/")


def build_catalog(api: str) -> list[OperationInfo]:
    spec = load_spec(api)
    prefix = _server_path(spec)
    out: list[OperationInfo] = []
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            op_id = op.get("operationId") or f"{method} {path}"
            params = tuple(re.findall(r"{([^}]+)}", path))
            regex = None
            if api == "nexsis":
                pattern = re.escape(prefix + path)
                for name in params:
                    pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]+)")
                regex = re.compile(f"^{pattern}/?$")
                is_write = method.upper() not in ("GET", "HEAD", "OPTIONS")
            else:
                kind = op.get("x-moodle-type")
                is_write = kind == "write" if kind in ("read", "write") else _is_ws_write(op_id)
            out.append(
                OperationInfo(
                    api=api,
                    operation_id=op_id,
                    method=method.upper(),
                    path=path,
                    tags=tuple(op.get("tags") or ()),
                    is_write=is_write,
                    path_params=params,
                    regex=regex,
                    capabilities=tuple(op.get("x-moodle-capabilities") or ()),
                    raw=op,
                )
            )
    return out


class Catalog:
    """Both specs' operations, with the lookups the guard and the rewriter need."""

    def __init__(self, apis: tuple[str, ...] = ("nexsis", "moodle-ws")) -> None:
        self.operations: list[OperationInfo] = []
        self.prefixes: dict[str, str] = {}
        for api in apis:
            self.prefixes[api] = _server_path(load_spec(api))
            self.operations.extend(build_catalog(api))
        self.by_id = {(o.api, o.operation_id): o for o in self.operations}
        self.ws_functions = {o.operation_id: o for o in self.operations if o.api == "moodle-ws"}

    def find(self, api: str, operation_id: str) -> OperationInfo | None:
        return self.by_id.get((api, operation_id))

    def match_nexsis(self, method: str, path: str) -> tuple[OperationInfo, dict[str, str]] | None:
        """The NexSIS operation a request path hits, with its decoded path parameters."""
        for op in self.operations:
            if op.api != "nexsis" or op.method != method.upper() or op.regex is None:
                continue
            m = op.regex.match(path)
            if m:
                return op, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def is_ws_path(self, path: str) -> bool:
        return path.rstrip("/").endswith(WS_PATH)
