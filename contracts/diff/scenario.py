"""The calls `nexsis diff` sends to one deployment: the suite's own success requests, then probes.

Built on `nexsis check`'s parts, not beside them: a `runner.Run` gives the guarded session (safe-mode
rules: only records the run creates, or sandbox ids from the config), the fixture graph gives each
operation its success request (anchor) with the records it needs created first, and cleanup removes
them at the end, on both sites the same way. The run id (the prefix of everything created) comes
from the seed and is the same on both sides, so the same requests go to both.

After the anchors, probes that tell behaviours apart where a success answer alone would not:
- ``read back``: a NexSIS PUT sent again with new (non-ASCII) text values, then the GET of the same
  record;
- ``repeat``: a web-service write that creates sent a second time (idempotency);
- ``batch``: a web-service write that takes a list (users to allocate, groups to create) sent with
  three items, as SIS integrations do (a site that handles only the first differs here);
- ``read after delete``: the GET of the record a NexSIS DELETE removed (still there: it differs);
- ``missing record``: a read naming a record no site has (the error answer, its envelope);
- ``no credentials``: one read per API without a token;
- ``no capability``: each web-service write with the no-capability token, when one is configured.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.config import Settings
from nexsis_contracts.diff.calls import Call, of_exchange
from nexsis_contracts.safety import RefusedRequest

#: Request text fields a probe may change (client-given names, never ids or dates).
TEXT_FIELDS = ("firstname", "lastname", "fullname", "name", "description")
#: Texts a probe writes, picked by the seed: what an SIS sends for real people.
TEXTS = ("Jürgen Ünal", "Zoë Ångström", "Łukasz Żółć", "Siân Ó Dónaill", "Ngozi Ọkọnkwọ")
MAX_BODY = 1 << 20


@dataclass
class Side:
    name: str
    base_url: str
    calls: list[Call]
    window: tuple[float, float]  # wall-clock start and end: call-time timestamps fall inside
    not_exercised: dict[str, str] = field(default_factory=dict)  # operation -> what it needs
    refused: list[str] = field(default_factory=list)
    #: The side's contracts.yaml sandbox (api -> kind -> ids): the records that stand for each other.
    sandbox: dict[str, dict[str, list[Any]]] = field(default_factory=dict)


class Scenario:
    def __init__(self, settings: Settings, seed: int) -> None:
        from nexsis_contracts.runner import Run

        self.run = Run(settings)
        self.run.recorder.limit_body = MAX_BODY
        self.settings = settings
        self.random = random.Random(seed)
        self.steps: list[tuple[int, str]] = []  # (first recorder index, step name)
        self.anchors: list[tuple[Any, OperationInfo, dict[str, Any]]] = []
        self.not_exercised: dict[str, str] = {}

    def _step(self, name: str) -> None:
        self.steps.append((len(self.run.recorder.exchanges), name))

    def _send(self, operation: Any, info: OperationInfo, kwargs: dict[str, Any], auth: dict[str, Any]) -> Any:
        try:
            return operation.Case(**kwargs).call(session=self.run.session, **auth)
        except RefusedRequest as exc:
            self.run.guard.refusals.append(exc)
        except requests.RequestException:
            pass  # recorded without an answer: the other side's answer shows the difference
        return None

    def execute(self, name: str) -> Side:
        from nexsis_contracts import schemas
        from nexsis_contracts.graph import FixtureGraph
        from nexsis_contracts.preflight import preflight

        run = self.run
        started = time.time()
        for api in self.settings.specs:
            run.schemas[api] = schemas.load_schema(api, self.settings, run.session)
        self._step("preflight")
        preflight(run)
        run.graph = FixtureGraph(run)
        run.rewriter.graph = run.graph
        try:
            for api in self.settings.specs:
                for operation, info in schemas.selected_operations(
                    run.schemas[api], api, self.settings, run.catalog
                ):
                    self._anchor(operation, info)
            self._probes()
        finally:
            self._step("cleanup")
            run.cleanup()
        ended = time.time()
        return Side(
            name,
            self.settings.base_url,
            self._calls(),
            (started, ended),
            self.not_exercised,
            [str(r) for r in run.guard.refusals],
            self.settings.sandbox,
        )

    def _calls(self) -> list[Call]:
        marks = [*self.steps, (len(self.run.recorder.exchanges), "")]
        out: list[Call] = []
        for (start, step), (end, _next) in itertools.pairwise(marks):
            out.extend(of_exchange(ex, step) for ex in self.run.recorder.exchanges[start:end])
        return out

    # -- anchors ------------------------------------------------------------------------------------
    def _anchor(self, operation: Any, info: OperationInfo) -> None:
        assert self.run.graph is not None
        self._step(f"anchor {info.operation_id}")
        anchor = self.run.graph.anchor(info)
        if anchor is None:
            self.not_exercised[info.operation_id] = self.run.graph.needs(info)
            return
        kwargs: dict[str, Any] = {"path_parameters": anchor.path_parameters, "query": anchor.query}
        if anchor.body is not None:
            kwargs.update(body=anchor.body, media_type=anchor.media_type)
        response = self._send(operation, info, kwargs, self.run.auth_kwargs(info.api))
        if response is not None:
            self.anchors.append((operation, info, kwargs))

    # -- probes ---------------------------------------------------------------------------------------
    def _probes(self) -> None:
        for operation, info, kwargs in list(self.anchors):
            if info.api == "nexsis" and info.method == "PUT" and isinstance(kwargs.get("body"), dict):
                self._read_back(operation, info, kwargs)
            elif info.api == "moodle-ws" and info.is_write and "delete" not in info.operation_id:
                self._step(f"repeat {info.operation_id}")
                self._send(operation, info, kwargs, self.run.auth_kwargs(info.api))
                self._batch(operation, info, kwargs)
            elif info.api == "nexsis" and info.method == "DELETE":
                self._read_after_delete(info, kwargs)
            if not info.is_write:
                self._missing(operation, info, kwargs)
        self._unauthenticated()
        nocap = self.settings.tokens.get("moodle-ws-nocap")
        if nocap:
            for operation, info, kwargs in self.anchors:
                if info.api == "moodle-ws" and info.is_write:
                    self._step(f"no capability {info.operation_id}")
                    self._send(operation, info, kwargs, {"params": {"wstoken": nocap}})

    def _read_back(self, operation: Any, info: OperationInfo, kwargs: dict[str, Any]) -> None:
        body = dict(kwargs["body"])
        changed = [k for k in TEXT_FIELDS if k in body]
        if not changed:
            return
        for key in changed:
            body[key] = self.random.choice(TEXTS)
        self._step(f"read back {info.operation_id}")
        self._send(operation, info, {**kwargs, "body": body}, self.run.auth_kwargs(info.api))
        found = self._getter(info.path)
        if found is not None:
            get_op, getter = found
            self._send(
                get_op, getter, {"path_parameters": kwargs["path_parameters"]}, self.run.auth_kwargs("nexsis")
            )

    def _getter(self, path: str) -> tuple[Any, OperationInfo] | None:
        ops = self.run.catalog.operations
        getter = next((o for o in ops if o.api == "nexsis" and o.method == "GET" and o.path == path), None)
        if getter is None:
            return None
        return self.run.schemas["nexsis"].find_operation_by_id(getter.operation_id), getter

    def _read_after_delete(self, info: OperationInfo, kwargs: dict[str, Any]) -> None:
        found = self._getter(info.path)
        if found is not None:
            self._step(f"read after delete {info.operation_id}")
            get_op, getter = found
            path_parameters = {"path_parameters": kwargs["path_parameters"]}
            self._send(get_op, getter, path_parameters, self.run.auth_kwargs("nexsis"))

    def _batch(self, operation: Any, info: OperationInfo, kwargs: dict[str, Any]) -> None:
        """The anchor's write with three items in its list: three new users, or three new groups.

        The allocation is read back (tool_muprog_get_program_allocations of those users): its
        answer names the users asked whether or not the site allocated them all.
        """
        assert self.run.graph is not None
        body = dict(kwargs.get("body") or {})
        if info.operation_id == "tool_muprog_source_manual_allocate_users":
            self._step(f"batch {info.operation_id}")
            users = [self.run.graph.fresh_ws_user() for _ in range(3)]
            if None in users or len(set(users)) < 3:
                return  # a site without fresh users (no NexSIS): the sandbox's may be allocated
            body["userids"] = users
        elif info.operation_id == "core_group_create_groups" and body.get("groups"):
            self._step(f"batch {info.operation_id}")
            first = body["groups"][0]
            body["groups"] = [{**first, "name": f"{first['name']} batch {i}"} for i in (1, 2, 3)]
        else:
            return
        auth = self.run.auth_kwargs(info.api)
        self._send(operation, info, {**kwargs, "body": body}, auth)
        reader = self.run.catalog.find("moodle-ws", "tool_muprog_get_program_allocations")
        if "userids" in body and reader is not None:
            read = self.run.schemas["moodle-ws"].find_operation_by_id(reader.operation_id)
            query = {"programid": body["programid"], "userids": body["userids"]}
            self._send(read, reader, {**kwargs, "body": query}, auth)

    def _missing(self, operation: Any, info: OperationInfo, kwargs: dict[str, Any]) -> None:
        prefix = self.settings.id_prefix
        if info.api == "nexsis":
            params = dict(kwargs.get("path_parameters") or {})
            if not params:
                return
            last = list(params)[-1]
            params[last] = f"{prefix}NOSUCH"
            new = {**kwargs, "path_parameters": params}
        else:
            body = dict(kwargs.get("body") or {})
            ints = [k for k, v in body.items() if isinstance(v, int) and not isinstance(v, bool)]
            if not ints:
                return
            for key in ints:
                body[key] = 0  # no Moodle record has id 0
            new = {**kwargs, "body": body}
        self._step(f"missing record {info.operation_id}")
        self._send(operation, info, new, self.run.auth_kwargs(info.api))

    def _unauthenticated(self) -> None:
        for api, operation_id in (("nexsis", "ping"), ("moodle-ws", "core_webservice_get_site_info")):
            info = self.run.catalog.find(api, operation_id)
            if api not in self.settings.specs or info is None:
                continue
            self._step(f"no credentials {operation_id}")
            operation = self.run.schemas[api].find_operation_by_id(operation_id)
            kwargs: dict[str, Any] = {}
            if api == "moodle-ws":
                kwargs = {"body": {}, "media_type": "application/x-www-form-urlencoded"}
            self._send(operation, info, kwargs, {})
