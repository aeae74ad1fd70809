"""Anomaly detection quality on generated series: precision, recall, F1 and false alerts per
1,000 normal checks, through the same training and scoring code the checks use.

    .venv/bin/python bench/anomaly_quality.py [--series 300] [--weeks 12] [--seed 7]

Each series is an hourly metric: a level, noise of standard deviation sigma (1-5% of the level;
Gaussian, or Student's t with 5 degrees of freedom in a fifth of the series), a daily
cycle and a weekend effect (each absent in a quarter of the series, otherwise up to 8 and 6
sigma), a linear trend (up to ±0.3 sigma a day), and in some series values rounded to whole
numbers (counts). Into it go about one event a week: spikes and dips (one check, 6-12 sigma
from normal) and level shifts (6-12 sigma, lasting 6-72 hours); training history has them too.

The first four weeks are history only. Then, as in production, a model is trained every week
on the last ANOMALY_TRAINING_DAYS days (consultantos.monitoring.anomaly.fit_metric) and each
check of the next week is scored with `new_anomalies` against the previous check, exactly
as a monitor check does. An event counts as found when an alert falls on its first three
checks; an alert is a true positive when it falls on a check inside an event, and a false
alert when it falls on a normal check.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from consultantos.config import Settings
from consultantos.monitoring.anomaly import fit_metric, new_anomalies

START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
DETECTION_WINDOW = 3
"""An event is found when one of its first this many checks alerts."""


@dataclass
class Event:
    kind: str
    start: int
    length: int
    found: bool = False


@dataclass
class Series:
    times: list[datetime]
    values: list[float]
    noise: str
    events: list[Event] = field(default_factory=list)
    event_at: dict[int, Event] = field(default_factory=dict)


def student_t(rng: random.Random, df: int) -> float:
    """Student's t noise scaled to standard deviation 1 (heavier tails than Gaussian)."""
    draw = rng.gauss(0, 1) / math.sqrt(rng.gammavariate(df / 2, 2) / df)
    return draw / math.sqrt(df / (df - 2))


def generate(rng: random.Random, hours: int) -> Series:
    level = math.exp(rng.uniform(math.log(20), math.log(5000)))
    sigma = level * rng.uniform(0.01, 0.05)
    daily = 0.0 if rng.random() < 0.25 else sigma * rng.uniform(1, 8)
    weekly = 0.0 if rng.random() < 0.25 else sigma * rng.uniform(1, 6)
    slope = 0.0 if rng.random() < 0.3 else sigma * rng.uniform(-0.3, 0.3)
    phase = rng.uniform(0, 24)
    counts = rng.random() < 0.15
    heavy = rng.random() < 0.2
    times = [START + n * HOUR for n in range(hours)]
    values = []
    for n, at in enumerate(times):
        value = level + slope * n / 24 + sigma * (student_t(rng, 5) if heavy else rng.gauss(0, 1))
        value += daily * math.sin(2 * math.pi * (at.hour - phase) / 24)
        value -= weekly if at.weekday() >= 5 else 0.0
        values.append(value)
    series = Series(times=times, values=values, noise="student-t" if heavy else "gaussian")
    n = 24
    while True:
        n += int(rng.expovariate(1 / (7 * 24)))
        if n >= hours - 1:
            break
        kind = rng.choice(["spike", "dip", "shift"])
        size = sigma * rng.uniform(6, 12) * (-1 if kind == "dip" else 1)
        if kind == "shift":
            size *= rng.choice([-1, 1])
        length = rng.randint(6, 72) if kind == "shift" else 1
        length = min(length, hours - n)
        event = Event(kind=kind, start=n, length=length)
        series.events.append(event)
        for k in range(n, n + length):
            series.values[k] += size
            series.event_at[k] = event
        n += length + 1
    if counts:
        series.values = [float(round(v)) for v in series.values]
    return series


def evaluate(series: Series, settings: Settings, history_hours: int) -> dict[str, int]:
    threshold = settings.anomaly_threshold
    window = settings.anomaly_training_days * 24
    week = 7 * 24
    tally = {"tp": 0, "fp": 0, "normal": 0}
    for week_start in range(history_hours, len(series.values), week):
        first = max(0, week_start - window)
        points = list(
            zip(series.times[first:week_start], series.values[first:week_start], strict=True)
        )
        model, _ = fit_metric(
            points, min_bucket_points=settings.anomaly_min_bucket_points, threshold=threshold
        )
        for k in range(week_start, min(week_start + week, len(series.values))):
            alerts = new_anomalies(
                {"m": model},
                at=series.times[k],
                metrics={"m": series.values[k]},
                previous=(series.times[k - 1], {"m": series.values[k - 1]}),
                threshold=threshold,
            )
            event = series.event_at.get(k)
            if event is None:
                tally["normal"] += 1
            if not alerts:
                continue
            if event is None:
                tally["fp"] += 1
            else:
                tally["tp"] += 1
                if k - event.start < DETECTION_WINDOW:
                    event.found = True
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    settings = Settings()
    rng = random.Random(args.seed)
    history = 4 * 7 * 24
    totals = {"tp": 0, "fp": 0, "normal": 0}
    by_noise = {"gaussian": [0, 0], "student-t": [0, 0]}
    events: dict[str, list[bool]] = {"spike": [], "dip": [], "shift": []}
    started = time.perf_counter()
    for _ in range(args.series):
        series = generate(rng, args.weeks * 7 * 24)
        tally = evaluate(series, settings, history)
        for name, value in tally.items():
            totals[name] += value
        by_noise[series.noise][0] += tally["fp"]
        by_noise[series.noise][1] += tally["normal"]
        for event in series.events:
            if event.start >= history:
                events[event.kind].append(event.found)
    elapsed = time.perf_counter() - started

    found = sum(sum(flags) for flags in events.values())
    scored = sum(len(flags) for flags in events.values())
    alerts = totals["tp"] + totals["fp"]
    precision = totals["tp"] / alerts if alerts else 1.0
    recall = found / scored if scored else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_thousand = 1000 * totals["fp"] / totals["normal"] if totals["normal"] else 0.0
    print(
        f"series {args.series}, weeks {args.weeks} (4 of history), threshold "
        f"{settings.anomaly_threshold}, training {settings.anomaly_training_days} days, "
        f"seed {args.seed}"
    )
    print(f"normal checks scored  {totals['normal']}")
    print(f"events                {scored}")
    for kind, flags in events.items():
        share = sum(flags) / len(flags) if flags else 1.0
        print(f"  {kind:<6} recall     {share:.3f} ({sum(flags)}/{len(flags)})")
    print(f"alerts                {alerts} ({totals['tp']} on anomalies, {totals['fp']} false)")
    print(f"precision             {precision:.3f}")
    print(f"recall                {recall:.3f}")
    print(f"F1                    {f1:.3f}")
    print(f"false alerts / 1,000 normal checks  {per_thousand:.3f}")
    for noise, (false, normal) in by_noise.items():
        rate = 1000 * false / normal if normal else 0.0
        print(f"  {noise:<9} noise: {rate:.3f} false alerts / 1,000 ({false}/{normal})")
    print(f"time                  {elapsed:.1f} s")


if __name__ == "__main__":
    main()
