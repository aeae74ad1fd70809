"""Charts as inline SVG: a report is one HTML file that opens anywhere, offline, with no script.

Each chart is an `<svg class="chart chart-KIND">` with a `<title>` (read by screen readers and
shown as a tooltip), axes labelled with the value range and the first and last day, and a small
legend. Missing values (a day without checks) break a line rather than being drawn as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 28
COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")

Values = Sequence[float | None]


def _number(value: float) -> str:
    if value == int(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def _frame(kind: str, title: str, body: list[str], y_range: tuple[float, float] | None) -> str:
    parts = [
        f'<svg class="chart chart-{kind}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
        'stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
    ]
    if y_range is not None:
        low, high = y_range
        parts.append(
            f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" class="axis">'
            f"{_number(high)}</text>"
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" text-anchor="end" class="axis">'
            f"{_number(low)}</text>"
        )
    return "\n".join([*parts, *body, "</svg>"])


def _legend(names: Sequence[str]) -> list[str]:
    """Legend entries in the title row, right-aligned, last name rightmost."""
    out = []
    right = WIDTH - RIGHT
    for index in reversed(range(len(names))):
        colour = COLOURS[index % len(COLOURS)]
        out.append(
            f'<text x="{right}" y="16" text-anchor="end" fill="{colour}" class="legend">'
            f"■ {escape(names[index])}</text>"
        )
        right -= 26 + 7 * len(names[index])
    return out


def _x_labels(labels: Sequence[str]) -> list[str]:
    if not labels:
        return []
    y = HEIGHT - BOTTOM + 16
    out = [f'<text x="{LEFT}" y="{y}" class="axis">{escape(labels[0])}</text>']
    if len(labels) > 1:
        out.append(
            f'<text x="{WIDTH - RIGHT}" y="{y}" text-anchor="end" class="axis">'
            f"{escape(labels[-1])}</text>"
        )
    return out


def _scale(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Values]],
    band: tuple[Values, Values] | None = None,
) -> str:
    """Lines over days (one point per label), with an optional shaded min-max band."""
    known = [v for _, values in series for v in values if v is not None]
    if band is not None:
        known += [v for values in band for v in values if v is not None]
    if not known or not labels:
        return _frame("line", title, ['<text x="80" y="100" class="empty">no data</text>'], None)
    low, high = _scale(known)
    span_x = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (i / span_x if len(labels) > 1 else 0.5)

    def y(v: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (v - low) / (high - low))

    body: list[str] = []
    if band is not None:
        lows, highs = band
        pairs = [(i, lo, hi) for i, (lo, hi) in enumerate(zip(lows, highs, strict=True))]
        points = [(i, lo, hi) for i, lo, hi in pairs if lo is not None and hi is not None]
        if points:
            upper = [f"{x(i):.1f},{y(hi):.1f}" for i, _, hi in points]
            lower = [f"{x(i):.1f},{y(lo):.1f}" for i, lo, _ in reversed(points)]
            body.append(
                f'<polygon class="band" points="{" ".join(upper + lower)}" '
                'fill="#93c5fd" fill-opacity="0.35" stroke="none"/>'
            )
    for index, (name, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        run: list[str] = []
        runs: list[list[str]] = []
        for i, value in enumerate(values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(f"{x(i):.1f},{y(value):.1f}")
        if run:
            runs.append(run)
        for points_run in runs:
            if len(points_run) == 1:
                cx, cy = points_run[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            else:
                body.append(
                    f'<polyline class="series" data-series="{escape(name)}" fill="none" '
                    f'stroke="{colour}" stroke-width="2" points="{" ".join(points_run)}"/>'
                )
    legend = _legend([name for name, _ in series])
    return _frame("line", title, body + legend + _x_labels(labels), (low, high))


def bar_chart(
    *, title: str, items: Sequence[tuple[str, float]], highlight: str | None = None
) -> str:
    """Horizontal bars, one per item (label, value); the highlighted label is drawn darker."""
    if not items:
        return _frame("bar", title, ['<text x="80" y="100" class="empty">no data</text>'], None)
    top = max(max(value for _, value in items), 0) or 1.0
    row = (HEIGHT - TOP - BOTTOM) / len(items)
    body = []
    for index, (label, value) in enumerate(items):
        width = (WIDTH - LEFT - RIGHT - 60) * max(value, 0) / top
        y = TOP + index * row
        colour = "#1d4ed8" if label == highlight else "#93c5fd"
        body.append(
            f'<rect class="bar" data-label="{escape(label)}" x="{LEFT}" y="{y + 2:.1f}" '
            f'width="{width:.1f}" height="{max(row - 4, 1):.1f}" fill="{colour}"/>'
        )
        body.append(
            f'<text x="{LEFT - 6}" y="{y + row / 2 + 4:.1f}" text-anchor="end" class="axis">'
            f"{escape(label[:12])}</text>"
        )
        body.append(
            f'<text x="{LEFT + width + 4:.1f}" y="{y + row / 2 + 4:.1f}" class="axis">'
            f"{_number(value)}</text>"
        )
    return _frame("bar", title, body, None)


def column_chart(
    *, title: str, labels: Sequence[str], stacks: Sequence[tuple[str, Sequence[float]]]
) -> str:
    """Stacked columns per day (e.g. successful checks and failures)."""
    totals = [sum(values[i] for _, values in stacks) for i in range(len(labels))]
    if not labels or not any(totals):
        return _frame("column", title, ['<text x="80" y="100" class="empty">no data</text>'], None)
    top = max(totals)
    slot = (WIDTH - LEFT - RIGHT) / len(labels)
    height = HEIGHT - TOP - BOTTOM
    body = []
    for i in range(len(labels)):
        base = HEIGHT - BOTTOM
        for index, (name, values) in enumerate(stacks):
            size = height * values[i] / top
            if size <= 0:
                continue
            base -= size
            body.append(
                f'<rect class="column" data-series="{escape(name)}" x="{LEFT + i * slot + 1:.1f}"'
                f' y="{base:.1f}" width="{max(slot - 2, 1):.1f}" height="{size:.1f}" '
                f'fill="{COLOURS[index % len(COLOURS)]}"/>'
            )
    legend = _legend([name for name, _ in stacks])
    return _frame("column", title, body + legend + _x_labels(labels), (0, top))
