"""JUnit XML: one testcase per operation and per scenario, failures carrying the broken rule."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nexsis_contracts.reporting.model import success_cell
from nexsis_contracts.results import RunResult


def _skipped(verdict: str, required: bool) -> bool:
    """Skipped in JUnit terms: nothing sent, or (without --require-success) success never seen."""
    return verdict == "skip" or (verdict == "unverified" and not required)


def render(run: RunResult) -> str:
    title = str(run.settings_summary.get("title", "nexsis check"))
    suites = ET.Element("testsuites", name=title, time=f"{run.duration:.3f}")
    for api in sorted({r.api for r in run.results}):
        results = [r for r in run.results if r.api == api]
        required = bool(run.settings_summary.get("require_success"))
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=api,
            tests=str(len(results)),
            failures=str(sum(1 for r in results if r.failures)),
            errors=str(sum(1 for r in results if r.verdict == "error")),
            skipped=str(sum(1 for r in results if _skipped(r.verdict, required))),
        )
        for r in results:
            case = ET.SubElement(
                suite, "testcase", classname=f"{api}.{r.kind}", name=r.name, time=f"{r.duration:.3f}"
            )
            for f in r.failures:
                node = ET.SubElement(case, "failure", type=f.check, message=f"[{f.check}] {f.title}"[:500])
                node.text = (
                    f"{f.message}\n\nRequest: {f.request.get('method')} {f.request.get('url')}\n"
                    f"Response: HTTP {f.response.get('status')}\n{f.response.get('body', '')[:1500]}\n\n"
                    f"Reproduce: {f.curl}"
                )
            if r.kind == "operation" and not r.success_seen and run.settings_summary.get("require_success"):
                ET.SubElement(
                    case,
                    "failure",
                    type="success_required",
                    message="no success seen: success schema unverified",
                ).text = (
                    f"needs {r.anchor_missing}" if r.anchor_missing else "no case was answered with success"
                )
            if r.verdict == "unverified" and not run.settings_summary.get("require_success"):
                # Not a failure without --require-success, but never green either.
                ET.SubElement(case, "skipped", type="unverified", message=f"unverified: {success_cell(r)}")
            if r.verdict == "error":
                ET.SubElement(case, "error", message="; ".join(r.errors)[:500])
            elif r.verdict == "skip":
                ET.SubElement(case, "skipped", message="; ".join(r.skipped) or "no case could be sent")
    if run.cleanup_failed:
        suite = ET.SubElement(suites, "testsuite", name="cleanup", tests="1", failures="1")
        case = ET.SubElement(suite, "testcase", classname="cleanup", name="remove_created_records")
        ET.SubElement(case, "failure", message="records left behind").text = "\n".join(run.cleanup_failed)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
