"""The report as one self-contained HTML page: inline CSS and SVG charts, no script, no fetch.

Sections, each a `<section id=...>`: summary, changes, trends, anomalies, alerts, peers. Every
text that came from a monitored page or a user (titles, diffs, names, URLs) is escaped.
"""

from __future__ import annotations

from html import escape
from string import Template
from typing import Any

from consultantos.analysis.charts import bar_chart, column_chart, line_chart

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #111; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; margin-top: 2.5rem; }
.meta { color: #555; } .figures { display: flex; flex-wrap: wrap; gap: 1rem; padding: 0; }
.figures li { list-style: none; background: #f3f4f6; padding: 0.5rem 0.9rem; border-radius: 6px; }
.figures b { display: block; font-size: 1.3rem; }
table { border-collapse: collapse; width: 100%; margin: 0.8rem 0; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #e5e7eb; }
td.num, th.num { text-align: right; } tr.subject { font-weight: 600; background: #eff6ff; }
pre.diff { background: #f9fafb; padding: 0.6rem; overflow-x: auto; font-size: 13px; }
.add { color: #166534; } .del { color: #991b1b; } .empty { fill: #888; font-style: italic; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 0.8rem 0; }
.chart-title { font-weight: 600; font-size: 13px; } .axis, .legend { font-size: 11px; }
</style>
</head>
<body>
<header>
<h1>$title</h1>
<p class="meta">$meta</p>
</header>
$sections
</body>
</html>
""")


def _num(value: Any, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}{suffix}"
    return f"{value:,}{suffix}"


def _table(headers: list[str], rows: list[list[Any]], *, classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if classes and classes[index] else ""
        cells = "".join(
            f'<td class="num">{_num(c)}</td>' if isinstance(c, int | float) else f"<td>{c}</td>"
            for c in row
        )
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _diff(text: str | None) -> str:
    if not text:
        return ""
    lines = []
    for line in text.splitlines():
        css = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        lines.append(f'<span class="{css}">{escape(line)}</span>' if css else escape(line))
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def _summary(data: dict[str, Any]) -> str:
    s = data["summary"]
    figures = [
        ("Monitors", _num(s["monitors"])),
        ("Checks", _num(s["checks"])),
        ("Uptime", _num(s["uptime_pct"], " %")),
        ("Changes", _num(s["changes"])),
        ("Alerts", _num(s["alerts"])),
        ("Anomalies", _num(s["anomalies"])),
        ("Median response", _num(s["response_time_p50_ms"], " ms")),
    ]
    items = "".join(f"<li><b>{value}</b>{escape(name)}</li>" for name, value in figures)
    daily = data["daily"]
    ok = [c - f for c, f in zip(daily["checks"], daily["failures"], strict=True)]
    chart = column_chart(
        title="Checks per day",
        labels=data["days"],
        stacks=[("successful", ok), ("failed", daily["failures"])],
    )
    changes = line_chart(
        title="Changes and alerts per day",
        labels=data["days"],
        series=[("changes", daily["changes"]), ("alerts", daily["alerts"])],
    )
    return (
        f'<section id="summary"><h2>Summary</h2><ul class="figures">{items}</ul>'
        f"{chart}{changes}</section>"
    )


def _changes(data: dict[str, Any]) -> str:
    parts = ['<section id="changes"><h2>What changed</h2>']
    for monitor in data["monitors"]:
        parts.append(
            f'<h3>{escape(monitor["name"])}</h3><p class="meta">{escape(monitor["url"])} · '
            f"{_num(monitor['changes'])} content changes in {_num(monitor['checks'])} checks"
            "</p>"
        )
        if not monitor["change_log"]:
            parts.append("<p>No changes in this period.</p>")
        for change in monitor["change_log"]:
            parts.append(
                f'<div class="change"><p><time>{escape(change["at"][:16])}</time> '
                f"{escape(change['title'])}</p>{_diff(change.get('diff'))}</div>"
            )
    return "".join(parts) + "</section>"


def _trends(data: dict[str, Any]) -> str:
    parts = ['<section id="trends"><h2>Metric trends</h2>']
    for monitor in data["monitors"]:
        parts.append(f"<h3>{escape(monitor['name'])}</h3>")
        times = monitor["response_time"]
        parts.append(
            line_chart(
                title=f"{monitor['name']}: response time (ms)",
                labels=data["days"],
                series=[("p50", times["p50"]), ("p95", times["p95"])],
            )
        )
        for metric in monitor["metrics"]:
            parts.append(
                line_chart(
                    title=f"{monitor['name']}: {metric['name']} (daily mean, min-max band)",
                    labels=data["days"],
                    series=[("mean", metric["mean"])],
                    band=(metric["min"], metric["max"]),
                )
            )
    return "".join(parts) + "</section>"


def _anomalies(data: dict[str, Any]) -> str:
    rows = [
        [
            escape(a["at"][:16]),
            escape(a["monitor"] or a["monitor_id"]),
            escape(str(a["metric"])),
            a["value"],
            f"{_num(a['expected_low'])} to {_num(a['expected_high'])}",
            a["score"],
        ]
        for a in data["anomalies"]
    ]
    body = (
        _table(["When", "Monitor", "Metric", "Value", "Expected range", "Score"], rows)
        if rows
        else "<p>No anomalies in this period.</p>"
    )
    return f'<section id="anomalies"><h2>Anomalies</h2>{body}</section>'


def _alerts(data: dict[str, Any]) -> str:
    counts = data["summary"]["alert_counts"]
    chart = bar_chart(title="Alerts by kind", items=list(counts.items()))
    kinds = sorted(counts)
    rows = [
        [escape(m["name"]), *(m["alert_counts"].get(kind, 0) for kind in kinds), m["alerts"]]
        for m in data["monitors"]
    ]
    table = _table(["Monitor", *kinds, "All"], rows)
    return f'<section id="alerts"><h2>Alert counts</h2>{chart}{table}</section>'


def _peers(data: dict[str, Any]) -> str:
    industry = data["industry"]
    if industry is None:
        note = "<p>The company has no industry set on its monitors: no peers to compare.</p>"
        return f'<section id="peers"><h2>Industry comparison</h2>{note}</section>'
    peers = data["peers"]
    rows = [
        [
            escape(p["company"]),
            p["monitors"],
            p["checks"],
            "n/a" if p["uptime_pct"] is None else f"{p['uptime_pct']:.2f} %",
            p["changes"],
            p["alerts"],
            p["alert_counts"].get("anomaly", 0),
            "n/a" if p["response_time_p50_ms"] is None else f"{p['response_time_p50_ms']:,.1f} ms",
        ]
        for p in peers
    ]
    table = _table(
        ["Company", "Monitors", "Checks", "Uptime", "Changes", "Alerts", "Anomalies", "Median"],
        rows,
        classes=["subject" if p["subject"] else "" for p in peers],
    )
    subject = data["company"]
    charts = [
        bar_chart(
            title=f"Changes per company ({industry})",
            items=[(p["company"], p["changes"]) for p in peers],
            highlight=subject,
        ),
        bar_chart(
            title="Alerts per company",
            items=[(p["company"], p["alerts"]) for p in peers],
            highlight=subject,
        ),
    ]
    lonely = "" if len(peers) > 1 else "<p>No other company of this industry is monitored.</p>"
    return (
        f'<section id="peers"><h2>Industry comparison: {escape(industry)}</h2>{lonely}'
        f"{table}{''.join(charts)}</section>"
    )


def render_html(data: dict[str, Any], *, generated_at: str) -> str:
    """The report page of `data` (as built by consultantos.analysis.data)."""
    period = data["period"]
    meta = (
        f"{escape(period['start'])} to {escape(period['end'])} (UTC) · industry: "
        f"{escape(data['industry'] or 'not set')} · generated {escape(generated_at[:19])} UTC"
    )
    sections = [_summary(data), _changes(data), _trends(data), _anomalies(data)]
    sections += [_alerts(data), _peers(data)]
    return PAGE.substitute(
        title=escape(f"Competitive analysis: {data['company']}"),
        meta=meta,
        sections="\n".join(sections),
    )
