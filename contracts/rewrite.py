"""Point generated cases at ids the run may use, before they are sent.

In `safe` mode a generated write is rewritten to name only ids the run owns or the config's sandbox
(the guard refuses anything else anyway; rewriting just makes the case useful instead of refused).
A third of the cases (in every mode) is *bound* to the run's fixture graph (`graph.FixtureGraph`):
all path ids and id fields come from the operation's anchor, so the ids are coherent (a group in its
course, an allocation that exists) and a correct deployment can answer with success. Destructive
operations are bound to a victim created right before the case, never to the shared graph, and are
otherwise left with ids that name nothing of the graph. In `full` mode the rest is split between
random picks among known ids and the generated ids as they are (unknown ids are part of the contract
too). The choice is a pure function of the case, so `--seed` reproduces it.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from typing import TYPE_CHECKING, Any

from nexsis_contracts.catalog import NEXSIS_CREATABLE, NEXSIS_ID_KINDS, WS_ID_KINDS, OperationInfo
from nexsis_contracts.config import Settings
from nexsis_contracts.safety import Ledger, iter_ws_ids

if TYPE_CHECKING:
    from nexsis_contracts.graph import FixtureGraph

#: Framing headers are the HTTP layer's, not the API's: a generated `Content-Length: ` makes the web
#: server (not the application) refuse the request with its own error page, which says nothing about
#: the contract and would be reported as a false content-type violation.
FRAMING_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "expect",
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
    }
)


class Skip(Exception):
    """The case cannot be made safe (no usable id); it is counted as skipped, never sent."""


class Rewriter:
    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self.settings = settings
        self.ledger = ledger
        self.nexsis_pool: dict[str, list[str]] = {}  # kind -> ids created by setup (owned)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.graph: FixtureGraph | None = None  # set by the run once it can send requests

    def fresh(self, kind: str) -> str:
        with self._lock:
            return f"{self.ledger.prefix}{kind[0].upper()}{next(self._counter)}"

    def add_pool(self, kind: str, value: str) -> None:
        with self._lock:
            pool = self.nexsis_pool.setdefault(kind, [])
            if value not in pool:
                pool.append(value)

    def _pool(self, api: str, kind: str) -> list[Any]:
        if api == "nexsis":
            return [*self.nexsis_pool.get(kind, []), *self.settings.sandbox_ids("nexsis", kind)]
        return [*self.ledger.ws_ids(kind), *self.settings.sandbox_ids("moodle-ws", kind)]

    @staticmethod
    def _pick(options: list[Any], salt: str) -> Any:
        return options[zlib.crc32(salt.encode()) % len(options)]

    def apply(self, case: Any, info: OperationInfo) -> None:
        from schemathesis.core.parameters import ParameterLocation

        if case.headers:
            for name in [h for h in case.headers if str(h).lower() in FRAMING_HEADERS]:
                del case.headers[name]
        safe = self.settings.mode == "safe" and info.is_write
        if self.settings.mode == "read-only" and info.is_write:
            raise Skip("read-only mode")
        salt = repr(
            (
                info.operation_id,
                case.path_parameters,
                case.query,
                case.body
                if not hasattr(case.body, "__class__") or case.body.__class__.__name__ != "NotSet"
                else None,
            )
        )
        share = zlib.crc32(salt.encode()) % 3
        negative_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
        if share == 0 and self.graph is not None and not negative_path:
            anchor = self.graph.anchor(info)
            if anchor is not None:
                self._bind(case, info, anchor)
                return
        destructive = self.graph is not None and info.operation_id in self.graph.DESTRUCTIVE
        if not safe and (share == 1 or destructive):
            return  # keep the generated ids: unknown ids are part of the contract too
        if info.api == "nexsis":
            self._nexsis(case, info, safe, salt, destructive)
        else:
            shared = self.graph.shared_ws() if destructive and self.graph is not None else {}
            self._ws(case, info, safe, salt, exclude=shared)

    def _bind(self, case: Any, info: OperationInfo, anchor: Any) -> None:
        """Point the case's ids at the anchor's coherent, existing records (body values stay generated)."""
        from schemathesis.core.parameters import ParameterLocation

        if info.api == "nexsis":
            case.path_parameters = {**(case.path_parameters or {}), **anchor.path_parameters}
            negative_body = case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
            if isinstance(case.body, dict) and isinstance(anchor.body, dict) and not negative_body:
                body = dict(case.body)
                for key in NEXSIS_ID_KINDS:
                    if key in body and key in anchor.body:
                        body[key] = anchor.body[key]
                    elif key in body and self.settings.mode == "safe":
                        body.pop(key)
                case.body = body
            return
        pools: dict[str, list[Any]] = {}
        for kind, value in iter_ws_ids(anchor.body or {}):
            pools.setdefault(kind, []).append(value)
        salt = repr((info.operation_id, case.body))
        self._ws(case, info, self.settings.mode == "safe" and info.is_write, salt, pools)

    def _nexsis(
        self, case: Any, info: OperationInfo, safe: bool, salt: str, destructive: bool = False
    ) -> None:
        from schemathesis.core.parameters import ParameterLocation

        negative_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
        if negative_path:
            if safe:
                raise Skip("negative path values cannot be confined to owned ids")
            return  # rewriting would change what the case is negative about
        params = dict(case.path_parameters or {})
        last = info.path_params[-1] if info.path_params else None
        for name in info.path_params:
            kind = NEXSIS_ID_KINDS.get(name)
            if kind is None:
                continue
            creating = info.method == "PUT" and name == last and kind in NEXSIS_CREATABLE
            deleting = info.method == "DELETE" and name == last and kind in NEXSIS_CREATABLE
            if safe and (deleting or destructive or (creating and zlib.crc32((salt + name).encode()) % 2)):
                # A new record of ours, or a 404 on one that never was: a delete outside the
                # graph's victims must not remove what other operations' anchors rely on.
                params[name] = self.fresh(kind)
                continue
            pool = self._pool("nexsis", kind)
            if pool:
                params[name] = self._pick(pool, salt + name)
            elif safe:
                if kind in NEXSIS_CREATABLE:
                    params[name] = self.fresh(kind)
                else:
                    raise Skip(f"no sandbox {kind} configured for {info.operation_id}")
        case.path_parameters = params
        if (
            safe
            and isinstance(case.body, dict)
            and not (case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY))
        ):
            body = dict(case.body)
            for key, value in list(body.items()):
                kind = NEXSIS_ID_KINDS.get(key)
                if kind and value is not None:
                    pool = self._pool("nexsis", kind)
                    if not pool:
                        body.pop(key)
                    else:
                        body[key] = self._pick(pool, salt + key)
            case.body = body

    def _ws(
        self,
        case: Any,
        info: OperationInfo,
        safe: bool,
        salt: str,
        pools: dict[str, list[Any]] | None = None,
        exclude: dict[str, set[int]] | None = None,
    ) -> None:
        if not isinstance(case.body, dict):
            return
        pools = pools or {}
        exclude = exclude or {}
        missing: list[str] = []

        def walk(value: Any, key: str | None, path: str) -> Any:
            if isinstance(value, dict):
                return {k: walk(v, k, f"{path}.{k}") for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v, key, f"{path}[{i}]") for i, v in enumerate(value)]
            kind = WS_ID_KINDS.get(key or "")
            if kind is None or key in ("wsfunction",):
                return value
            pool = pools.get(kind) or [
                v for v in self._pool("moodle-ws", kind) if v not in exclude.get(kind, set())
            ]
            if not pool:
                if safe:
                    missing.append(kind)
                return value
            return self._pick(pool, salt + path)

        body = walk(case.body, None, "")
        if safe and missing:
            raise Skip(f"no owned or sandbox {', '.join(sorted(set(missing)))} id for {info.operation_id}")
        case.body = body
