"""Which faults of tests/faulty_server plain `st run` finds, next to what `nexsis check` finds.

    .venv/bin/python -m bench.fault_table [--max-examples 10] [--seed 7] [--only FAULT,...]
                                          [--write docs/fault-detection.md]

One run: for the faults off and then for each fault in turn, a fresh faulty server on loopback;
schemathesis' own CLI (`st run`, default checks and phases, tokens through `schemathesis.toml`
auth) on the same two specs and the same operations the faulty-server tests select; then
`nexsis check` with the same sandbox config as tests/contracts/test_faulty_server.py.

"Found" for `st run` means: a failure (operation, check) that the faults-off run did not have,
so the faulty server's own gaps (it implements a subset, refuses unknown ids) are not counted as
finds. For `nexsis check`, the rules that failed, and whether the one the test expects is among
them. Not a CI test (minutes of CPU); the table in docs/ is its output.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from nexsis_openapi import spec_path
from tests.contracts.conftest import FAULTY_OPS, REPO, ServerThread, token_env
from tests.contracts.test_faulty_server import CONFIG, FAULT_RULES, RULE_CONFIG, RULE_FAULTS, RULE_OPS
from tests.faulty_server import app as faulty

PREFIX = faulty.PREFIX
BEGIN, END = "<!-- fault-table:begin -->", "<!-- fault-table:end -->"

#: The family of the faults that predate issue 11 (app.py lists them without a class).
CLASS_OF = {
    "missing_field": "response schema",
    "wrong_type": "response schema",
    "nonascii_500": "server error",
    "auth_ignored": "auth",
    "ws_capability_ignored": "auth",
    "ws_error_500": "Moodle envelope",
    "ws_no_errorcode": "Moodle envelope",
    "put_not_persisted": "2 a write that does not take effect",
    "duplicate_allocation": "6 documented semantics",
}


def _classes_of_modules() -> dict[str, str]:
    """Issue 11's class of each fault from the `# class N: ...` comments of the fault modules."""
    out: dict[str, str] = {}
    for path in Path(faulty.__file__).parent.glob("faults_*.py"):
        current = "?"
        for line in path.read_text().splitlines():
            heading = re.match(r"\s*# class (\d+): (.+)", line)
            if heading:
                current = f"{heading.group(1)} {heading.group(2)}"
            entry = re.match(r'\s*"(\w+)": "', line)
            if entry and entry.group(1) in faulty.FAULTS:
                out.setdefault(entry.group(1), current)
    return out


def _class(fault: str) -> str:
    return CLASS_OF.get(fault) or _classes_of_modules().get(fault, "?")


def _ops(api: str, ops: str = FAULTY_OPS) -> list[str]:
    ws = {o for o in ops.split(",") if o.startswith(("tool_", "core_"))}
    return [o for o in ops.split(",") if (o in ws) == (api == "moodle-ws")]


def _selection(fault: str | None) -> tuple[str, str]:
    """The operations and contracts.yaml a fault is measured with: the faults of the rules' reads
    (test_faulty_server.RULE_FAULTS) need RULE_OPS and RULE_CONFIG, as their test runs them."""
    return (RULE_OPS, RULE_CONFIG) if fault in RULE_FAULTS else (FAULTY_OPS, CONFIG)


def st_run(
    url: str, api: str, work: Path, max_examples: int, seed: int, ops: str = FAULTY_OPS
) -> set[tuple[str, str]]:
    """Plain `st run` on one spec: the (operation, check) pairs that failed."""
    config = work / "schemathesis.toml"
    config.write_text(
        f'[auth.openapi.bearerAuth]\nbearer = "{faulty.NEXSIS_TOKEN}"\n\n'
        f'[auth.openapi.wstoken]\napi_key = "{faulty.WS_TOKEN}"\n'
    )
    junit = work / f"{api}.xml"
    base = url + PREFIX if api == "nexsis" else url
    cmd = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        str(spec_path(api)),
    ]
    cmd += ["--url", base, "--max-examples", str(max_examples), "--seed", str(seed), "--workers", "1"]
    cmd += ["--report", "junit", "--report-junit-path", str(junit)]
    for op in _ops(api, ops):
        cmd += ["--include-operation-id", op]
    subprocess.run(
        cmd, capture_output=True, text=True, cwd=work, timeout=1200, env={**token_env(), "NO_COLOR": "1"}
    )
    return _junit_failures(junit)


def _junit_failures(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return {("(run)", "no report")}
    found = set()
    for case in ET.parse(path).getroot().iter("testcase"):
        for node in [*case.findall("failure"), *case.findall("error")]:
            text = (node.get("message") or "") + "\n" + (node.text or "")
            titles = re.findall(r"^- (ST\d+ [^\n]+)$", text, re.M) or [node.get("message") or node.tag]
            found |= {(case.get("name", "?"), t.strip()) for t in titles}
    return found


def nexsis_check(
    url: str, work: Path, max_examples: int, seed: int, ops: str = FAULTY_OPS, config_text: str = CONFIG
) -> tuple[int, set[tuple[str, str]]]:
    """`nexsis check` as the faulty-server tests run it: exit code and (operation, rule) pairs."""
    config = work / "contracts.yaml"
    config.write_text(config_text)
    report = work / "report"
    exe = REPO / ".venv" / "bin" / "nexsis"
    args = ["check", "--base-url", url, "-o", ops, "--max-examples", str(max_examples)]
    args += ["--seed", str(seed), "--config", str(config), "--report-dir", str(report)]
    proc = subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=token_env(), cwd=REPO, timeout=1200
    )
    text = (report / "report.md").read_text() if (report / "report.md").exists() else ""
    return proc.returncode, set(re.findall(r"^### \S+ (\S+): `(\w+)`", text, re.M))


