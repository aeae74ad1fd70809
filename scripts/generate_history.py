"""Write a few days of generated check history for existing monitors, to try the maintenance
tasks, anomaly models and analysis reports on a fresh installation without waiting for days.

    .venv/bin/python scripts/generate_history.py --company Acme --days 5
    .venv/bin/python scripts/generate_history.py --monitor mon_3f9c2a1b7d4e --days 14

It reads the same settings as the rest of ConsultantOS (DATABASE_URL, or the SQLite database in
DATA_DIR) and adds, for each chosen monitor, one snapshot per check interval (hourly at most)
over the DAYS days before the monitor's first real check (or before this hour). Each numeric
metric of that first check follows a daily cycle (±5%) with noise (±0.5%); the content changes
about once a day and about 2% of the checks fail. A monitor without a check yet gets a metric
`value` around 100. The rows have `generated-` check ids: running it again adds nothing. It
writes history only: no alerts, rollups or models (the tasks make those).
"""

from __future__ import annotations

import argparse
import math
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from consultantos import db
from consultantos.db.models import Monitor, Snapshot
from consultantos.maintenance.rollup import as_number


def history_rows(monitor: Monitor, first: Snapshot | None, days: int, seed: int) -> list[dict]:
    rng = random.Random(f"{seed}:{monitor.id}")
    end = (
        first.checked_at
        if first is not None
        else datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )
    step = timedelta(seconds=max(monitor.check_interval_seconds, 3600))
    levels = {
        name: number
        for name, value in ((first.metrics or {}) if first is not None else {}).items()
        if (number := as_number(value)) is not None
    } or {"value": 100.0}
    rows = []
    at = end - timedelta(days=days)
    while at < end - step / 2:
        ok = rng.random() > 0.02
        cycle = math.sin(2 * math.pi * at.hour / 24)
        metrics = {
            name: round(level * (1 + 0.05 * cycle + rng.gauss(0, 0.005)), 2)
            for name, level in levels.items()
        }
        version = int((end - at) / timedelta(days=1))
        rows.append(
            {
                "monitor_id": monitor.id,
                "check_id": f"generated-{monitor.id}-{int(at.timestamp())}",
                "checked_at": at,
                "ok": ok,
                "http_status": 200 if ok else 503,
                "response_time_ms": round(rng.uniform(80, 250), 1) if ok else None,
                "content_hash": f"generated-{monitor.id}-{version}" if ok else None,
                "content_text": f"generated history, version {version}" if ok else None,
                "metrics": metrics if ok else {},
                "error": None if ok else "HTTP 503 (generated)",
            }
        )
        at += step
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", action="append", default=[], help="all its monitors")
    parser.add_argument("--monitor", action="append", default=[], help="a monitor id")
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.company and not args.monitor:
        parser.error("name at least one --company or --monitor")
    with db.session_scope() as session:
        monitors = list(
            session.scalars(
                select(Monitor).where(
                    Monitor.company.in_(args.company) | Monitor.id.in_(args.monitor)
                )
            )
        )
        if not monitors:
            parser.error("no such monitors")
        for monitor in monitors:
            first = session.scalar(
                select(Snapshot)
                .where(
                    Snapshot.monitor_id == monitor.id,
                    Snapshot.ok.is_(True),
                    Snapshot.check_id.not_like("generated-%"),
                )
                .order_by(Snapshot.checked_at)
                .limit(1)
            )
            rows = history_rows(monitor, first, args.days, args.seed)
            taken = set(
                session.scalars(
                    select(Snapshot.check_id).where(
                        Snapshot.check_id.in_([row["check_id"] for row in rows])
                    )
                )
            )
            fresh = [row for row in rows if row["check_id"] not in taken]
            if fresh:
                session.execute(insert(Snapshot), fresh)
            print(f"{monitor.id} ({monitor.company} {monitor.name}): {len(fresh)} snapshots added")


if __name__ == "__main__":
    main()
