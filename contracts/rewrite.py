"""Point generated cases at ids the run may use, before they are sent.

In `safe` mode a generated write is rewritten to name only ids the run owns or the config's sandbox
(the guard refuses anything else anyway; rewriting just makes the case useful instead of refused).
In `full` mode half of the cases are pointed at known ids, so operations reach their success paths
instead of answering 404 to random ids. The choice is a pure function of the case, so `--seed`
reproduces it.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from typing import Any

from nexsis_contracts.catalog import NEXSIS_CREATABLE, NEXSIS_ID_KINDS, WS_ID_KINDS, OperationInfo
from nexsis_contracts.config import Settings
from nexsis_contracts.safety import Ledger


class Skip(Exception):
    """The case cannot be made safe (no usable id); it is counted as skipped, never sent."""


class Rewriter:
    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self.settings = settings
        self.ledger = ledger
        self.nexsis_pool: dict[str, list[str]] = {}  # kind -> ids created by setup (owned)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def fresh(self, kind: str) -> str:
        with self._lock:
            return f"{self.ledger.prefix}{kind[0].upper()}{next(self._counter)}"

    def add_pool(self, kind: str, value: str) -> None:
        self.nexsis_pool.setdefault(kind, []).append(value)

    def _pool(self, api: str, kind: str) -> list[Any]:
        if api == "nexsis":
            return [*self.nexsis_pool.get(kind, []), *self.settings.sandbox_ids("nexsis", kind)]
        return [*self.ledger.ws_ids(kind), *self.settings.sandbox_ids("moodle-ws", kind)]

    @staticmethod
    def _pick(options: list[Any], salt: str) -> Any:
        return options[zlib.crc32(salt.encode()) % len(options)]

    def apply(self, case: Any, info: OperationInfo) -> None:
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
        if not safe and zlib.crc32(salt.encode()) % 2:
            return  # keep the generated ids: unknown ids are part of the contract too
        if info.api == "nexsis":
            self._nexsis(case, info, safe, salt)
        else:
            self._ws(case, info, safe, salt)

    def _nexsis(self, case: Any, info: OperationInfo, safe: bool, salt: str) -> None:
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
            if safe and (creating or deleting) and zlib.crc32((salt + name).encode()) % 2:
                params[name] = self.fresh(kind)  # a new record of ours, or a 404 on one that never was
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

    def _ws(self, case: Any, info: OperationInfo, safe: bool, salt: str) -> None:
        if not isinstance(case.body, dict):
            return
        missing: list[str] = []

        def walk(value: Any, key: str | None, path: str) -> Any:
            if isinstance(value, dict):
                return {k: walk(v, k, f"{path}.{k}") for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v, key, f"{path}[{i}]") for i, v in enumerate(value)]
            kind = WS_ID_KINDS.get(key or "")
            if kind is None or key in ("wsfunction",):
                return value
            pool = self._pool("moodle-ws", kind)
            if not pool:
                if safe:
                    missing.append(kind)
                return value
            return self._pick(pool, salt + path)

        body = walk(case.body, None, "")
        if safe and missing:
            raise Skip(f"no owned or sandbox {', '.join(sorted(set(missing)))} id for {info.operation_id}")
        case.body = body
