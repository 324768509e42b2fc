"""A self-contained HTML report, rendered from the Markdown structure's data (no external assets)."""

from __future__ import annotations

from html import escape

from nexsis_contracts.reporting.model import coverage
from nexsis_contracts.results import VERDICT_LABELS, RunResult

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}pre{background:#f6f6f6;padding:8px;"
    "overflow:auto;white-space:pre-wrap}.fail{color:#b00;font-weight:bold}.pass{color:#070}"
    ".skip,.error,.unverified{color:#a60;font-weight:bold}"
)


def render(run: RunResult) -> str:
    s = run.settings_summary
    e = escape
    title = e(str(s.get("title", "nexsis check")))
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_STYLE}</style>"
        f"</head><body><h1>{title} report</h1>",
        f"<p>Target <code>{e(s['base_url'])}</code>, mode <code>{e(s['mode'])}</code>, seed <code>{s['seed']}"
        f"</code>, {run.requests} requests in {run.duration:.1f}s. Verdict: "
        f"<b class='{'pass' if run.verdict == 'conformant' else 'fail'}'>"
        f"{e(VERDICT_LABELS[run.verdict])}</b>"
        + (f" <b class='unverified'>({n} unverified)</b>" if (n := len(run.without_success)) else "")
        + (" (interrupted)" if run.interrupted else "")
        + (" (cut short by the time budget)" if run.budget_exhausted else "")
        + "</p>",
        "<h2>Operations</h2><table><tr><th>API</th><th>operation</th><th>verdict</th><th>cases</th>"
        "<th>rules broken</th><th>skipped</th></tr>",
    ]
    for r in run.results:
        out.append(
            f"<tr><td>{e(r.api)}</td><td>{e(r.name)}</td><td class='{r.verdict}'>{r.verdict}</td>"
            f"<td>{r.cases}</td><td>{e(', '.join(sorted({f.check for f in r.failures})))}</td>"
            f"<td>{sum(r.skipped.values())}</td></tr>"
        )
    out.append(
        "</table><h2>Coverage</h2><table><tr><th>API</th><th>operation</th><th>statuses</th>"
        "<th>outcomes</th><th>success</th></tr>"
    )
    for row in coverage(run):
        cls = "pass" if row.success.startswith(("yes", "-")) else "fail"
        out.append(
            f"<tr><td>{e(row.api)}</td><td>{e(row.name)}</td><td>{e(row.statuses)}</td>"
            f"<td>{e(row.outcomes)}</td><td class='{cls}'>{e(row.success)}</td></tr>"
        )
    out.append("</table><h2>Failures</h2>")
    for r in run.results:
        for f in r.failures:
            req = f.request
            out.append(
                f"<h3>{e(r.api)} {e(r.name)}: <code>{e(f.check)}</code></h3>"
                f"<p><b>{e(f.title)}</b> (seen {f.count}x)</p>"
                f"<pre>{e(f.message)}</pre><p>Request</p>"
                f"<pre>{e(str(req.get('method')))} {e(str(req.get('url')))}\n"
                + "".join(f"{e(k)}: {e(str(v))}\n" for k, v in req.get("headers", {}).items())
                + f"\n{e(req.get('body', ''))}</pre><p>Response</p><pre>HTTP {f.response.get('status')}\n"
                f"{e(f.response.get('body', ''))}</pre><p>Reproduce</p><pre>{e(f.curl)}</pre>"
            )
    if not run.failed:
        out.append("<p>None.</p>")
    out.append(
        "<h2>Cleanup</h2><ul>"
        + "".join(f"<li>removed {e(d)}</li>" for d in run.cleanup_done)
        + "".join(f"<li class='fail'>left behind: {e(d)}</li>" for d in run.cleanup_failed)
        + "</ul>"
    )
    if run.refusals:
        out.append(
            "<h2>Refused by the safety guard</h2><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in run.refusals[:200])
            + "</ul>"
        )
    out.append("</body></html>")
    return "\n".join(out)