def measure(fault: str | None, max_examples: int, seed: int, ops: str | None = None) -> dict[str, object]:
    """One fault (None: all off) on a fresh server; `ops` overrides the fault's own selection."""
    own_ops, config_text = _selection(fault)
    ops = ops or own_ops
    if ops == RULE_OPS:
        config_text = RULE_CONFIG
    state = faulty.State()
    with ServerThread(faulty.create_app(state)) as server, tempfile.TemporaryDirectory() as tmp:
        state.faults = {fault} if fault else set()
        work = Path(tmp)
        started = time.monotonic()
        st_found = st_run(server.url, "nexsis", work, max_examples, seed, ops)
        st_found |= st_run(server.url, "moodle-ws", work, max_examples, seed, ops)
        st_seconds = time.monotonic() - started
        state.faults = {fault} if fault else set()
        code, rules = nexsis_check(server.url, work, 6, seed, ops, config_text)
    return {"st": st_found, "st_seconds": st_seconds, "code": code, "rules": rules}


def _st_cell(found: set[tuple[str, str]], baseline: set[tuple[str, str]]) -> str:
    new = sorted(found - baseline)
    if not new:
        return "not found"
    shown = "; ".join(f"{op}: {title}" for op, title in new[:2])
    return f"found ({len(new)}): {shown}" + (" ..." if len(new) > 2 else "")


def _check_cell(fault: str, code: int, rules: set[tuple[str, str]]) -> str:
    operation, rule = {**FAULT_RULES, **RULE_FAULTS}.get(fault, ("", ""))
    hit = any(r == rule and (not operation or op == operation) for op, r in rules)
    names = sorted({r for _op, r in rules})
    if code == 1 and hit:
        where = f" on {operation}" if operation else ""
        return f"found: `{rule}`{where}" + (f" (+{len(names) - 1} more rules)" if len(names) > 1 else "")
    return f"exit {code}: " + (", ".join(f"`{n}`" for n in names) or "nothing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=10, help="st run examples per operation")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated faults (default: all)")
    parser.add_argument("--write", type=Path, help="replace the table between the markers in this file")
    args = parser.parse_args(argv)
    faults = [f for f in sorted(faulty.FAULTS) if not args.only or f in args.only.split(",")]
    baseline = measure(None, args.max_examples, args.seed)
    # The faults of the rules' reads are compared with a faults-off run over their own selection.
    rule_baseline = (
        measure(None, args.max_examples, args.seed, RULE_OPS) if set(faults) & set(RULE_FAULTS) else baseline
    )
    print(
        f"faults off: st run {len(baseline['st'])} failures (the server's own gaps), "
        f"nexsis check exit {baseline['code']}"
    )
    rows = ["| fault | fault class | plain st run | nexsis check |", "|---|---|---|---|"]
    for fault in faults:
        got = measure(fault, args.max_examples, args.seed)
        base = rule_baseline if fault in RULE_FAULTS else baseline
        st_cell = _st_cell(got["st"], base["st"])  # type: ignore[arg-type]
        row = f"| `{fault}` | {_class(fault)} | {st_cell} | {_check_cell(fault, got['code'], got['rules'])} |"  # type: ignore[arg-type]
        print(row, flush=True)
        rows.append(row)
    summary = _summary(rows, baseline, args)
    print(summary)
    if args.write:
        text = args.write.read_text()
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        if args.only:  # merge: rows of faults measured before stay, this run's replace theirs
            old_rows = {r.split("`")[1]: r for r in text[start:end].splitlines() if r.startswith("| `")}
            old_rows.update({r.split("`")[1]: r for r in rows[2:]})
            rows = rows[:2] + [old_rows[f] for f in sorted(old_rows)]
            summary = _summary(rows, baseline, args) + " (rows measured in runs of the same settings)"
        table = "\n".join([*rows, "", summary])
        args.write.write_text(text[:start] + "\n" + table + "\n" + text[end:])
    return 0


def _summary(rows: list[str], baseline: dict[str, object], args: argparse.Namespace) -> str:
    cells = [r.split(" | ") for r in rows[2:]]  # fault, class, st run, nexsis check
    found_st = sum(c[2].startswith("found") for c in cells)
    found_nx = sum(c[3].startswith("found: `") for c in cells)
    return (
        f"{len(rows) - 2} faults; plain `st run` finds {found_st}, `nexsis check` finds {found_nx} by the "
        f"intended rule. Faults off: `st run` reports {len(baseline['st'])} failures of its own "  # type: ignore[arg-type]
        f"(subtracted above), `nexsis check` exits {baseline['code']}. st run: --max-examples "
        f"{args.max_examples} --seed {args.seed}, default checks and phases; nexsis check: --max-examples 6."
    )


if __name__ == "__main__":
    raise SystemExit(main())
